extension Duration {
    /// The duration in whole nanoseconds, clamped to `0...Int64.max` (timers and metrics take this form).
    public var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        if seconds < 0 { return 0 }
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : product &+ attoseconds / 1_000_000_000
    }
}
