/// What every new account starts with, whatever the store.
public enum AccountDefaults {
    /// The collections created with an account: "Default" for the API scope, plus one per product context so
    /// every scope has a home.
    public static let collections: [(name: String, contextSource: String)] = [
        ("Default", "API"), ("MCP Default", "MCP"), ("GenAI Default", "GEN_AI"), ("Endpoint Default", "ENDPOINT"),
    ]
}
