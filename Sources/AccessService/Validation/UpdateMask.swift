import AccessCore

/// An update operation's field mask (AIP-134): with paths, exactly the fields named change; without, the fields
/// that are set do (an empty value or list keeps the stored one, so a partial update never clears or widens
/// anything by omission). Over HTTP the gateway fills it from the JSON keys present.
struct UpdateMask {
    let paths: Set<String>

    /// INVALID_ARGUMENT for a path that is not one of `known` (proto field names of the request).
    init(_ paths: [String], known: Set<String>, message: String) throws {
        let trimmed = Set(paths.map { $0.trimmed })
        if let unknown = trimmed.sorted().first(where: { !known.contains($0) }) {
            throw RPCError.invalidField("updateMask", "\(unknown) is not a field of \(message)")
        }
        self.paths = trimmed
    }

    /// Whether the request carries `field`: named in the mask, or — without a mask — set.
    func carries(_ field: String, isSet: Bool) -> Bool { paths.isEmpty ? isSet : paths.contains(field) }
}
