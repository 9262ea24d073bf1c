import AccessCore
import HTTPTypes

extension StatusCode {
    /// The HTTP status for this code, as grpc-gateway v2 and Connect map it. The only place this map exists.
    public var httpStatus: HTTPResponse.Status {
        switch self {
        case .ok: .ok
        case .cancelled: HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request")
        case .invalidArgument, .failedPrecondition, .outOfRange: .badRequest
        case .unauthenticated: .unauthorized
        case .permissionDenied: .forbidden
        case .notFound: .notFound
        case .alreadyExists, .aborted: .conflict
        case .resourceExhausted: .tooManyRequests
        case .unimplemented: .notImplemented
        case .unavailable: .serviceUnavailable
        case .deadlineExceeded: .gatewayTimeout
        case .unknown, .internal, .dataLoss: .internalServerError
        }
    }
}
