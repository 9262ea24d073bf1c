import AccessCore
import AccessRPC
import AccessWire

/// One `POST /api/<name>` route: a method of the `akto.access.v1` contract with its message schemas.
///
/// Routes come from the contract, not from what is registered, so a method without a handler still answers at
/// its path (501 UNIMPLEMENTED from the dispatcher) instead of 404.
struct GatewayRoute: Sendable {
    let descriptor: MethodDescriptor
    let requestSchema: MessageSchema
    let responseSchema: MessageSchema
    let requiresAuthentication: Bool
    let isImplemented: Bool

    static func all(registry: MethodRegistry) -> [String: GatewayRoute] {
        var routes: [String: GatewayRoute] = [:]
        for method in SchemaRegistry.shared.methods {
            let descriptor = MethodDescriptor(
                service: method.service, method: method.method, requestType: method.request.fullName,
                responseType: method.response.fullName)
            guard let path = MethodRegistry.httpPath(of: descriptor) else { continue }
            let registered = registry.method(descriptor.path)
            routes[path] = GatewayRoute(
                descriptor: descriptor, requestSchema: method.request, responseSchema: method.response,
                requiresAuthentication: registered?.requiresAuthentication ?? true, isImplemented: registered != nil)
        }
        return routes
    }
}
