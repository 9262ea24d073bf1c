import Logging

/// A `LogHandler` that escapes control characters in every value it writes — the message, each metadata key and
/// value (nested ones too), the source and the error — and hands the event to an inner handler (the process's
/// `StreamLogHandler`). A caller-chosen string (a method name, an e-mail, a header) containing `\n` or `\r` can
/// therefore never start a log line of its own (log forging, CWE-117), nor can escape sequences reach a terminal.
public struct EscapingLogHandler: LogHandler {
    private var inner: any LogHandler

    public init(wrapping inner: any LogHandler) {
        self.inner = inner
    }

    public var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = Self.escape(newValue) }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue.map(Self.escaping) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: Self.escape(key)] = newValue.map(Self.escape) }
    }

    public func log(event: LogEvent) {
        var event = event
        event.message = Logger.Message(stringLiteral: Self.escape(event.message.description))
        var metadata = event.metadata.map(Self.escape) ?? [:]
        if let error = event.error {
            metadata["error.message"] = .string(Self.escape("\(error)"))
            metadata["error.type"] = .string(Self.escape(String(reflecting: type(of: error))))
            event.error = nil
        }
        event.metadata = metadata.isEmpty ? nil : metadata
        event.source = Self.escape(event.source)
        inner.log(event: event)
    }

    static func escaping(_ provider: Logger.MetadataProvider) -> Logger.MetadataProvider {
        Logger.MetadataProvider { escape(provider.get()) }
    }

    static func escape(_ metadata: Logger.Metadata) -> Logger.Metadata {
        var escaped = Logger.Metadata()
        for (key, value) in metadata { escaped[escape(key)] = escape(value) }
        return escaped
    }

    static func escape(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(escape(text))
        case .stringConvertible(let convertible): .string(escape(convertible.description))
        case .dictionary(let dictionary): .dictionary(escape(dictionary))
        case .array(let array): .array(array.map(escape))
        }
    }

    /// `text` with every C0/C1 control character, DEL and the Unicode line and paragraph separators written as an
    /// escape (`\n`, `\r`, `\t`, `\u{1B}`); everything else unchanged. Returns `text` itself when it has none.
    public static func escape(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else {
                out.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
        }
        return out
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        return value < 0x20 || (0x7F...0x9F).contains(value) || value == 0x2028 || value == 0x2029
    }
}
