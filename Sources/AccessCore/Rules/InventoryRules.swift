/// Collections and traffic samples: the refusals the stores' inventory writes give.
public enum InventoryRules {
    public static func collectionExists(_ name: String) -> RPCError {
        RPCError(.alreadyExists, "a collection named \(name) exists")
    }

    /// A new collection's name must be free in the account.
    public static func createCollection(name: String, taken: Bool) throws {
        guard !taken else { throw collectionExists(name) }
    }

    /// Every sample must name a collection of the account (the first one that does not is reported).
    public static func samples(collections: [Int32], known: Set<Int32>) throws {
        if let index = collections.firstIndex(where: { !known.contains($0) }) {
            throw RPCError.invalidField("samples[\(index)].apiCollectionId", "is not a collection of this account")
        }
    }

    /// The account a job or write names must exist.
    public static func requireAccount(_ id: Int32, exists: Bool) throws {
        guard exists else { throw AccountRules.accountNotFound(id) }
    }
}
