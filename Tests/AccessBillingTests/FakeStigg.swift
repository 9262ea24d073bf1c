import AccessCore
import AccessWire
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A fake Stigg GraphQL server on 127.0.0.1, port 0. It checks the request's shape (API key header, query text,
/// variables) and answers by plan id: `basic` SUCCESS, `pro` PAYMENT_REQUIRED with an https checkout, `insecure`
/// an http checkout, `missing-plan` PlanNotFound, `slow` after 300 s, `shared` after 300 ms, `flaky` two 503s
/// first, `redirect` a 307 to `/elsewhere` (whose requests are counted in `redirectedRequests`); customer
/// `missing-customer` gets CustomerNotFound.
final class FakeStigg: Sendable {
    static let apiKey = "test-stigg-key"
    private let recorded = Locked<[JSONValue]>([])
    private let flakyFailures = Locked(0)
    private let redirected = Locked(0)
    /// Requests that reached `/elsewhere`, the target of the `redirect` plan's 307.
    var redirectedRequests: Int { redirected.withLock { $0 } }

    var requests: [JSONValue] { recorded.withLock { $0 } }
    var provisionCalls: Int {
        requests.filter { $0["query"].map { "\($0)".contains("provisionSubscription") } ?? false }.count
    }

    /// Runs the server for the duration of `body`, handing it the endpoint URL.
    func run<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("/graphql") { request, context -> Response in try await self.answer(request) }
        router.post("/elsewhere") { request, context -> Response in
            self.redirected.withLock { $0 += 1 }
            return self.json(
                .ok, #"{"data":{"provisionSubscription":{"status":"SUCCESS","subscription":{"id":"stolen"}}}}"#)
        }
        let port = Locked<Int?>(nil)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } },
            logger: Logger(label: "fake-stigg"))
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await app.run()
                return nil
            }
            while port.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(5)) }
            let endpoint = "http://127.0.0.1:\(port.withLock { $0 }!)/graphql"
            defer { group.cancelAll() }
            return try await body(endpoint)
        }
    }

    private func answer(_ request: Request) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 1 << 20)
        guard request.headers[HTTPField.Name("x-api-key")!] == Self.apiKey else {
            return Response(status: .unauthorized)
        }
        guard let document = try? JSONValue.parse(Array(buffer: body)), case .string(let query)? = document["query"],
            let input = document["variables"]?["input"]
        else { return json(.badRequest, #"{"errors":[{"message":"bad request shape"}]}"#) }
        recorded.withLock { $0.append(document) }
        if query.contains("reportUsageBulk(input: $input)") {
            guard case .array(let usages)? = input["usages"], !usages.isEmpty else {
                return json(.ok, #"{"errors":[{"message":"no usages","extensions":{"code":"BAD_USER_INPUT"}}]}"#)
            }
            return json(.ok, #"{"data":{"reportUsageBulk":[]}}"#)
        }
        guard query.contains("provisionSubscription(input: $input)"), case .string(let plan)? = input["planId"],
            case .string(let period)? = input["billingPeriod"], ["MONTHLY", "ANNUALLY"].contains(period),
            case .string? = input["checkoutOptions"]?["successUrl"],
            case .string? = input["checkoutOptions"]?["cancelUrl"],
            case .string(let customer)? = input["customerId"]
        else { return json(.ok, #"{"errors":[{"message":"invalid input","extensions":{"code":"BAD_USER_INPUT"}}]}"#) }
        if customer == "missing-customer" {
            return json(.ok, #"{"errors":[{"message":"Customer not found","extensions":{"code":"CustomerNotFound"}}]}"#)
        }
        switch plan {
        case "missing-plan":
            return json(.ok, #"{"errors":[{"message":"Plan not found","extensions":{"code":"PlanNotFound"}}]}"#)
        case "redirect":
            return Response(status: .temporaryRedirect, headers: [.location: "/elsewhere"])
        // Far past every deadline the tests use (the 10x rule): only the caller's deadline can end the wait.
        case "slow": try await Task.sleep(for: .seconds(300))
        case "shared": try await Task.sleep(for: .milliseconds(300))
        case "flaky":
            let failed = flakyFailures.withLock { count -> Bool in
                count += 1
                return count <= 2
            }
            if failed { return Response(status: .serviceUnavailable) }
        default: break
        }
        let checkout: String
        switch plan {
        case "pro":
            checkout =
                #""status":"PAYMENT_REQUIRED","checkoutUrl":"https://checkout.stigg.example/s/1","subscription":null"#
        case "insecure":
            checkout =
                #""status":"PAYMENT_REQUIRED","checkoutUrl":"http://checkout.stigg.example/s/1","subscription":null"#
        default: checkout = #""status":"SUCCESS","checkoutUrl":null,"subscription":{"id":"sub-\#(plan)"}"#
        }
        return json(.ok, #"{"data":{"provisionSubscription":{\#(checkout)}}}"#)
    }

    private func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
