import AccessCore
import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1

/// Settings of the Stigg provider. The API key is never logged.
public struct StiggConfiguration: Sendable {
    /// The GraphQL endpoint, e.g. `https://api.stigg.io/graphql`.
    public var endpoint: String
    /// The server API key, sent as `X-API-KEY`.
    public var apiKey: String
    /// Attempts for transient failures (connection errors, 5xx), within the call's deadline.
    public var maxAttempts: Int
    /// First back-off between attempts (doubled each time).
    public var backoff: Duration
    /// Largest response accepted.
    public var maxResponseBytes: Int

    public init(
        endpoint: String, apiKey: String, maxAttempts: Int = 3, backoff: Duration = .milliseconds(200),
        maxResponseBytes: Int = 1 << 20
    ) {
        self.endpoint = endpoint
        self.apiKey = apiKey
        self.maxAttempts = maxAttempts
        self.backoff = backoff
        self.maxResponseBytes = maxResponseBytes
    }
}

/// `BillingProvider` on Stigg's GraphQL API over AsyncHTTPClient.
public struct StiggBillingProvider: BillingProvider {
    let configuration: StiggConfiguration
    let client: HTTPClient
    let logger: Logger

    /// The process's HTTP client for Stigg: like `HTTPClient.shared` (never shut down) but it never follows a
    /// redirect, so the API key goes to the configured host only.
    public static let noRedirectClient = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))

    /// - Parameter client: must not follow redirects (the default does not); a 3xx answer is UNAVAILABLE.
    public init(configuration: StiggConfiguration, client: HTTPClient = Self.noRedirectClient, logger: Logger) {
        self.configuration = configuration
        self.client = client
        self.logger = logger
    }

    static let provisionMutation = """
        mutation ProvisionSubscription($input: ProvisionSubscriptionInput!) {
          provisionSubscription(input: $input) { status checkoutUrl subscription { id } }
        }
        """

    static let reportUsageMutation = """
        mutation ReportUsageBulk($input: ReportUsageBulkInput!) { reportUsageBulk(input: $input) { featureId } }
        """

    public func provisionSubscription(_ checkout: SubscriptionCheckout, deadline: ContinuousClock.Instant) async throws
        -> CheckoutOutcome
    {
        let input: JSONValue = .object([
            ("customerId", .string(checkout.customerID)), ("planId", .string(checkout.planID)),
            ("billingPeriod", .string(checkout.billingPeriod.rawValue)),
            (
                "checkoutOptions",
                .object([("successUrl", .string(checkout.successURL)), ("cancelUrl", .string(checkout.cancelURL))])
            ),
        ])
        let data = try await graphQL(Self.provisionMutation, variables: .object([("input", input)]), deadline: deadline)
        guard let result = data["provisionSubscription"], case .string(let status)? = result["status"] else {
            throw RPCError(.unavailable, "the billing provider sent an unexpected answer")
        }
        var checkoutURL: String?
        if case .string(let url)? = result["checkoutUrl"] { checkoutURL = url }
        var subscriptionID: String?
        if case .string(let id)? = result["subscription"]?["id"] { subscriptionID = id }
        return CheckoutOutcome(
            status: status, checkoutURL: checkoutURL, subscriptionID: subscriptionID, planID: checkout.planID)
    }

    public func reportUsage(organizationID: String, measurements: [UsageRecord], deadline: ContinuousClock.Instant)
        async throws
    {
        // Stigg meters per customer and feature: the organization's total of each metric.
        let totals = Dictionary(grouping: measurements, by: \.metric).mapValues { $0.reduce(0) { $0 + $1.value } }
        let usages = totals.keys.sorted().map { metric in
            JSONValue.object([
                ("customerId", .string(organizationID)), ("featureId", .string(metric)),
                ("value", .integer(totals[metric]!)),
            ])
        }
        _ = try await graphQL(
            Self.reportUsageMutation, variables: .object([("input", .object([("usages", .array(usages))]))]),
            deadline: deadline)
    }

    /// One GraphQL call with retries for transient failures, bounded by `deadline`.
    func graphQL(_ query: String, variables: JSONValue, deadline: ContinuousClock.Instant) async throws -> JSONValue {
        let body = JSONValue.object([("query", .string(query)), ("variables", variables)]).serialized()
        var delay = configuration.backoff
        var lastProblem = "no attempt was made"
        for attempt in 1...max(1, configuration.maxAttempts) {
            let remaining = deadline - .now
            guard remaining > .milliseconds(1) else { break }
            var request = HTTPClientRequest(url: configuration.endpoint)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "X-API-KEY", value: configuration.apiKey)
            request.body = .bytes(ByteBuffer(string: body))
            do {
                let response = try await client.execute(
                    request, deadline: .now() + .nanoseconds(remaining.nanosecondsClamped))
                let payload = try await response.body.collect(upTo: configuration.maxResponseBytes)
                if (300..<400).contains(response.status.code) {
                    // Never followed (the request carries the API key): a misconfigured endpoint or a hostile
                    // answer, not a transient failure.
                    throw RPCError(
                        .unavailable,
                        "the billing provider answered HTTP \(response.status.code) (a redirect, not followed)")
                } else if response.status.code >= 500 {
                    lastProblem = "HTTP \(response.status.code)"
                } else if response.status == .unauthorized || response.status == .forbidden {
                    throw RPCError(.failedPrecondition, "the billing provider rejected the configured API key")
                } else {
                    return try Self.data(from: Array(buffer: payload), status: response.status.code)
                }
            } catch let error as RPCError {
                throw error
            } catch {
                lastProblem = "\(type(of: error))"
            }
            logger.warning(
                "billing provider attempt failed", metadata: ["attempt": "\(attempt)", "problem": "\(lastProblem)"])
            guard attempt < configuration.maxAttempts, deadline - .now > delay else { break }
            try await Task.sleep(for: delay)
            delay = delay * 2
        }
        // Down or too slow: UNAVAILABLE either way (SPEC.md), within the call's deadline.
        if ContinuousClock.now >= deadline {
            throw RPCError(.unavailable, "the billing provider did not answer before the deadline (\(lastProblem))")
        }
        throw RPCError(.unavailable, "the billing provider is unavailable (\(lastProblem))")
    }

    /// The `data` of a GraphQL answer, or its first error mapped to a status.
    static func data(from bytes: [UInt8], status: UInt) throws -> JSONValue {
        guard let document = try? JSONValue.parse(bytes, maxDepth: 64) else {
            throw RPCError(.unavailable, "the billing provider sent invalid JSON (HTTP \(status))")
        }
        if case .array(let errors)? = document["errors"], let first = errors.first {
            var code = ""
            if case .string(let value)? = first["extensions"]?["code"] { code = value }
            var message = "billing provider error"
            if case .string(let value)? = first["message"] { message = value }
            let lowered = code.lowercased()
            if lowered.contains("customernotfound") { throw RPCError(.notFound, "billing: \(message)") }
            if lowered.contains("plannotfound") || lowered.contains("bad_user_input") || lowered.contains("invalid") {
                throw RPCError(.invalidArgument, "billing: \(message)")
            }
            throw RPCError(.unavailable, "billing: \(message)")
        }
        guard let data = document["data"], data != .null else {
            throw RPCError(.unavailable, "the billing provider sent no data (HTTP \(status))")
        }
        return data
    }
}

// Descriptions never carry the API key: a ServiceGroup logs its services (and what they hold) at debug level.
extension StiggConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "StiggConfiguration(endpoint: \(endpoint), apiKey: <redacted>, maxAttempts: \(maxAttempts), backoff: \(backoff), maxResponseBytes: \(maxResponseBytes))"
    }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(
            self, children: ["endpoint": endpoint, "apiKey": "<redacted>", "maxAttempts": maxAttempts],
            displayStyle: .struct)
    }
}

extension StiggBillingProvider: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "StiggBillingProvider(\(configuration))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["configuration": configuration], displayStyle: .struct) }
}
