import AccessRPC

/// One call handed from a connection to the task that runs it.
struct CallWork: Sendable {
    let callID: UInt32
    let request: DispatchRequest
    let signal: CancellationSignal
    /// Hands the result back to the connection (hops to its event loop).
    let complete: @Sendable (DispatchResult) -> Void
}
