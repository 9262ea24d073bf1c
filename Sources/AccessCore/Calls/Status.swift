/// The outcome of a call as AKRP carries it (`akto.rpc.v1.Status`).
public struct Status: Sendable, Equatable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    public var violations: [FieldViolation]

    public init(code: StatusCode, message: String = "", violations: [FieldViolation] = []) {
        self.code = code
        self.message = message
        self.violations = violations
    }

    public init(_ error: RPCError) {
        self.init(code: error.code, message: error.message, violations: error.violations)
    }

    public static let ok = Status(code: .ok)

    /// The error this status reports, nil for OK.
    public var error: RPCError? {
        code == .ok ? nil : RPCError(code, message, violations: violations)
    }

    public var description: String { error?.description ?? "OK" }
}
