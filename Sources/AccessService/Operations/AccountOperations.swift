import AccessCore
import AccessRPC

extension AccessService {
    func registerAccountOperations(into registry: inout MethodRegistry) throws {
        try registry.register(
            Methods.AccountService.fetchAuditLogs, policy: OperationPolicy(.adminActions, .readWrite), service: self
        ) { request, caller, _ in
            guard request.beforeId >= 0 else { throw RPCError.invalidField("beforeId", "must not be negative") }
            guard (0...500).contains(request.limit) else { throw RPCError.invalidField("limit", "must be 0-500") }
            let rows = try await store.auditLog(
                accountID: caller.accountID, beforeID: request.beforeId, limit: request.limit == 0 ? 100 : Int(request.limit))
            return FetchAuditLogsResponse(
                auditLogs: rows.map { row in
                    AuditLogEntry(
                        id: row.id, actorUserId: row.entry.actorUserID ?? 0, actorEmail: row.entry.actorEmail,
                        accountId: row.entry.accountID ?? 0, operation: row.entry.operation, target: row.entry.target,
                        timestamp: row.entry.timestamp, transport: row.entry.transport, peer: row.entry.peer)
                },
                nextBeforeId: rows.last?.id ?? 0)
        }
    }
}
