#!/usr/bin/env python3
"""Lints the .proto contract and writes the C descriptor registry and the Swift message types.

Input: a FileDescriptorSet made by `protoc --include_imports --descriptor_set_out`. Output (in OUT):
`registry.c` and `swift/*.swift` for the contract; `registry_testing.c` and `swift-testing/*.swift` for the
test-only package akto.testing.v1. Called by tools/generate-proto; never edit its output by hand.

Rules enforced (DESIGN.md, PROTOBUF-C-NOTES.md):
- no recursive message types (protobuf-c has no depth limit);
- no proto3 `optional` (protoc-c 1.4.1 rejects it): write `oneof _x { T x = N; }` instead;
- no rpc whose lower-case name is a C keyword (protoc-c emits invalid C for it);
- nested messages only as map entries, no nested enums, map keys are strings;
- message and enum names unique across packages (the Swift types share one namespace);
- gateway paths (/api/<lowerCamel(method)>) unique across akto.access.v1 services.
"""
import os
import re
import sys

from google.protobuf import descriptor_pb2

C_KEYWORDS = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern",
    "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed",
    "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "bool",
    "_bool", "_complex", "_imaginary", "_alignas", "_alignof", "_atomic", "_generic", "_noreturn",
    "_static_assert", "_thread_local",
}
SWIFT_KEYWORDS = {
    "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout",
    "internal", "let", "open", "operator", "private", "protocol", "public", "rethrows", "static", "struct",
    "subscript", "typealias", "var", "break", "case", "continue", "default", "defer", "do", "else",
    "fallthrough", "for", "guard", "if", "in", "repeat", "return", "switch", "where", "while", "as", "Any",
    "catch", "false", "is", "nil", "super", "self", "Self", "throw", "throws", "true", "try", "Type",
}
F = descriptor_pb2.FieldDescriptorProto
SCALARS = {
    F.TYPE_DOUBLE: ("Double", "0"), F.TYPE_FLOAT: ("Float", "0"),
    F.TYPE_INT64: ("Int64", "0"), F.TYPE_SINT64: ("Int64", "0"), F.TYPE_SFIXED64: ("Int64", "0"),
    F.TYPE_UINT64: ("UInt64", "0"), F.TYPE_FIXED64: ("UInt64", "0"),
    F.TYPE_INT32: ("Int32", "0"), F.TYPE_SINT32: ("Int32", "0"), F.TYPE_SFIXED32: ("Int32", "0"),
    F.TYPE_UINT32: ("UInt32", "0"), F.TYPE_FIXED32: ("UInt32", "0"),
    F.TYPE_BOOL: ("Bool", "false"), F.TYPE_STRING: ("String", '""'), F.TYPE_BYTES: ("[UInt8]", "[]"),
}
ENVELOPE_FILE = "akto/rpc/v1/envelope.proto"   # handled natively by AccessWire's frame codec
GATEWAY_PACKAGE = "akto.access.v1"
# The codec tests' every-field-kind contract: generated into test-support targets (AccessTestingProtoC,
# AccessWireTesting) with a registry of its own, never into the server's.
TESTING_PACKAGE = "akto.testing.v1"


def is_testing(f):
    return f.package == TESTING_PACKAGE

errors = []


def fail(msg):
    errors.append(msg)


def json_name(name):
    out, upper = [], False
    for ch in name:
        if ch == "_":
            upper = True
        else:
            out.append(ch.upper() if upper else ch)
            upper = False
    return "".join(out)


def lower_camel(name):
    return name[:1].lower() + name[1:]


def c_ident(full_name):
    """protoc-c's C name for a message descriptor: akto.rpc.v1.Frame -> akto__rpc__v1__frame__descriptor."""
    out = []
    for part in full_name.split("."):
        snake, was_upper = "", True
        for ch in part:
            if ch.isupper():
                snake += ("" if was_upper else "_") + ch.lower()
                was_upper = True
            else:
                snake += ch
                was_upper = False
        out.append(snake)
    return "__".join(out)


# Fields whose values are secrets (passwords, tokens, keys, codes): the generated description of a message holding
# one shows `<redacted>` in its place, so no log line at any level can carry it (<doc:Hardening>).
SECRET_FIELDS = {
    "password", "new_password", "session_token", "token", "key", "invite_code", "final_invite_code",
    "password_reset_token", "password_reset_url", "setup_token", "access_token", "refresh_token", "customer_token",
    "api_key",
}

# The HTTP binding options of akto/access/v1/http.proto (field numbers of its `extend google.protobuf.MethodOptions`).
# protoc-c compiles neither that file nor google/protobuf/descriptor.proto (generate-proto strips the import).
HTTP_OPTIONS_FILE = "akto/access/v1/http.proto"
HTTP_OPTIONS = {51001: "response_body", 51002: "dashboard_response_body"}


def c_compiled(f):
    """Whether protoc-c compiles this file (everything but the HTTP options and google/protobuf imports)."""
    return f.name != HTTP_OPTIONS_FILE and not f.name.startswith("google/protobuf/")


def read_varint(data, i):
    value, shift = 0, 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def http_options(method):
    """{option name: value} of a method's HTTP binding options, read from its serialized MethodOptions (the
    extension is not registered in this process, so its values are unknown fields there)."""
    data, i, found = method.options.SerializeToString(), 0, {}
    while i < len(data):
        key, i = read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, i = read_varint(data, i)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            length, i = read_varint(data, i)
            if number in HTTP_OPTIONS:
                found[HTTP_OPTIONS[number]] = data[i:i + length].decode()
            i += length
        else:
            fail(f"rpc {method.name}: unexpected wire type {wire} in its options")
            break
    return found


def swift_ident(name):
    return f"`{name}`" if name in SWIFT_KEYWORDS else name


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: generate.py DESCRIPTORS.pb OUT_DIR")
    parsed = descriptor_pb2.FileDescriptorSet()
    with open(sys.argv[1], "rb") as fh:
        parsed.ParseFromString(fh.read())
    # google/protobuf/descriptor.proto comes in only for the HTTP options; it is not part of the contract.
    fds = descriptor_pb2.FileDescriptorSet(file=[f for f in parsed.file if not f.name.startswith("google/protobuf/")])
    out_dir = sys.argv[2]

    messages = {}   # full name -> (file, DescriptorProto)
    enums = {}      # full name -> (file, EnumDescriptorProto)
    services = []   # (file, package, ServiceDescriptorProto)
    swift_names = {}
    for f in fds.file:
        if f.syntax != "proto3":
            fail(f"{f.name}: only proto3 files are allowed")
        for m in f.message_type:
            full = f"{f.package}.{m.name}"
            messages[full] = (f, m)
            if m.name in swift_names:
                fail(f"{f.name}: message {m.name} also defined in {swift_names[m.name]}")
            swift_names[m.name] = f.name
            if m.enum_type:
                fail(f"{f.name}: {m.name} nests an enum; declare enums at file level")
            for nested in m.nested_type:
                if not nested.options.map_entry:
                    fail(f"{f.name}: {m.name} nests message {nested.name}; declare messages at file level")
                messages[f"{full}.{nested.name}"] = (f, nested)
            for fld in m.field:
                if fld.name.lower() in C_KEYWORDS:
                    fail(f"{f.name}: field {m.name}.{fld.name} is a C keyword (protoc-c renames no field)")
                if fld.proto3_optional:
                    fail(f"{f.name}: {m.name}.{fld.name} uses proto3 `optional`; "
                         f"write `oneof _{fld.name} {{ ... }}` (protoc-c 1.4.1 rejects optional)")
        for part in f.package.split("."):
            if not re.fullmatch(r"[a-z][a-z0-9]*", part):
                fail(f"{f.name}: package part '{part}' must be lower-case letters and digits (the C type names)")
        for e in f.enum_type:
            enums[f"{f.package}.{e.name}"] = (f, e)
            if len({v.number for v in e.value}) != len(e.value):
                fail(f"{f.name}: enum {e.name} has aliases (two names for one number)")
            if e.name in swift_names:
                fail(f"{f.name}: enum {e.name} also defined in {swift_names[e.name]}")
            swift_names[e.name] = f.name
        for s in f.service:
            services.append((f, f.package, s))

    check_recursion(messages)
    check_maps(messages)
    paths = {}
    for f, package, s in services:
        for meth in s.method:
            if meth.name.lower() in C_KEYWORDS:
                fail(f"{f.name}: rpc {s.name}.{meth.name} lower-cases to the C keyword '{meth.name.lower()}'")
            if meth.client_streaming or meth.server_streaming:
                fail(f"{f.name}: rpc {s.name}.{meth.name} streams; AKRP v1 calls are unary")
            if package == GATEWAY_PACKAGE:
                path = "/api/" + lower_camel(meth.name)
                if path in paths:
                    fail(f"{f.name}: gateway path {path} of {s.name}.{meth.name} collides with {paths[path]}")
                paths[path] = f"{s.name}.{meth.name}"
            response = messages.get(meth.output_type.lstrip("."))
            for option, field in http_options(meth).items():
                if response is None or not any(fld.name == field for fld in response[1].field):
                    fail(f"{f.name}: rpc {s.name}.{meth.name} option ({option}) names '{field}', "
                         f"which is not a field of {meth.output_type.lstrip('.')}")

    if errors:
        for e in errors:
            print(f"generate-proto: {e}", file=sys.stderr)
        sys.exit(1)

    write_registry(out_dir, fds, messages, services)
    write_swift(out_dir, fds, messages, enums, services)
    write_direct(out_dir, fds, messages, enums)


def message_edges(messages, full):
    _, m = messages[full]
    for fld in m.field:
        if fld.type == F.TYPE_MESSAGE:
            yield fld.type_name.lstrip(".")


def check_recursion(messages):
    state = {}

    def visit(name, stack):
        if state.get(name) == "done":
            return
        if state.get(name) == "active":
            cycle = stack[stack.index(name):] + [name]
            fail("recursive message types: " + " -> ".join(cycle))
            return
        state[name] = "active"
        for nxt in message_edges(messages, name):
            if nxt in messages:
                visit(nxt, stack + [name])
        state[name] = "done"

    for name in sorted(messages):
        visit(name, [])


def check_maps(messages):
    for full, (f, m) in messages.items():
        if m.options.map_entry and m.field[0].type != F.TYPE_STRING:
            fail(f"{f.name}: map {full} has a non-string key; the JSON and Swift mappings need string keys")


def write_registry(out_dir, fds, messages, services):
    def registry(testing, symbol, with_services):
        lines = [
            "/* DO NOT EDIT. Generated by tools/generate-proto from proto/. */",
            "#include <stddef.h>",
            "#include <protobuf-c/protobuf-c.h>",
        ]
        for f in fds.file:
            if c_compiled(f) and is_testing(f) == testing:
                lines.append(f'#include "{f.name[:-len(".proto")]}.pb-c.h"')
        lines.append("")
        if with_services:
            lines.append("static const ProtobufCServiceDescriptor *const akto_services[] = {")
            for f, package, s in services:
                if is_testing(f) == testing:
                    lines.append(f"    &{c_ident(package + '.' + s.name)}__descriptor,")
            lines.append("    NULL,")
            lines.append("};")
            lines.append("")
        lines.append("static const ProtobufCMessageDescriptor *const akto_messages[] = {")
        for full, (f, m) in messages.items():
            if m.options.map_entry or is_testing(f) != testing:
                continue
            lines.append(f"    &{c_ident(full)}__descriptor,")
        lines.append("    NULL,")
        lines.append("};")
        lines.append("")
        if with_services:
            lines.append(
                "const ProtobufCServiceDescriptor *const *akto_service_descriptors(void) { return akto_services; }")
        lines.append(f"const ProtobufCMessageDescriptor *const *{symbol}(void) {{ return akto_messages; }}")
        return "\n".join(lines) + "\n"

    with open(os.path.join(out_dir, "registry.c"), "w") as fh:
        fh.write(registry(False, "akto_message_descriptors", True))
    with open(os.path.join(out_dir, "registry_testing.c"), "w") as fh:
        fh.write(registry(True, "akto_testing_message_descriptors", False))


def swift_field(fld, messages, enums):
    """(swift type, default expression, needs presence) of a field."""
    oneof = fld.HasField("oneof_index")
    if fld.type == F.TYPE_MESSAGE:
        target = fld.type_name.lstrip(".")
        entry = messages[target][1]
        if entry.options.map_entry:
            vtype, _, _ = swift_field(entry.field[1], messages, enums)
            return f"[String: {vtype}]", "[:]", False
        base = target.rsplit(".", 1)[1]
    elif fld.type == F.TYPE_ENUM:
        target = fld.type_name.lstrip(".")
        base = target.rsplit(".", 1)[1]
        enum = enums[target][1]
        default = "." + enum_case_name(enum, enum.value[0].name)
        if fld.label == F.LABEL_REPEATED:
            return f"[{base}]", "[]", False
        if oneof:
            return f"{base}?", "nil", True
        return base, default, False
    else:
        base, default = SCALARS[fld.type]
        if fld.label == F.LABEL_REPEATED:
            return f"[{base}]", "[]", False
        if oneof:
            return f"{base}?", "nil", True
        return base, default, False
    if fld.label == F.LABEL_REPEATED:
        return f"[{base}]", "[]", False
    return f"{base}?", "nil", True


def enum_case_name(enum, value_name):
    prefix = "".join("_" + c if c.isupper() and i else c for i, c in enumerate(enum.name)).upper() + "_"
    name = value_name[len(prefix):] if value_name.startswith(prefix) else value_name
    return swift_ident(json_name(name.lower()))


def write_swift(out_dir, fds, messages, enums, services):
    os.makedirs(os.path.join(out_dir, "swift"), exist_ok=True)
    catalog = [
        "// swift-format-ignore-file",
        "// DO NOT EDIT. Generated by tools/generate-proto from proto/.",
        "",
        "/// Every generated message type, for code that must visit them all (codec tests, fuzzers).",
        "public enum ProtoCatalog {",
        "    public static let messageTypes: [any ProtoMessage.Type] = [",
    ]
    for f in fds.file:
        if f.name == ENVELOPE_FILE or is_testing(f):
            continue
        for m in f.message_type:
            catalog.append(f"        {m.name}.self,")
    catalog += [
        "    ]",
        "",
        "    /// The wire name of every method of the contract, e.g. `/akto.access.v1.RoleService/CreateCustomRole`.",
        "    public static let methodPaths: Set<String> = [",
    ]
    for f, package, s in services:
        if is_testing(f):
            continue
        for meth in s.method:
            catalog.append(f'        "/{package}.{s.name}/{meth.name}",')
    catalog += ["    ]", "}", ""]
    catalog += [
        "/// The HTTP binding options of each method that has one (akto/access/v1/http.proto), by method path:",
        "/// `responseBody` is the response field whose JSON is the HTTP body for every HTTP caller,",
        "/// `dashboardResponseBody` the one for callers authenticated the dashboard's way. Proto field names.",
        "public enum HTTPBindings {",
        "    public static let byPath: [String: (responseBody: String?, dashboardResponseBody: String?)] = [",
    ]
    for f, package, s in services:
        for meth in s.method:
            found = http_options(meth)
            if not found:
                continue
            def lit(name):
                return f'"{found[name]}"' if name in found else "nil"
            catalog.append(f'        "/{package}.{s.name}/{meth.name}": ({lit("response_body")}, {lit("dashboard_response_body")}),')
    catalog += ["    ]", "}"]
    with open(os.path.join(out_dir, "swift", "catalog.pb.swift"), "w") as fh:
        fh.write("\n".join(catalog) + "\n")
    os.makedirs(os.path.join(out_dir, "swift-testing"), exist_ok=True)
    testing = [
        "// swift-format-ignore-file",
        "// DO NOT EDIT. Generated by tools/generate-proto from proto/.",
        "",
        "import AccessCore",
        "",
        f"/// Every generated message type of {TESTING_PACKAGE}, the codec tests' contract.",
        "public enum TestingCatalog {",
        "    public static let messageTypes: [any ProtoMessage.Type] = [",
    ]
    for f in fds.file:
        if is_testing(f):
            testing += [f"        {m.name}.self," for m in f.message_type]
    testing += ["    ]", "}"]
    with open(os.path.join(out_dir, "swift-testing", "catalog_testing.pb.swift"), "w") as fh:
        fh.write("\n".join(testing) + "\n")
    for f in fds.file:
        if f.name == ENVELOPE_FILE:
            continue
        body = [
            "// swift-format-ignore-file",
            f"// DO NOT EDIT. Generated by tools/generate-proto from proto/{f.name}.",
            "",
        ]
        for e in f.enum_type:
            body.append(f"/// The `{f.package}.{e.name}` enum; JSON and Swift use the proto value names.")
            body.append(f"public enum {e.name}: String, ProtoEnum {{")
            for v in e.value:
                body.append(f"    case {enum_case_name(e, v.name)} = \"{v.name}\"")
            body.append("")
            body.append("    public static let protoName = \"%s.%s\"" % (f.package, e.name))
            body.append("}")
            body.append("")
        for m in f.message_type:
            full = f"{f.package}.{m.name}"
            fields = [(swift_ident(json_name(fld.name)), *swift_field(fld, messages, enums)) for fld in m.field]
            body.append(f"/// The `{full}` message.")
            body.append(f"public struct {m.name}: ProtoMessage {{")
            body.append(f"    public static let protoName = \"{full}\"")
            for name, typ, default, _ in fields:
                body.append(f"    public var {name}: {typ}")
            body.append("")
            if fields:
                params = ", ".join(f"{name}: {typ} = {default}" for name, typ, default, _ in fields)
                body.append(f"    public init({params}) {{")
                for name, *_ in fields:
                    bare = name.strip("`")
                    body.append(f"        self.{bare} = {name}")
                body.append("    }")
                body.append("")
                body.append("    public init() {")
                for name, typ, default, _ in fields:
                    body.append(f"        self.{name.strip('`')} = {default}")
                body.append("    }")
            else:
                body.append("    public init() {}")
            body.append("}")
            body.append("")
            if any(fld.name in SECRET_FIELDS for fld in m.field):
                parts = []
                children = []
                for fld, (name, *_rest) in zip(m.field, fields):
                    bare = name.strip("`")
                    if fld.name in SECRET_FIELDS:
                        parts.append(f"{bare}: <redacted>")
                        children.append(f'"{bare}": "<redacted>"')
                    else:
                        parts.append(f"{bare}: \\(String(describing: self.{bare}))")
                        children.append(f'"{bare}": self.{bare} as Any')
                body.append(f"// `{m.name}` holds a secret: descriptions and mirrors show `<redacted>` in its place.")
                body.append(f"extension {m.name}: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {{")
                body.append(f'    public var description: String {{ "{m.name}({", ".join(parts)})" }}')
                body.append("    public var debugDescription: String { description }")
                body.append(f"    public var customMirror: Mirror {{ Mirror(self, children: [{', '.join(children)}], displayStyle: .struct) }}")
                body.append("}")
                body.append("")
        for s in f.service:
            body.append(f"extension Methods {{")
            body.append(f"    /// The methods of `{f.package}.{s.name}`.")
            body.append(f"    public enum {s.name} {{")
            for meth in s.method:
                req = meth.input_type.lstrip(".").rsplit(".", 1)[1]
                res = meth.output_type.lstrip(".").rsplit(".", 1)[1]
                body.append(f"        public static let {swift_ident(lower_camel(meth.name))} = MethodSpec<{req}, {res}>(")
                body.append(f"            service: \"{f.package}.{s.name}\", method: \"{meth.name}\")")
            body.append("")
            body.append("        /// Every method of the service, in .proto order.")
            names = ", ".join(f"{swift_ident(lower_camel(meth.name))}.descriptor" for meth in s.method)
            body.append(f"        public static let all: [MethodDescriptor] = [{names}]")
            body.append("    }")
            body.append("}")
            body.append("")
        while body and body[-1] == "":
            body.pop()
        name = f.name[:-len(".proto")].replace("/", "_")
        if is_testing(f):
            body.insert(3, "import AccessCore")
            body.insert(4, "")
        with open(os.path.join(out_dir, "swift-testing" if is_testing(f) else "swift", f"{name}.pb.swift"), "w") as fh:
            fh.write("\n".join(body) + "\n")


# ---------------------------------------------------------------------------------------------------------------
# The direct codec (<doc:WireProtocol>, "The codec"): per message, code between the generated Swift struct and
# protobuf-c's generated C struct, so a typed call never builds the value tree. protobuf-c still packs and
# unpacks; this code only fills and reads the C structs, with the same checks and error paths as the
# descriptor walker (AccessWire's CMessageCodec + ProtoValueDecoding), which the tests compare it against.

C_INT_TYPES = {
    F.TYPE_INT32: "Int32", F.TYPE_SINT32: "Int32", F.TYPE_SFIXED32: "Int32",
    F.TYPE_INT64: "Int64", F.TYPE_SINT64: "Int64", F.TYPE_SFIXED64: "Int64",
    F.TYPE_UINT32: "UInt32", F.TYPE_FIXED32: "UInt32", F.TYPE_UINT64: "UInt64", F.TYPE_FIXED64: "UInt64",
    F.TYPE_FLOAT: "Float", F.TYPE_DOUBLE: "Double",
}


def c_type(full):
    """protoc-c's C type of a message or enum: akto.testing.v1.Everything.MStringEntry ->
    Akto__Testing__V1__Everything__MStringEntry (package parts capitalised, type names as written)."""
    return "__".join(part[:1].upper() + part[1:] for part in full.split("."))


def c_member(name):
    return f"`{name}`" if name in SWIFT_KEYWORDS else name


class Direct:
    def __init__(self, messages, enums):
        self.messages = messages
        self.enums = enums

    def entry(self, fld):
        """The map entry DescriptorProto of a map field, or None."""
        if fld.type != F.TYPE_MESSAGE or fld.label != F.LABEL_REPEATED:
            return None
        target = fld.type_name.lstrip(".")
        entry = self.messages[target][1]
        return (target, entry) if entry.options.map_entry else None

    def swift_type(self, fld):
        return fld.type_name.lstrip(".").rsplit(".", 1)[1]

    # Reading one value from a C slot expression. `reader_path` and `codable_path` are Swift string expressions,
    # evaluated only on failure: the field path the descriptor walker gives a fault it finds (strings, lists)
    # and the one the value tree's Codable pass gives (unknown enum numbers; map values named by key).
    def read_value(self, fld, slot, reader_path, codable_path):
        t = fld.type
        if t in C_INT_TYPES:
            return slot
        if t == F.TYPE_BOOL:
            return f"({slot} != 0)"
        if t == F.TYPE_STRING:
            return f"try r.string({slot}, {reader_path})"
        if t == F.TYPE_BYTES:
            return f"r.bytes({slot})"
        if t == F.TYPE_ENUM:
            return (f"try {self.swift_type(fld)}.directValue(Int32(truncatingIfNeeded: {slot}.rawValue), "
                    f"{codable_path})")
        raise AssertionError("message values are read by read_message")

    def read_message(self, fld, slot, reader_path, codable_path, default_when_null):
        """Statements-free expression reading a message pointer `slot` (nil = default or absent)."""
        typ = self.swift_type(fld)
        if default_when_null:
            return (f"try directNesting({reader_path}, {codable_path}) {{ try {slot}.map {{ try {typ}.directRead($0, r) }} "
                    f"?? {typ}() }}")
        return f"try directNesting({reader_path}, {codable_path}) {{ try {slot}.map {{ try {typ}.directRead($0, r) }} }}"

    def write_value(self, fld, value, path):
        t = fld.type
        if t in C_INT_TYPES:
            return value
        if t == F.TYPE_BOOL:
            return f"({value} ? 1 : 0)"
        if t == F.TYPE_STRING:
            return f"try a.string({value}, {path})"
        if t == F.TYPE_BYTES:
            return f"try a.bytes({value}, {path})"
        if t == F.TYPE_ENUM:
            return f".init(rawValue: .init(truncatingIfNeeded: {value}.directNumber))"
        if t == F.TYPE_MESSAGE:
            return f"try directNesting({path}) {{ try {value}.directWrite(&a) }}"
        raise AssertionError(t)

    def message(self, full, m):
        ctype = c_type(full)
        init_fn = c_ident(full) + "__init"
        acc = "public "
        lines = []
        is_entry = m.options.map_entry
        if not is_entry:
            lines.append(f"extension {m.name}: DirectMessage {{")
            lines.append(f"    {acc}nonisolated(unsafe) static let directDescriptor: UnsafePointer<ProtobufCMessageDescriptor> = {{")
            lines.append(f"        var message = {ctype}()")
            lines.append(f"        {init_fn}(&message)")
            lines.append("        return message.base.descriptor")
            lines.append("    }()")
            lines.append("")
            lines.append(f"    {acc}init(directMessage message: UnsafeRawPointer, reader: DirectReader) throws {{")
            lines.append(f"        self = try Self.directRead(message.assumingMemoryBound(to: {ctype}.self), reader)")
            lines.append("    }")
            lines.append("")
            lines.append(f"    {acc}func directMessage(arena: inout DirectArena) throws -> UnsafeMutableRawPointer {{")
            lines.append("        UnsafeMutableRawPointer(try directWrite(&arena))")
            lines.append("    }")
            lines.append("")
        lines += self.reader(full, m, ctype)
        lines.append("")
        lines += self.writer(full, m, ctype, init_fn)
        lines.append("}")
        return lines

    def reader(self, full, m, ctype):
        name = m.name
        out = [f"    static func directRead(_ m: UnsafePointer<{ctype}>, _ r: DirectReader) throws -> {name} {{"]
        if not m.field:
            return out + [f"        {name}()", "    }"]
        out.append(f"        var v = {name}()")
        # The descriptor walker reads fields in field-number order (protobuf-c's descriptors are sorted).
        for fld in sorted(m.field, key=lambda f: f.number):
            js = json_name(fld.name)
            sw = swift_ident(js)
            cm = c_member(fld.name)
            slot = f"m.pointee.{cm}"
            entry = self.entry(fld)
            if entry is not None:
                _, em = entry
                vfld = em.field[1]
                out.append(f"        if m.pointee.n_{fld.name} > 0, let array = {slot} {{")
                out.append(f"            let count = try r.count(m.pointee.n_{fld.name}, \"{js}\")")
                vtype = self.value_swift_type(vfld)
                out.append(f"            var map: [String: {vtype}] = [:]")
                out.append("            for i in 0..<count {")
                out.append("                guard let e = array[i] else { continue }")
                out.append(f"                let key = try r.string(e.pointee.key, \"{js}.key\")")
                if vfld.type == F.TYPE_MESSAGE:
                    out.append(f"                map[key] = {self.read_message(vfld, 'e.pointee.value', chr(34) + js + '.value' + chr(34), chr(34) + js + '.' + chr(34) + ' + key', True)}")
                else:
                    out.append(f"                map[key] = {self.read_value(vfld, 'e.pointee.value', chr(34) + js + '.value' + chr(34), chr(34) + js + '.' + chr(34) + ' + key')}")
                out.append("            }")
                out.append(f"            v.{sw} = map")
                out.append("        }")
                continue
            if fld.label == F.LABEL_REPEATED:
                out.append(f"        if m.pointee.n_{fld.name} > 0, let array = {slot} {{")
                out.append(f"            let count = try r.count(m.pointee.n_{fld.name}, \"{js}\")")
                out.append(f"            var list: [{self.value_swift_type(fld)}] = []")
                out.append("            list.reserveCapacity(count)")
                out.append("            for i in 0..<count {")
                path = f'"{js}[\\(i)]"'
                if fld.type == F.TYPE_MESSAGE:
                    out.append(f"                list.append({self.read_message(fld, 'array[i]', path, path, True)})")
                else:
                    out.append(f"                list.append({self.read_value(fld, 'array[i]', path, path)})")
                out.append("            }")
                out.append(f"            v.{sw} = list")
                out.append("        }")
                continue
            path = f'"{js}"'
            if fld.HasField("oneof_index"):
                case = c_member(m.oneof_decl[fld.oneof_index].name + "_case")
                out.append(f"        if m.pointee.{case}.rawValue == {fld.number} {{")
                if fld.type == F.TYPE_MESSAGE:
                    out.append(f"            v.{sw} = {self.read_message(fld, slot, path, path, True)}")
                else:
                    out.append(f"            v.{sw} = {self.read_value(fld, slot, path, path)}")
                out.append("        }")
                continue
            if fld.type == F.TYPE_MESSAGE:
                out.append(f"        v.{sw} = {self.read_message(fld, slot, path, path, False)}")
            else:
                out.append(f"        v.{sw} = {self.read_value(fld, slot, path, path)}")
        out.append("        return v")
        out.append("    }")
        return out

    def value_swift_type(self, fld):
        if fld.type == F.TYPE_MESSAGE or fld.type == F.TYPE_ENUM:
            return self.swift_type(fld)
        return SCALARS[fld.type][0]

    def c_elem_type(self, fld):
        """The Swift spelling of protobuf-c's element type of a repeated field."""
        t = fld.type
        if t in C_INT_TYPES:
            return C_INT_TYPES[t]
        if t == F.TYPE_BOOL:
            return "protobuf_c_boolean"
        if t == F.TYPE_STRING:
            return "UnsafeMutablePointer<CChar>?"
        if t == F.TYPE_BYTES:
            return "ProtobufCBinaryData"
        if t == F.TYPE_ENUM:
            return c_type(fld.type_name.lstrip("."))
        return f"UnsafeMutablePointer<{c_type(fld.type_name.lstrip('.'))}>?"

    def writer(self, full, m, ctype, init_fn):
        out = [f"    func directWrite(_ a: inout DirectArena) throws -> UnsafeMutablePointer<{ctype}> {{"]
        out.append(f"        let m = try a.allocate({ctype}.self)")
        out.append(f"        {init_fn}(m)")
        oneofs_used = set()
        for fld in sorted(m.field, key=lambda f: f.number):
            js = json_name(fld.name)
            sw = swift_ident(js)
            bare = js
            cm = c_member(fld.name)
            entry = self.entry(fld)
            if entry is not None:
                etarget, em = entry
                vfld = em.field[1]
                etype = c_type(etarget)
                out.append(f"        if !self.{bare}.isEmpty {{")
                out.append(f"            let array = try a.allocate(UnsafeMutablePointer<{etype}>?.self, count: self.{bare}.count)")
                out.append(f"            m.pointee.{cm} = array")
                out.append(f"            m.pointee.n_{fld.name} = self.{bare}.count")
                out.append(f"            for (i, key) in self.{bare}.keys.sorted().enumerated() {{")
                out.append(f"                let e = try a.allocate({etype}.self)")
                out.append(f"                {c_ident(etarget)}__init(e)")
                out.append("                array[i] = e")
                out.append(f"                if !key.isEmpty {{ e.pointee.key = try a.string(key, \"{js}[\\(i)].key\") }}")
                value = f"self.{bare}[key]!"
                vpath = f'"{js}[\\(i)].value"'
                if vfld.type == F.TYPE_MESSAGE:
                    # The Swift map's values are optional (`[String: T?]`); a nil one is written as an empty message,
                    # which is what a reader gets back for an entry without a value.
                    out.append(f"                let value = {value} ?? {self.swift_type(vfld)}()")
                    out.append(f"                e.pointee.value = {self.write_value(vfld, 'value', vpath)}")
                elif vfld.type in (F.TYPE_STRING, F.TYPE_BYTES):
                    out.append(f"                let value = {value}")
                    out.append(f"                if !value.isEmpty {{ e.pointee.value = {self.write_value(vfld, 'value', vpath)} }}")
                else:
                    out.append(f"                e.pointee.value = {self.write_value(vfld, value, vpath)}")
                out.append("            }")
                out.append("        }")
                continue
            if fld.label == F.LABEL_REPEATED:
                out.append(f"        if !self.{bare}.isEmpty {{")
                out.append(f"            let array = try a.allocate({self.c_elem_type(fld)}.self, count: self.{bare}.count)")
                out.append(f"            m.pointee.{cm} = array")
                out.append(f"            m.pointee.n_{fld.name} = self.{bare}.count")
                out.append(f"            for (i, element) in self.{bare}.enumerated() {{")
                out.append(f"                array[i] = {self.write_value(fld, 'element', chr(34) + js + '[' + chr(92) + '(i)]' + chr(34))}")
                out.append("            }")
                out.append("        }")
                continue
            path = f'"{js}"'
            if fld.HasField("oneof_index"):
                oneof = m.oneof_decl[fld.oneof_index].name
                case = c_member(oneof + "_case")
                out.append(f"        if let value = self.{bare} {{")
                if oneof in oneofs_used:
                    out.append(f"            if m.pointee.{case}.rawValue != 0 {{ throw DirectFieldError({path}, \"is set together with another member of its oneof\") }}")
                oneofs_used.add(oneof)
                out.append(f"            m.pointee.{case} = .init(rawValue: {fld.number})")
                out.append(f"            m.pointee.{cm} = {self.write_value(fld, 'value', path)}")
                out.append("        }")
                continue
            if fld.type == F.TYPE_MESSAGE:
                out.append(f"        if let value = self.{bare} {{ m.pointee.{cm} = {self.write_value(fld, 'value', path)} }}")
            elif fld.type in (F.TYPE_STRING, F.TYPE_BYTES):
                out.append(f"        if !self.{bare}.isEmpty {{ m.pointee.{cm} = {self.write_value(fld, 'self.' + bare, path)} }}")
            else:
                out.append(f"        m.pointee.{cm} = {self.write_value(fld, 'self.' + bare, path)}")
        out.append("        return m")
        out.append("    }")
        return out

    def enum(self, full, e):
        acc = "public "
        out = [f"extension {e.name}: DirectEnum {{"]
        out.append(f"    {acc}var directNumber: Int32 {{")
        out.append("        switch self {")
        for v in e.value:
            out.append(f"        case .{enum_case_name(e, v.name).strip('`')}: {v.number}")
        out.append("        }")
        out.append("    }")
        out.append("")
        out.append(f"    {acc}init?(directNumber number: Int32) {{")
        out.append("        switch number {")
        for v in e.value:
            out.append(f"        case {v.number}: self = .{enum_case_name(e, v.name).strip('`')}")
        out.append("        default: return nil")
        out.append("        }")
        out.append("    }")
        out.append("}")
        return out


def write_direct(out_dir, fds, messages, enums):
    gen = Direct(messages, enums)
    for folder in ("direct", "direct-testing"):
        os.makedirs(os.path.join(out_dir, folder), exist_ok=True)
    for f in fds.file:
        if f.name == ENVELOPE_FILE or not c_compiled(f):
            continue
        testing = is_testing(f)
        body = [
            "// swift-format-ignore-file",
            f"// DO NOT EDIT. Generated by tools/generate-proto from proto/{f.name}: the direct codec between the",
            "// generated Swift structs and protobuf-c's C structs (<doc:WireProtocol>, \"The codec\").",
            "",
            "import AccessCore",
            "import AccessTestingProtoC" if testing else "import AccessProtoC",
        ]
        if testing:
            body.append("import AccessWire")
        body.append("")
        for e in f.enum_type:
            body += gen.enum(f"{f.package}.{e.name}", e)
            body.append("")
        for m in f.message_type:
            full = f"{f.package}.{m.name}"
            body += gen.message(full, m)
            body.append("")
        while body and body[-1] == "":
            body.pop()
        name = f.name[:-len(".proto")].replace("/", "_")
        with open(os.path.join(out_dir, "direct-testing" if testing else "direct", f"{name}.pbc.swift"), "w") as fh:
            fh.write("\n".join(body) + "\n")

if __name__ == "__main__":
    main()
