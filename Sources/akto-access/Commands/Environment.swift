import ArgumentParser

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads `AKTO_ACCESS_*` variables for options not given on the command line.
enum Environment {
    static func string(_ name: String) -> String? {
        guard let value = getenv("AKTO_ACCESS_" + name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    /// The flag's value, else the variable's, else nil (an option with no default).
    static func resolve(_ flag: String?, _ name: String) -> String? {
        flag ?? string(name)
    }

    /// The flag's value, else the variable's, else the default; a variable that does not parse is an error.
    static func resolve<T: ExpressibleByArgument>(_ flag: T?, _ name: String, default fallback: T) throws -> T {
        if let flag { return flag }
        guard let text = string(name) else { return fallback }
        guard let value = T(argument: text) else {
            throw ValidationError("AKTO_ACCESS_\(name)=\(text) is not a valid value")
        }
        return value
    }
}

/// Options every client subcommand shares.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: "The server's socket (env AKTO_ACCESS_SOCKET_PATH; default ./var/akto-access.sock).")
    var socketPath: String?

    @Option(name: .customShort("H"), help: "Metadata 'key: value' sent with the call; repeatable.")
    var header: [String] = []

    @Option(name: .long, help: "Seconds before the call's deadline (default 30).")
    var timeout: Double = 30

    var resolvedSocketPath: String {
        get throws { try Environment.resolve(socketPath, "SOCKET_PATH", default: Defaults.socketPath) }
    }
}

/// Defaults of the embedded configuration: everything under ./var.
enum Defaults {
    static let dataDirectory = "./var"
    static let socketPath = "./var/akto-access.sock"
}

extension StringProtocol {
    /// The text without leading and trailing spaces.
    var trimmingSpaces: String { trimmingCharacters(in: " ") }

    /// The text without leading and trailing characters of `set`.
    func trimmingCharacters(in set: String) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
