/// One metadata entry of a call (`akto.rpc.v1.Metadata` on the socket, selected headers on the gateway). Keys
/// are lower-case ASCII.
public struct MetadataEntry: Sendable, Equatable {
    public var key: String
    public var value: String

    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}
