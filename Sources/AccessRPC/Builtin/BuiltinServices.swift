import AccessCore

/// The services every server answers without authentication: `akto.rpc.v1.Health` and
/// `akto.rpc.v1.Reflection`.
public enum BuiltinServices {
    /// The version reported by Health/Check.
    public static let version = "0.1.0"

    /// Registers Health/Check and Reflection/ListMethods. Call it last, so ListMethods sees every method.
    public static func register(into registry: inout MethodRegistry, state: ServingState) throws {
        let started = ContinuousClock.now
        try registry.registerSynchronous(Methods.Health.check, access: .anonymous) { _, _ in
            HealthCheckResponse(
                status: state.isServing ? "SERVING" : "NOT_SERVING", version: version,
                uptimeSeconds: (ContinuousClock.now - started).components.seconds)
        }
        let listMethods = Methods.Reflection.listMethods.descriptor
        var methods = registry.all.map { method in
            MethodInfo(
                name: method.descriptor.path, requestType: method.descriptor.requestType,
                responseType: method.descriptor.responseType,
                httpPath: MethodRegistry.httpPath(of: method.descriptor) ?? "",
                requiresAuth: method.requiresAuthentication)
        }
        methods.append(
            MethodInfo(
                name: listMethods.path, requestType: listMethods.requestType, responseType: listMethods.responseType))
        let listed = methods.sorted { $0.name < $1.name }
        try registry.registerSynchronous(Methods.Reflection.listMethods, access: .anonymous) { _, _ in
            ListMethodsResponse(methods: listed)
        }
    }
}
