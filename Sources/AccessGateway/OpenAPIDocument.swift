import AccessCore
import AccessRPC
import AccessWire

/// An OpenAPI 3.1 document of the gateway, generated from the method registry and the message descriptors:
/// every route, its request and response schemas, the error schema and the security schemes.
enum OpenAPIDocument {
    static func build(routes: [String: GatewayRoute], configuration: GatewayConfiguration) -> JSONValue {
        var schemas: [String: JSONValue] = [:]
        var paths: [(key: String, value: JSONValue)] = []
        for path in routes.keys.sorted() {
            guard let method = routes[path] else { continue }
            collect(method.requestSchema, into: &schemas)
            collect(method.responseSchema, into: &schemas)
            // A method whose binding names a response field (`response_body`) answers that field's JSON.
            var okSchema = ref(method.responseSchema)
            if let name = HTTPBindings.byPath[method.descriptor.path]?.responseBody,
                let field = method.responseSchema.fields.first(where: { $0.name == name })
            {
                okSchema = property(field, into: &schemas)
            }
            let operation: JSONValue = .object([
                ("operationId", .string(String(path.dropFirst(5)))),
                ("x-akto-implemented", .bool(method.isImplemented)),
                (
                    "summary",
                    .string(method.descriptor.path + (method.isImplemented ? "" : " (not implemented yet: 501)"))
                ),
                ("tags", .array([.string(String(method.descriptor.service.split(separator: ".").last ?? ""))])),
                (
                    "requestBody",
                    .object([
                        ("required", .bool(false)),
                        ("content", .object([("application/json", .object([("schema", ref(method.requestSchema))]))])),
                    ])
                ),
                (
                    "responses",
                    .object([
                        (
                            "200",
                            .object([
                                ("description", .string("OK")),
                                ("content", .object([("application/json", .object([("schema", okSchema)]))])),
                            ])
                        ),
                        (
                            "default",
                            .object([
                                ("description", .string("An error; the HTTP status follows the gRPC code")),
                                (
                                    "content",
                                    .object([
                                        (
                                            "application/json",
                                            .object([
                                                ("schema", .object([("$ref", .string("#/components/schemas/Error"))]))
                                            ])
                                        )
                                    ])
                                ),
                            ])
                        ),
                    ])
                ),
                (
                    "security",
                    method.requiresAuthentication
                        ? .array([
                            .object([("apiKey", .array([]))]), .object([("bearer", .array([]))]),
                            .object([("cookie", .array([]))]),
                        ])
                        : .array([])
                ),
            ])
            paths.append((path, .object([("post", operation)])))
        }
        schemas["Error"] = .object([
            ("type", .string("object")),
            ("required", .array([.string("code"), .string("message"), .string("violations")])),
            (
                "properties",
                .object([
                    ("code", .object([("type", .string("string"))])),
                    ("message", .object([("type", .string("string"))])),
                    (
                        "actionErrors",
                        .object([("type", .string("array")), ("items", .object([("type", .string("string"))]))])
                    ),
                    (
                        "violations",
                        .object([
                            ("type", .string("array")),
                            (
                                "items",
                                .object([
                                    ("type", .string("object")),
                                    (
                                        "properties",
                                        .object([
                                            ("field", .object([("type", .string("string"))])),
                                            ("description", .object([("type", .string("string"))])),
                                        ])
                                    ),
                                ])
                            ),
                        ])
                    ),
                ])
            ),
        ])
        return .object([
            ("openapi", .string("3.1.0")),
            ("info", .object([("title", .string("akto-access")), ("version", .string(BuiltinServices.version))])),
            ("servers", .array([.object([("url", .string(configuration.publicBaseURL))])])),
            ("paths", .object(paths)),
            (
                "components",
                .object([
                    ("schemas", .object(schemas.keys.sorted().map { ($0, schemas[$0]!) })),
                    (
                        "securitySchemes",
                        .object([
                            (
                                "apiKey",
                                .object([
                                    ("type", .string("apiKey")), ("in", .string("header")),
                                    ("name", .string("X-API-KEY")),
                                ])
                            ),
                            ("bearer", .object([("type", .string("http")), ("scheme", .string("bearer"))])),
                            (
                                "cookie",
                                .object([
                                    ("type", .string("apiKey")), ("in", .string("cookie")),
                                    ("name", .string(configuration.cookieName)),
                                ])
                            ),
                        ])
                    ),
                ])
            ),
        ])
    }

    private static func name(_ schema: MessageSchema) -> String {
        schema.fullName.replacingOccurrences(of: ".", with: "_")
    }

    private static func ref(_ schema: MessageSchema) -> JSONValue {
        .object([("$ref", .string("#/components/schemas/\(name(schema))"))])
    }

    private static func collect(_ schema: MessageSchema, into schemas: inout [String: JSONValue]) {
        let key = name(schema)
        guard schemas[key] == nil else { return }
        schemas[key] = .null  // placeholder: the generator forbids recursion, this only stops revisits
        if schema.isListWrapper, let values = schema.fields.first {
            schemas[key] = property(values, into: &schemas)  // its JSON is the bare array
            return
        }
        var properties: [(key: String, value: JSONValue)] = []
        for field in schema.fields { properties.append((field.jsonName, property(field, into: &schemas))) }
        schemas[key] = .object([("type", .string("object")), ("properties", .object(properties))])
    }

    private static func property(_ field: FieldSchema, into schemas: inout [String: JSONValue]) -> JSONValue {
        let value = type(of: field.mapValue?.kind ?? field.kind, into: &schemas)
        if field.mapValue != nil { return .object([("type", .string("object")), ("additionalProperties", value)]) }
        if field.isRepeated { return .object([("type", .string("array")), ("items", value)]) }
        return value
    }

    private static func type(of kind: FieldKind, into schemas: inout [String: JSONValue]) -> JSONValue {
        switch kind {
        case .int32, .sint32, .sfixed32: return .object([("type", .string("integer")), ("format", .string("int32"))])
        case .int64, .sint64, .sfixed64: return .object([("type", .string("integer")), ("format", .string("int64"))])
        case .uint32, .fixed32:
            return .object([
                ("type", .string("integer")), ("format", .string("int64")), ("minimum", .number("0")),
                ("maximum", .number("4294967295")),
            ])
        case .uint64, .fixed64: return .object([("type", .string("integer")), ("minimum", .number("0"))])
        case .float, .double: return .object([("type", .string("number"))])
        case .bool: return .object([("type", .string("boolean"))])
        case .string: return .object([("type", .string("string"))])
        case .bytes: return .object([("type", .string("string")), ("contentEncoding", .string("base64"))])
        case .enumeration(let schema):
            return .object([("type", .string("string")), ("enum", .array(schema.values.map { .string($0.name) }))])
        case .message(let message):
            collect(message, into: &schemas)
            return ref(message)
        }
    }
}
