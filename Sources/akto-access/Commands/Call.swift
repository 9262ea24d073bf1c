import AccessClient
import AccessCore
import AccessWire
import ArgumentParser

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `akto-access call METHOD JSON`: one call, JSON in and JSON out, like grpcurl.
struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call a method with a JSON request and print the JSON response.",
        discussion: """
            METHOD is the full name (/akto.rpc.v1.Health/Check), Service/Method, or a method name that is unique \
            (createCustomRole). JSON '-' reads the request from standard input. On an error status the status is \
            printed to standard error and the exit code is 64 + the gRPC code (e.g. 69 for NOT_FOUND).
            """)

    @Argument(help: "The method to call.")
    var method: String
    @Argument(help: "The request as JSON ('-' for standard input).")
    var json: String = "{}"
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let target = try MethodResolver.resolve(method)
        let text = json == "-" ? readStandardInput() : json
        let payload: [UInt8]
        do {
            payload = try MessageCodec.jsonToWire(Array(text.utf8), schema: target.request)
        } catch let error as RPCError {
            throw CLIError.status(Status(error))
        }
        let response = try await Requester.call(options, method: target.path, payload: payload)
        print(try MessageCodec.wireToJSON(response.payload, schema: target.response).serialized(pretty: true))
    }

    private func readStandardInput() -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(0, &buffer, buffer.count)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Finds a method of the contract by full name, `Service/Method`, or unique method name.
enum MethodResolver {
    struct Target {
        let path: String
        let request: MessageSchema
        let response: MessageSchema
    }

    static func resolve(_ name: String) throws -> Target {
        let all = SchemaRegistry.shared.methods.map {
            (
                path: "/\($0.service)/\($0.method)", service: $0.service, method: $0.method, request: $0.request,
                response: $0.response
            )
        }
        let wanted = (name.hasPrefix("/") ? String(name.dropFirst()) : name).lowercased()
        let matches = all.filter { entry in
            let shortService = entry.service.split(separator: ".").last.map(String.init) ?? entry.service
            return [String(entry.path.dropFirst()), "\(shortService)/\(entry.method)", entry.method]
                .contains { $0.lowercased() == wanted }
        }
        guard matches.count == 1, let match = matches.first else {
            if matches.isEmpty { throw ValidationError("unknown method \(name); see `akto-access methods`") }
            throw ValidationError("\(name) is ambiguous: \(matches.map(\.path).joined(separator: ", "))")
        }
        return Target(path: match.path, request: match.request, response: match.response)
    }
}

/// Sends one call with the shared client options and turns a non-OK status into a CLI error.
enum Requester {
    static func call(_ options: ClientOptions, method: String, payload: [UInt8]) async throws -> ClientResponse {
        var metadata: [MetadataEntry] = []
        for header in options.header {
            guard let colon = header.firstIndex(of: ":") else {
                throw ValidationError("-H takes 'key: value', got \(header)")
            }
            let key = header[..<colon].trimmingSpaces.lowercased()
            let value = header[header.index(after: colon)...].trimmingSpaces
            metadata.append(MetadataEntry(key, value))
        }
        guard options.timeout > 0 else { throw ValidationError("--timeout must be positive") }
        let path = try options.resolvedSocketPath
        let response = try await AccessClient.withConnection(socketPath: path) { client in
            await client.call(
                method: method, payload: payload, metadata: metadata,
                timeout: .milliseconds(Int64(options.timeout * 1000)))
        }
        guard response.status.code == .ok else { throw CLIError.status(response.status) }
        return response
    }
}

/// A failed call, printed like grpcurl prints it, with exit code 64 + the status code.
enum CLIError: Error, CustomStringConvertible {
    case status(Status)

    var description: String {
        switch self {
        case .status(let status):
            var text = "ERROR:\n  Code: \(status.code.grpcName)\n  Message: \(status.message)"
            for violation in status.violations { text += "\n  Violation: \(violation.field): \(violation.description)" }
            return text
        }
    }

    var exitCode: Int32 {
        switch self {
        case .status(let status): 64 + Int32(status.code.rawValue)
        }
    }
}
