/// The small JSON arrays the stores keep in text columns (a custom role's collection ids and feature names),
/// read and written without Foundation's coders (a `JSONDecoder` per column was a visible part of a role change).
extension JSONValue {
    /// `[1,2]` → [1, 2]; nil when `text` is not a JSON array of 32-bit integers.
    public static func int32List(_ text: String) -> [Int32]? {
        guard case .array(let items)? = try? parse(text) else { return nil }
        return int32List(items)
    }

    /// The elements as 32-bit integers; nil when one is not.
    public static func int32List(_ items: [JSONValue]) -> [Int32]? {
        var out: [Int32] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard case .number(let digits) = item, let value = Int32(digits) else { return nil }
            out.append(value)
        }
        return out
    }

    /// `["A","B"]` → ["A", "B"]; nil when `text` is not a JSON array of strings.
    public static func stringList(_ text: String) -> [String]? {
        guard case .array(let items)? = try? parse(text) else { return nil }
        var out: [String] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard case .string(let value) = item else { return nil }
            out.append(value)
        }
        return out
    }

    /// `[1,2]`.
    public static func text(of ids: [Int32]) -> String {
        "[" + ids.map(String.init).joined(separator: ",") + "]"
    }

    /// `["A","B"]`, escaped as JSON requires.
    public static func text(of names: [String]) -> String {
        JSONValue.array(names.map(JSONValue.string)).serialized()
    }
}
