import AccessBilling
import AccessCore
import AccessRPC
import AccessService
import AccessSQLite
import AccessWire
import Foundation
import Logging

/// The real service on a temporary SQLite file with the real Stigg provider (pointed at the fake), and a
/// signed-up ADMIN.
struct BillingHarness {
    let store: SQLiteAccountStore
    let billing: StiggBillingProvider?
    let dispatcher: Dispatcher
    let session: [MetadataEntry]

    init(endpoint: String?) async throws {
        let directory = NSTemporaryDirectory() + "akto-billing-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        store = try SQLiteAccountStore(configuration: SQLiteConfiguration(path: directory + "/b.sqlite"))
        billing = endpoint.map {
            StiggBillingProvider(
                configuration: StiggConfiguration(endpoint: $0, apiKey: FakeStigg.apiKey, backoff: .milliseconds(50)),
                logger: Logger(label: "test"))
        }
        let access = try AccessService(
            store: store,
            configuration: ServiceConfiguration(
                redirectAllowList: ["https://app.example.com", "http://localhost:3000"],
                passwordHashing: ScryptParameters(logRounds: 10)),
            billing: billing)
        var registry = MethodRegistry(codec: ProtobufCodec())
        try access.register(into: &registry)
        dispatcher = Dispatcher(registry: registry, logger: Logger(label: "test"))
        let signup = await dispatcher.dispatch(
            DispatchRequest(
                method: Methods.SessionService.signup.path,
                payload: try MessageCodec.encode(SignupRequest(email: "admin@example.com", password: "Secret123-horse"))
            ))
        let token = try MessageCodec.decode(SignupResponse.self, from: signup.payload).sessionToken
        session = [MetadataEntry("authorization", "Bearer " + token)]
    }

    /// Calls a method as the admin; a non-OK status is thrown.
    func call<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodSpec<Request, Response>, _ request: Request, timeout: Duration? = nil
    ) async throws -> Response {
        let result = await dispatcher.dispatch(
            DispatchRequest(
                method: method.path, metadata: session, payload: try MessageCodec.encode(request), timeout: timeout))
        if let error = result.status.error { throw error }
        return try MessageCodec.decode(Response.self, from: result.payload)
    }
}
