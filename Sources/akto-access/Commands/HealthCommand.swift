import AccessCore
import AccessWire
import ArgumentParser

/// `akto-access health`: exits 0 when the server answers SERVING.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health", abstract: "Check the running server; exit 0 when it is SERVING.")

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let response = try await Requester.call(
            options, method: Methods.Health.check.path, payload: try MessageCodec.encode(HealthCheckRequest()))
        let schema = try MessageCodec.schema(for: HealthCheckResponse.self)
        print(try MessageCodec.wireToJSON(response.payload, schema: schema).serialized(pretty: true))
        let health = try MessageCodec.decode(HealthCheckResponse.self, from: response.payload)
        if health.status != "SERVING" { throw ExitCode(1) }
    }
}
