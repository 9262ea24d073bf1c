/// What an API token is for; it limits the operations the token may call (SPEC.md, API token).
public enum TokenUtility: String, Sendable, Hashable, CaseIterable, Codable {
    case burp = "BURP"
    case cicd = "CICD"
    case externalAPI = "EXTERNAL_API"
    /// A decision client (a sidecar or proxy): may call DecisionService about any credential, nothing else.
    case decisions = "DECISIONS"
}
