/// One offending request field: its JSON path (`subscription.keys.auth`) and what is wrong with it.
public struct FieldViolation: Sendable, Hashable, Codable {
    public var field: String
    public var description: String

    public init(field: String, description: String) {
        self.field = field
        self.description = description
    }
}

/// The one error type of the service: a status code, a message safe to show the caller, the offending
/// fields, and an optional cause that is logged but never sent.
public struct RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    public var violations: [FieldViolation]
    /// Internal detail for logs only (never put on the wire).
    public var cause: String?

    public init(_ code: StatusCode, _ message: String, violations: [FieldViolation] = [], cause: String? = nil) {
        self.code = code
        self.message = message
        self.violations = violations
        self.cause = cause
    }

    /// INVALID_ARGUMENT naming one field.
    public static func invalidField(_ field: String, _ description: String) -> RPCError {
        RPCError(
            .invalidArgument, "\(field): \(description)",
            violations: [FieldViolation(field: field, description: description)])
    }

    public var description: String {
        var text = "\(code.grpcName): \(message)"
        for violation in violations { text += " [\(violation.field): \(violation.description)]" }
        return text
    }
}
