/// Names one unary method and the message types it takes and returns.
public struct MethodDescriptor: Sendable, Hashable, CustomStringConvertible {
    /// The full service name, e.g. `akto.access.v1.RoleService`.
    public let service: String
    /// The method name, e.g. `CreateCustomRole`.
    public let method: String
    /// The full request message name.
    public let requestType: String
    /// The full response message name.
    public let responseType: String

    public init(service: String, method: String, requestType: String, responseType: String) {
        self.service = service
        self.method = method
        self.requestType = requestType
        self.responseType = responseType
    }

    /// The wire name used in `Request.method`: `/akto.access.v1.RoleService/CreateCustomRole`.
    public var path: String { "/\(service)/\(method)" }

    /// The package part of the service name, e.g. `akto.access.v1`.
    public var package: String {
        guard let dot = service.lastIndex(of: ".") else { return "" }
        return String(service[..<dot])
    }

    public var description: String { path }
}

/// A typed method: its descriptor plus the Swift request and response types.
public struct MethodSpec<Request: ProtoMessage, Response: ProtoMessage>: Sendable {
    /// The untyped description of the method.
    public let descriptor: MethodDescriptor

    public init(service: String, method: String) {
        self.descriptor = MethodDescriptor(
            service: service, method: method, requestType: Request.protoName, responseType: Response.protoName)
    }

    /// The wire name used in `Request.method`.
    public var path: String { descriptor.path }
}
