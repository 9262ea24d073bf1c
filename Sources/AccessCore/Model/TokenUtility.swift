/// What an API token is for; it limits the operations the token may call (SPEC.md, API token).
public enum TokenUtility: String, Sendable, Hashable, CaseIterable, Codable {
    case burp = "BURP"
    case cicd = "CICD"
    case externalAPI = "EXTERNAL_API"
}
