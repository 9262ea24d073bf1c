import AccessCore
import AccessWireTesting
import Testing

@testable import AccessWire

@Suite struct SchemaRegistryTests {
    init() { TestingSchemas.install() }

    @Test func readsNamesKindsAndMapsFromTheDescriptors() throws {
        let schema = try #require(SchemaRegistry.shared.message("akto.testing.v1.Everything"))
        let map = try #require(schema.field(named: "mString"))
        #expect(map.mapValue != nil && map.isRepeated)
        #expect(schema.field(named: "m_string")?.number == 25)
        #expect(schema.field(named: "maybe")?.hasPresence == true)
        #expect(schema.field(named: "fInt32")?.hasPresence == false)
        #expect(schema.field(named: "fInner")?.hasPresence == true)
    }

    @Test func knowsEveryServiceMethodOfTheContract() {
        let paths = Set(SchemaRegistry.shared.methods.map { "/\($0.service)/\($0.method)" })
        for path in [
            "/akto.rpc.v1.Health/Check", "/akto.rpc.v1.Reflection/ListMethods",
            "/akto.access.v1.RoleService/CreateCustomRole", "/akto.access.v1.SessionService/Logout",
            "/akto.access.v1.BillingService/ProvisionSubscription",
            "/akto.access.v1.NotificationService/SaveSubscription",
        ] {
            #expect(paths.contains(path), "\(path)")
        }
        // The 18 operations plus the supporting ones.
        #expect(paths.count >= 18 + 19 + 2)
    }

    @Test func everyMethodSpecMatchesItsDescriptor() {
        let specs =
            Methods.SessionService.all + Methods.AccountService.all + Methods.TeamService.all
            + Methods.RoleService.all + Methods.TokenService.all + Methods.InventoryService.all + Methods.JobService.all
            + Methods.BillingService.all + Methods.NotificationService.all + Methods.DecisionService.all
            + Methods.Health.all + Methods.Reflection.all
        let byPath = Dictionary(
            uniqueKeysWithValues: SchemaRegistry.shared.methods.map { ("/\($0.service)/\($0.method)", $0) })
        #expect(specs.count == byPath.count)
        for spec in specs {
            #expect(byPath[spec.path]?.request.fullName == spec.requestType)
            #expect(byPath[spec.path]?.response.fullName == spec.responseType)
        }
    }
}
