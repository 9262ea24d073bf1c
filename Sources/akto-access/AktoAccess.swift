import ArgumentParser

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The `akto-access` command: the server and the tools that talk to it.
@main
struct AktoAccess: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "akto-access",
        abstract: "Users, accounts, roles and API tokens of an Akto-style platform, over AKRP and HTTP/JSON.",
        subcommands: [Serve.self, Call.self, ListMethodsCommand.self, HealthCommand.self, Admin.self]
    )

    /// Runs the chosen subcommand; a call that ends in an error status exits with 64 + its gRPC code.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as CLIError {
            let text = Array((error.description + "\n").utf8)
            _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            Glibc.exit(error.exitCode)
        } catch {
            exit(withError: error)
        }
    }
}
