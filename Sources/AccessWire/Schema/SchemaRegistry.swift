import AccessCore
import AccessProtoC

/// Every message, enum and service of the contract, read once from the generated protobuf-c descriptors.
///
/// Built at first use from `akto_message_descriptors()` / `akto_service_descriptors()`; the contract's tables
/// are immutable afterwards, so its lookups need no locking. Test-only tables join through `include`.
public final class SchemaRegistry: Sendable {
    /// The registry of everything generated from `proto/`.
    public static let shared = SchemaRegistry()

    private let messages: [String: MessageSchema]
    private let enums: [String: EnumSchema]
    /// Descriptor tables added after start-up (`include`): the test-only contract of AccessWireTesting. Read
    /// only when a name is not in the contract's own tables.
    private let included = Locked<(messages: [String: MessageSchema], enums: [String: EnumSchema])>(([:], [:]))
    /// Every method of every service: (service full name, method name, request, response).
    public let methods: [(service: String, method: String, request: MessageSchema, response: MessageSchema)]

    private init() {
        var builder = Builder()
        var table = akto_message_descriptors()
        while let descriptor = table?.pointee {
            _ = builder.schema(for: descriptor)
            table = table?.successor()
        }
        var methods: [(String, String, MessageSchema, MessageSchema)] = []
        var services = akto_service_descriptors()
        while let service = services?.pointee {
            let serviceName = String(cString: service.pointee.name)
            for i in 0..<Int(service.pointee.n_methods) {
                let method = service.pointee.methods[i]
                methods.append(
                    (
                        serviceName, String(cString: method.name),
                        builder.schema(for: method.input), builder.schema(for: method.output)
                    ))
            }
            services = services?.successor()
        }
        self.messages = builder.messages
        self.enums = builder.enums
        self.methods = methods
    }

    /// The message with this full name, e.g. `akto.rpc.v1.Frame`.
    public func message(_ fullName: String) -> MessageSchema? {
        messages[fullName] ?? included.withLock { $0.messages[fullName] }
    }

    /// The enum with this full name.
    public func enumeration(_ fullName: String) -> EnumSchema? {
        enums[fullName] ?? included.withLock { $0.enums[fullName] }
    }

    /// Adds the messages of another generated descriptor table (a NULL-terminated array, as
    /// `akto_message_descriptors()` returns), e.g. a test-only contract compiled into a target of its own.
    /// Idempotent; names already known keep their schema.
    public func include(_ table: UnsafePointer<UnsafePointer<ProtobufCMessageDescriptor>?>) {
        included.withLock { included in
            var builder = Builder()
            builder.messages = included.messages
            builder.enums = included.enums
            var next: UnsafePointer<UnsafePointer<ProtobufCMessageDescriptor>?>? = table
            while let descriptor = next?.pointee {
                let name = String(cString: descriptor.pointee.name)
                if messages[name] == nil { _ = builder.schema(for: descriptor) }
                next = next?.successor()
            }
            included = (builder.messages, builder.enums)
        }
    }

    /// The names of every message (map entries excluded), sorted.
    public var messageNames: [String] { messages.values.filter { !$0.isMapEntry }.map(\.fullName).sorted() }

    private struct Builder {
        var messages: [String: MessageSchema] = [:]
        var enums: [String: EnumSchema] = [:]

        mutating func schema(for descriptor: UnsafePointer<ProtobufCMessageDescriptor>) -> MessageSchema {
            let name = String(cString: descriptor.pointee.name)
            if let known = messages[name] { return known }
            let isMapEntry =
                name.hasSuffix("Entry") && descriptor.pointee.n_fields == 2
                && descriptor.pointee.fields[0].id == 1 && descriptor.pointee.fields[1].id == 2
            let schema = MessageSchema(descriptor: descriptor, isMapEntry: isMapEntry)
            // Registered before its fields are read; the generator forbids recursive types, so this only
            // guards against revisiting shared types.
            messages[name] = schema
            var fields: [FieldSchema] = []
            let d = descriptor.pointee
            for i in 0..<Int(d.n_fields) {
                fields.append(field(d.fields[i], index: i))
            }
            schema.setFields(fields)
            return schema
        }

        private mutating func field(_ f: ProtobufCFieldDescriptor, index: Int) -> FieldSchema {
            let name = String(cString: f.name)
            let kind = kind(of: f)
            var mapValue: FieldSchema.MapValue?
            if f.label == PROTOBUF_C_LABEL_REPEATED, case .message(let entry) = kind, entry.isMapEntry,
                entry.fullName.hasSuffix("." + Self.entryName(for: name))
            {
                mapValue = FieldSchema.MapValue(kind: entry.fields[1].kind, entry: entry)
            }
            return FieldSchema(
                name: name, jsonName: Self.jsonName(name), number: f.id, kind: kind,
                isRepeated: f.label == PROTOBUF_C_LABEL_REPEATED, mapValue: mapValue,
                isOneofMember: f.flags & UInt32(PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue) != 0, index: index,
                offset: Int(f.offset), quantifierOffset: Int(f.quantifier_offset))
        }

        private mutating func kind(of f: ProtobufCFieldDescriptor) -> FieldKind {
            switch f.type {
            case PROTOBUF_C_TYPE_INT32: return .int32
            case PROTOBUF_C_TYPE_SINT32: return .sint32
            case PROTOBUF_C_TYPE_SFIXED32: return .sfixed32
            case PROTOBUF_C_TYPE_INT64: return .int64
            case PROTOBUF_C_TYPE_SINT64: return .sint64
            case PROTOBUF_C_TYPE_SFIXED64: return .sfixed64
            case PROTOBUF_C_TYPE_UINT32: return .uint32
            case PROTOBUF_C_TYPE_FIXED32: return .fixed32
            case PROTOBUF_C_TYPE_UINT64: return .uint64
            case PROTOBUF_C_TYPE_FIXED64: return .fixed64
            case PROTOBUF_C_TYPE_FLOAT: return .float
            case PROTOBUF_C_TYPE_DOUBLE: return .double
            case PROTOBUF_C_TYPE_BOOL: return .bool
            case PROTOBUF_C_TYPE_STRING: return .string
            case PROTOBUF_C_TYPE_BYTES: return .bytes
            case PROTOBUF_C_TYPE_ENUM:
                let e = f.descriptor.assumingMemoryBound(to: ProtobufCEnumDescriptor.self)
                let name = String(cString: e.pointee.name)
                if let known = enums[name] { return .enumeration(known) }
                let schema = EnumSchema(e)
                enums[name] = schema
                return .enumeration(schema)
            default:  // PROTOBUF_C_TYPE_MESSAGE
                let m = f.descriptor.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
                return .message(schema(for: m))
            }
        }

        /// protoc's map entry name: `scope_role_mapping` -> `ScopeRoleMappingEntry`.
        static func entryName(for field: String) -> String {
            let camel = jsonName(field)
            return camel.prefix(1).uppercased() + camel.dropFirst() + "Entry"
        }

        /// protoc's JSON name: underscores dropped, the next letter upper-cased.
        static func jsonName(_ name: String) -> String {
            var out = ""
            var upper = false
            for ch in name {
                if ch == "_" {
                    upper = true
                } else {
                    out.append(upper ? Character(ch.uppercased()) : ch)
                    upper = false
                }
            }
            return out
        }
    }
}
