import AccessCore
import AccessService
import ArgumentParser
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `akto-access admin …`: offline administration on the data directory.
struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Administer the data directory directly (no server needed).", subcommands: [Bootstrap.self])

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
            guard passwordStdin else { throw ValidationError("pass --password-stdin and the password on standard input") }
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
            do {
                let access = try AccessService(store: opened.store, configuration: try service.configuration())
                let created = try await access.bootstrap(email: email, name: name, organization: organization, password: line)
                await opened.close()
                print("created \(created.email) (user \(created.userID)) as ADMIN of account \(created.accountID)")
            } catch let error as RPCError {
                await opened.close()
                throw ValidationError(error.description)
            } catch {
                await opened.close()
                throw error
            }
        }
    }
}
