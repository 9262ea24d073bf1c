// The peer of case 3: grpc-swift-2 over grpc-swift-nio-transport (HTTP/2 on a Unix socket), one unary method
// answering with the same bytes as akto-access's Health/Check. It runs in its own process (`akto-bench
// grpc-server SOCKET HEX_RESPONSE`) so its CPU time is measured like the server's.
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// Bytes in, bytes out: no protobuf work on either side (which only favours the peer).
struct RawSerializer: MessageSerializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
}

struct RawDeserializer: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}

let peerMethod = MethodDescriptor(fullyQualifiedService: "akto.rpc.v1.Health", method: "Check")

struct PeerHealthService: RegistrableRPCService {
    let response: [UInt8]

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        let response = self.response
        router.registerHandler(
            forMethod: peerMethod, deserializer: RawDeserializer(), serializer: RawSerializer()
        ) { request, _ in
            for try await _ in request.messages {}
            return StreamingServerResponse(single: ServerResponse(message: response))
        }
    }
}

/// `akto-bench grpc-server SOCKET HEX`: serves until killed.
func runPeerServer(socket: String, responseHex: String) async throws -> Never {
    var response: [UInt8] = []
    var index = responseHex.startIndex
    while index < responseHex.endIndex {
        let next = responseHex.index(index, offsetBy: 2)
        response.append(UInt8(responseHex[index..<next], radix: 16) ?? 0)
        index = next
    }
    try? FileManager.default.removeItem(atPath: socket)
    let transport = HTTP2ServerTransport.Posix(address: .unixDomainSocket(path: socket), transportSecurity: .plaintext)
    try await withGRPCServer(transport: transport, services: [PeerHealthService(response: response)]) { _ in
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
    exit(0)
}

/// One HTTP/2 connection per `connections`, `inflight` concurrent unary calls on each.
func drivePeer(socket: String, serverPID: Int32, seconds: Double, connections: Int, inflight: Int) async throws -> Measured {
    try await load(serverPID: serverPID, seconds: seconds, connections: connections, inflight: inflight) { body in
        let transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: socket), transportSecurity: .plaintext)
        try await withGRPCClient(transport: transport) { client in
            await body { 
                do {
                    return try await client.unary(
                        request: ClientRequest(message: []), descriptor: peerMethod, serializer: RawSerializer(),
                        deserializer: RawDeserializer(), options: .defaults
                    ) { response in (try? response.message) != nil }
                } catch {
                    return false
                }
            }
        }
    }
}

let grpcVersion = "2.4.3"
