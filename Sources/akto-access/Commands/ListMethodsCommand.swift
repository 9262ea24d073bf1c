import AccessCore
import AccessWire
import ArgumentParser

/// `akto-access methods`: what the running server answers (Reflection/ListMethods).
struct ListMethodsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "methods", abstract: "List the methods the running server answers.")

    @OptionGroup var options: ClientOptions
    @Flag(help: "Print the JSON response instead of a table.")
    var json = false

    func run() async throws {
        let response = try await Requester.call(
            options, method: Methods.Reflection.listMethods.path, payload: try MessageCodec.encode(ListMethodsRequest())
        )
        let list = try MessageCodec.decode(ListMethodsResponse.self, from: response.payload)
        if json {
            let schema = try MessageCodec.schema(for: ListMethodsResponse.self)
            print(try MessageCodec.wireToJSON(response.payload, schema: schema).serialized(pretty: true))
            return
        }
        let width = list.methods.map(\.name.count).max() ?? 0
        for method in list.methods {
            let padded = method.name + String(repeating: " ", count: width - method.name.count)
            let auth = method.requiresAuth ? "auth" : "open"
            print("\(padded)  \(auth)  \(method.requestType) -> \(method.responseType)  \(method.httpPath)")
        }
    }
}
