import AccessCore
import AccessPostgres
import AccessServer
import AccessService
import AccessSQLite
import Foundation
import ArgumentParser
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// `akto-access admin …`: offline administration on the data directory.
struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Administer the data directory directly (no server needed).",
        subcommands: [Bootstrap.self, CopyToPostgres.self])

    /// `admin bootstrap`: creates the first user, organization and account of an empty install.
    struct Bootstrap: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the first ADMIN user of an empty install (the password is read from standard input).")

        @Option(help: "The admin's e-mail.") var email: String
        @Option(help: "The admin's display name (default: the e-mail's local part).") var name: String = ""
        @Option(help: "The organization's name.") var organization: String = "My organization"
        @Flag(help: "Read the password from standard input (required: passwords never go on the command line).")
        var passwordStdin = false
        @Option(help: "Data directory (env AKTO_ACCESS_DATA_DIR; default ./var).") var dataDir: String?
        @OptionGroup var service: ServiceOptions

        func run() async throws {
            guard passwordStdin else {
                throw ValidationError("pass --password-stdin and the password on standard input")
            }
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw ValidationError("no password on standard input")
            }
            let dataDirectory = try Environment.resolve(dataDir, "DATA_DIR", default: Defaults.dataDirectory)
            if mkdir(dataDirectory, 0o700) != 0 && errno != EEXIST {
                throw ValidationError("cannot create the data directory \(dataDirectory)")
            }
            var logger = Logger(label: "akto-access.admin")
            logger.logLevel = .warning
            let opened = try await service.openStore(dataDirectory: dataDirectory, logger: logger)
            let configuration = try service.configuration()
            do {
                let created = try await opened.withRunning { store in
                    let access = try AccessService(store: store, configuration: configuration)
                    return try await access.bootstrap(
                        email: email, name: name, organization: organization, password: line)
                }
                print("created \(created.email) (user \(created.userID)) as ADMIN of account \(created.accountID)")
            } catch let error as RPCError {
                throw ValidationError(error.description)
            }
        }
    }

    /// `admin copy-to-postgres`: moves a single-machine install (its SQLite file) to PostgreSQL for scale-out.
    struct CopyToPostgres: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "copy-to-postgres",
            abstract: "Copy every row of the SQLite store in the data directory into an empty PostgreSQL database.",
            discussion: """
                Stop the server first. The target database gets the schema (migrations) and then every row, ids
                included, in one transaction; it must be empty. Then start the servers with the database URL.
                """)

        @Option(help: "Data directory holding akto-access.sqlite (env AKTO_ACCESS_DATA_DIR; default ./var).")
        var dataDir: String?
        @Option(help: "Target: postgres://user:password@host:5432/db; prefer the env AKTO_ACCESS_DATABASE_URL.")
        var databaseUrl: String?

        func run() async throws {
            let dataDirectory = try Environment.resolve(dataDir, "DATA_DIR", default: Defaults.dataDirectory)
            let url = try Environment.resolve(databaseUrl, "DATABASE_URL", default: "")
            guard !url.isEmpty else {
                throw ValidationError("give the target with --database-url or AKTO_ACCESS_DATABASE_URL")
            }
            let file = dataDirectory + "/akto-access.sqlite"
            guard FileManager.default.fileExists(atPath: file) else {
                throw ValidationError("there is no \(file) to copy")
            }
            if SocketFile.isLive(dataDirectory + "/akto-access.sock") {
                throw ValidationError(
                    "a server is running on \(dataDirectory); stop it first so that nothing changes during the copy")
            }
            let configuration: PostgresConfiguration
            do {
                configuration = try PostgresConfiguration(url: url)
            } catch let error as RPCError {
                throw ValidationError("--database-url: \(error.message)")
            }
            var logger = Logger(label: "akto-access.admin")
            logger.logLevel = .warning
            let source = try SQLiteAccountStore(configuration: SQLiteConfiguration(path: file))
            let target = try await PostgresAccountStore.connect(configuration: configuration, logger: logger)
            do {
                let started = ContinuousClock.now
                let copied = try await target.copy(from: source)
                await target.shutdown()
                for (table, rows) in copied { print("\(table): \(rows)") }
                print(
                    "copied \(copied.reduce(0) { $0 + $1.rows }) rows to \(configuration.redacted) in \(ContinuousClock.now - started)"
                )
            } catch let error as RPCError {
                await target.shutdown()
                throw ValidationError(error.description)
            } catch {
                await target.shutdown()
                throw error
            }
        }
    }
}
