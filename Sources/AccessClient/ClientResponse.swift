import AccessCore
import AccessWire

/// A call's raw answer: status, response metadata and payload bytes (empty unless OK).
public struct ClientResponse: Sendable, Equatable {
    public var status: Status
    public var metadata: [MetadataEntry]
    public var payload: [UInt8]

    public init(status: Status, metadata: [MetadataEntry], payload: [UInt8]) {
        self.status = status
        self.metadata = metadata
        self.payload = payload
    }

    /// The first value of a response metadata key.
    public func metadata(_ key: String) -> String? { metadata.first { $0.key == key }?.value }
}
