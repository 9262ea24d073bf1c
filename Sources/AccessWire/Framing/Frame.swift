import AccessCore

/// A call request (`akto.rpc.v1.Request`).
public struct RequestFrame: Sendable, Equatable {
    public var callID: UInt32
    public var method: String
    public var timeoutMilliseconds: UInt32
    public var metadata: [MetadataEntry]
    public var payload: [UInt8]

    public init(
        callID: UInt32, method: String, timeoutMilliseconds: UInt32 = 0, metadata: [MetadataEntry] = [],
        payload: [UInt8] = []
    ) {
        self.callID = callID
        self.method = method
        self.timeoutMilliseconds = timeoutMilliseconds
        self.metadata = metadata
        self.payload = payload
    }
}

/// A call's answer (`akto.rpc.v1.Response`); `payload` is set only for OK.
public struct ResponseFrame: Sendable, Equatable {
    public var callID: UInt32
    public var status: Status
    public var metadata: [MetadataEntry]
    public var payload: [UInt8]

    public init(callID: UInt32, status: Status, metadata: [MetadataEntry] = [], payload: [UInt8] = []) {
        self.callID = callID
        self.status = status
        self.metadata = metadata
        self.payload = payload
    }
}

/// One AKRP v1 frame (`akto.rpc.v1.Frame`).
public enum Frame: Sendable, Equatable {
    case request(RequestFrame)
    case response(ResponseFrame)
    case cancel(callID: UInt32)
    case ping(nonce: UInt64)
    case pong(nonce: UInt64)
    case goAway(status: Status, lastCallID: UInt32)
}

/// The 8 bytes a client sends first: `AKRP`, version 1, two reserved zero bytes.
public enum Preface {
    public static let bytes: [UInt8] = [0x41, 0x4B, 0x52, 0x50, 0x00, 0x01, 0x00, 0x00]
}
