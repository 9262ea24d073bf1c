import AccessCore
import AccessRPC
import AccessWire
import Crypto
import GRDB
import Testing

@testable import AccessService
@testable import AccessSQLite

@Suite struct NotificationOperationsTests {
    let p256dh = Base64.encode(Array(P256.KeyAgreement.PrivateKey().publicKey.x963Representation), url: true)
    let auth = Base64.encode(Array(repeating: 7, count: 16), url: true)

    private func request(
        endpoint: String = "https://push.example.com/send/abc", p256dh: String? = nil, auth: String? = nil
    )
        -> SaveSubscriptionRequest
    {
        SaveSubscriptionRequest(
            subscription: PushSubscription(
                endpoint: endpoint, keys: PushSubscriptionKeys(p256dh: p256dh ?? self.p256dh, auth: auth ?? self.auth)))
    }

    @Test func savesAndUpsertsPerEndpoint() async throws {
        let h = try Harness()
        let session = h.bearer(try await h.signupAdmin().sessionToken)
        let answer = try await h.call(Methods.NotificationService.saveSubscription, request(), session)
        #expect(answer.subscription?.complete == true)
        _ = try await h.call(Methods.NotificationService.saveSubscription, request(), session)
        let rows = try await h.store.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM push_subscriptions")
        }
        #expect(rows == 1)
    }

    @Test func keepsTheTenNewestPerUser() async throws {
        let h = try Harness()
        let session = h.bearer(try await h.signupAdmin().sessionToken)
        for i in 0..<12 {
            h.clock.advance(1)
            _ = try await h.call(
                Methods.NotificationService.saveSubscription, request(endpoint: "https://push.example.com/\(i)"),
                session)
        }
        let endpoints = try await h.store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT endpoint FROM push_subscriptions ORDER BY endpoint")
        }
        #expect(endpoints.count == 10)
        #expect(!endpoints.contains("https://push.example.com/0") && !endpoints.contains("https://push.example.com/1"))
    }

    @Test(
        arguments: [
            ("http://push.example.com/x", nil, nil, "subscription.endpoint"),
            ("javascript:alert(1)", nil, nil, "subscription.endpoint"),
            ("https://user@push.example.com/x", nil, nil, "subscription.endpoint"),
            ("https://push.example.com/" + String(repeating: "a", count: 2048), nil, nil, "subscription.endpoint"),
            ("https://push.example.com/x", "AAAA", nil, "subscription.keys.p256dh"),
            (
                "https://push.example.com/x", Base64.encode([0x04] + Array(repeating: 1, count: 64), url: true), nil,
                "subscription.keys.p256dh"
            ),  // right length, not on the curve
            (
                "https://push.example.com/x", nil, Base64.encode(Array(repeating: 1, count: 15), url: true),
                "subscription.keys.auth"
            ),
        ] as [(String, String?, String?, String)])
    func validatesEveryField(endpoint: String, p256dh: String?, auth: String?, field: String) async throws {
        let h = try Harness()
        let session = h.bearer(try await h.signupAdmin().sessionToken)
        let error = try await #require(throws: RPCError.self) {
            try await h.call(
                Methods.NotificationService.saveSubscription, request(endpoint: endpoint, p256dh: p256dh, auth: auth),
                session)
        }
        #expect(error.violations.first?.field == field)
    }

    @Test func aMissingSubscriptionIsInvalid() async throws {
        let h = try Harness()
        let session = h.bearer(try await h.signupAdmin().sessionToken)
        #expect(
            try await h.code(Methods.NotificationService.saveSubscription, SaveSubscriptionRequest(), session)
                == .invalidArgument)
    }
}
