import AccessCore
import AccessRPC
import Crypto

extension AccessService {
    func registerNotificationOperations(into registry: inout MethodRegistry) throws {
        try registry.register(
            Methods.NotificationService.saveSubscription,
            policy: OperationPolicy(.userActions, .readWrite, sessionOnly: true), service: self
        ) { request, caller, context in
            try await saveSubscription(request, caller, context)
        }
    }

    /// SaveSubscription (16): a validated web-push subscription, upserted per (user, endpoint).
    func saveSubscription(_ request: SaveSubscriptionRequest, _ caller: Caller, _ context: CallContext) async throws
        -> SaveSubscriptionResponse
    {
        guard let subscription = request.subscription else {
            throw RPCError.invalidField("subscription", "is required")
        }
        let endpoint = subscription.endpoint.trimmed
        guard endpoint.count <= 2048, RedirectPolicy.origin(of: endpoint)?.hasPrefix("https://") == true else {
            throw RPCError.invalidField("subscription.endpoint", "must be an https URL of at most 2048 characters")
        }
        guard let keys = subscription.keys else { throw RPCError.invalidField("subscription.keys", "is required") }
        guard let p256dh = Base64.decode(keys.p256dh), p256dh.count == 65, p256dh.first == 0x04,
            (try? P256.KeyAgreement.PublicKey(x963Representation: p256dh)) != nil
        else {
            throw RPCError.invalidField("subscription.keys.p256dh", "must be a base64url uncompressed P-256 public key")
        }
        guard let auth = Base64.decode(keys.auth), auth.count == 16 else {
            throw RPCError.invalidField("subscription.keys.auth", "must be 16 bytes in base64url")
        }
        if let expiration = subscription.expirationTime, expiration < 0 {
            throw RPCError.invalidField("subscription.expirationTime", "must not be negative")
        }
        try await store.saveSubscription(
            userID: caller.userID, endpoint: endpoint, p256dh: p256dh, auth: auth,
            expirationTime: subscription.expirationTime, now: now,
            maxPerUser: configuration.maxPushSubscriptionsPerUser, audit: audit(caller, context, "SaveSubscription"))
        return SaveSubscriptionResponse(subscription: SubscriptionStatus(complete: true))
    }
}
