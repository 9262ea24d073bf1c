import Synchronization

/// Whether the server accepts new calls; the health check reports NOT_SERVING while it drains.
public final class ServingState: Sendable {
    private let serving = Atomic<Bool>(true)

    public init() {}

    public var isServing: Bool { serving.load(ordering: .relaxed) }

    /// Marks the server as draining (irreversible).
    public func beginDraining() { serving.store(false, ordering: .relaxed) }
}
