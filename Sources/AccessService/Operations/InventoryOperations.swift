import AccessCore
import AccessRPC

extension AccessService {
    /// Most samples one RecordTrafficSamples call may carry.
    static let maxSamplesPerBatch = 1000
    static let httpMethods: Set<String> = [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT",
    ]
    static let contexts: Set<String> = ["API", "MCP", "GEN_AI", "ENDPOINT"]

    func registerInventoryOperations(into registry: inout MethodRegistry) throws {
        try registry.register(
            Methods.InventoryService.createCollection, policy: OperationPolicy(.inventory, .readWrite), service: self
        ) { request, caller, context in
            let name = request.collectionName.trimmed
            guard (1...100).contains(name.count),
                !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            else {
                throw RPCError.invalidField("collectionName", "must be 1-100 characters without control characters")
            }
            let host = request.hostName.trimmed.lowercased()
            guard host.count <= 253,
                host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-:".contains($0)) })
            else {
                throw RPCError.invalidField("hostName", "must be a host name of at most 253 characters")
            }
            let contextSource =
                request.contextSource.trimmed.isEmpty ? "API" : request.contextSource.trimmed.uppercased()
            guard Self.contexts.contains(contextSource) else {
                throw RPCError.invalidField("contextSource", "must be one of API, MCP, GEN_AI, ENDPOINT")
            }
            let created = try await store.createCollection(
                accountID: caller.accountID, name: name, hostName: host, contextSource: contextSource, now: now,
                audit: audit(caller, context, "CreateCollection"))
            return CreateCollectionResponse(apiCollection: wire(created, components: nil))
        }
        try registry.register(
            Methods.InventoryService.recordTrafficSamples,
            policy: OperationPolicy(.inventory, .readWrite, isIngest: true), service: self
        ) { request, caller, context in
            guard !request.samples.isEmpty else { throw RPCError.invalidField("samples", "must not be empty") }
            guard request.samples.count <= Self.maxSamplesPerBatch else {
                throw RPCError.invalidField("samples", "at most \(Self.maxSamplesPerBatch) per call")
            }
            let samples = try request.samples.enumerated().map { try validated($1, index: $0) }
            for (index, sample) in samples.enumerated() where !caller.mayUse(collection: sample.collectionID) {
                throw RPCError(
                    .permissionDenied,
                    "samples[\(index)]: role \(caller.roleName) may not use collection \(sample.collectionID)",
                    violations: [
                        FieldViolation(
                            field: "samples[\(index)].apiCollectionId",
                            description: "is outside your role's collections")
                    ])
            }
            let recorded = try await store.recordSamples(
                accountID: caller.accountID, samples: samples, now: now,
                audit: audit(caller, context, "RecordTrafficSamples"))
            return RecordTrafficSamplesResponse(
                accepted: Int32(recorded.accepted), newComponents: Int32(recorded.newComponents))
        }
        try registry.register(
            Methods.InventoryService.getCollections, policy: OperationPolicy(.inventory, .read), service: self
        ) { request, caller, _ in
            let collections = try await store.collections(accountID: caller.accountID).filter {
                caller.mayUse(collection: $0.id)
            }
            var components: [Int32: [ApiComponentRecord]] = [:]
            if request.includeComponents {
                for component in try await store.components(accountID: caller.accountID) {
                    components[component.collectionID, default: []].append(component)
                }
            }
            return GetCollectionsResponse(
                apiCollections: collections.map {
                    wire($0, components: request.includeComponents ? components[$0.id] ?? [] : nil)
                })
        }
        try registry.register(
            Methods.AccountService.updatePrivateCidrIps,
            policy: OperationPolicy(.adminActions, .readWrite, isAccountWide: true), service: self
        ) { request, caller, context in
            let mask = try UpdateMask(
                request.updateMask, known: ["private_cidr_list"], message: "UpdatePrivateCidrIpsRequest")
            guard mask.carries("private_cidr_list", isSet: !request.privateCidrList.isEmpty) else {
                // Nothing carried: nothing changes (clearing the list is `"privateCidrList": []` over HTTP).
                return UpdatePrivateCidrIpsResponse(
                    privateCidrList: try await store.settings(accountID: caller.accountID).privateCIDRs)
            }
            let cidrs = try networks(request.privateCidrList, field: "privateCidrList", requirePrefix: true)
            try await store.updatePrivateCIDRs(
                accountID: caller.accountID, cidrs: cidrs, audit: audit(caller, context, "UpdatePrivateCidrIps"))
            return UpdatePrivateCidrIpsResponse(privateCidrList: cidrs)
        }
        try registry.register(
            Methods.AccountService.updatePartnerIps,
            policy: OperationPolicy(.adminActions, .readWrite, isAccountWide: true), service: self
        ) { request, caller, context in
            let mask = try UpdateMask(
                request.updateMask, known: ["partner_ip_list"], message: "UpdatePartnerIpsRequest")
            guard mask.carries("partner_ip_list", isSet: !request.partnerIpList.isEmpty) else {
                return UpdatePartnerIpsResponse(
                    partnerIpList: try await store.settings(accountID: caller.accountID).partnerIPs)
            }
            let entries = try networks(request.partnerIpList, field: "partnerIpList", requirePrefix: false)
            try await store.updatePartnerIPs(
                accountID: caller.accountID, entries: entries, audit: audit(caller, context, "UpdatePartnerIps"))
            return UpdatePartnerIpsResponse(partnerIpList: entries)
        }
        try registry.register(
            Methods.AccountService.fetchAdminSettings,
            policy: OperationPolicy(.adminActions, .read, isAccountWide: true), service: self
        ) { _, caller, _ in
            let settings = try await store.settings(accountID: caller.accountID)
            let account = try await store.account(id: caller.accountID)
            let organization = try await store.organization(id: caller.organizationID)
            return FetchAdminSettingsResponse(
                accountSettings: AccountSettings(
                    privateCidrList: settings.privateCIDRs, partnerIpList: settings.partnerIPs,
                    timezone: settings.timezone,
                    id: caller.accountID),
                organization: organization.map {
                    OrganizationInfo(id: $0.id, name: $0.name, adminEmail: $0.adminEmail)
                },
                currentAccount: CurrentAccount(
                    id: caller.accountID, name: account?.name ?? "", timezone: settings.timezone))
        }
        try registry.register(
            Methods.InventoryService.applyAccessType, policy: OperationPolicy(.adminActions, .readWrite), service: self
        ) { _, caller, context in
            try caller.requireAllCollections("ApplyAccessType")
            let job = try await store.enqueue(
                kind: .applyAccessType, accountID: caller.accountID, now: now,
                runAfter: now + configuration.jobCoalesceSeconds, audit: audit(caller, context, "ApplyAccessType"))
            return ApplyAccessTypeResponse(jobId: job.job.id)
        }
        try registry.register(
            Methods.InventoryService.resetCollectionAccessTypes, policy: OperationPolicy(.inventory, .readWrite),
            service: self
        ) { _, caller, context in
            try caller.requireAllCollections("ResetCollectionAccessTypes")
            let job = try await store.enqueue(
                kind: .resetCollectionAccessTypes, accountID: caller.accountID, now: now,
                runAfter: now + configuration.jobCoalesceSeconds,
                audit: audit(caller, context, "ResetCollectionAccessTypes"))
            return ResetCollectionAccessTypesResponse(
                jobId: job.job.id, started: true,
                message: job.isNew
                    ? "collection access types are being recomputed" : "a recomputation is already queued")
        }
        try registry.register(
            Methods.BillingService.refreshUsageDataForOrg, policy: OperationPolicy(.billing, .readWrite), service: self
        ) { _, caller, context in
            guard try await store.organization(id: caller.organizationID) != nil else {
                throw RPCError(.notFound, "the account's organization does not exist")
            }
            let job = try await store.enqueue(
                kind: .refreshUsageData, accountID: caller.accountID, now: now,
                runAfter: now + configuration.jobCoalesceSeconds,
                audit: audit(caller, context, "RefreshUsageDataForOrg"))
            return RefreshUsageDataForOrgResponse(jobId: job.job.id)
        }
        try registry.register(
            Methods.BillingService.getUsage, policy: OperationPolicy(.billing, .read), service: self
        ) { _, caller, _ in
            let entitlements = try await store.entitlements(organizationID: caller.organizationID)
            let usage = try await store.latestUsage(organizationID: caller.organizationID)
            return GetUsageResponse(
                organizationId: caller.organizationID,
                entitlements: entitlements.map {
                    Entitlement(
                        featureLabel: $0.featureLabel, isGranted: $0.isGranted, usageLimit: $0.usageLimit,
                        usage: $0.usage,
                        overageFirstDetected: $0.overageFirstDetected)
                },
                usage: usage.map {
                    UsageMetric(accountId: $0.accountID, metric: $0.metric, value: $0.value, measuredAt: $0.measuredAt)
                })
        }
        try registry.register(Methods.JobService.getJob, policy: OperationPolicy(.userActions, .read), service: self) {
            request, caller, _ in
            guard let job = try await store.job(id: request.jobId, accountID: caller.accountID) else {
                throw RPCError(.notFound, "no job \(request.jobId) in this account")
            }
            return GetJobResponse(
                job: Job(
                    id: job.id, kind: job.kind.rawValue, accountId: job.accountID, state: job.state.rawValue,
                    attempts: job.attempts, result: job.result, error: job.error, createdAt: job.createdAt,
                    updatedAt: job.updatedAt, finishedAt: job.finishedAt))
        }
    }

    /// A sample checked field by field; the `samples[i].field` path names any problem.
    func validated(_ sample: TrafficSample, index: Int) throws -> TrafficSampleInput {
        let path = "samples[\(index)]"
        let method = sample.method.trimmed.uppercased()
        guard Self.httpMethods.contains(method) else {
            throw RPCError.invalidField("\(path).method", "is not an HTTP method")
        }
        let url = sample.url.trimmed
        guard (1...2048).contains(url.count),
            url.hasPrefix("/") || url.hasPrefix("http://") || url.hasPrefix("https://"),
            !url.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F })
        else { throw RPCError.invalidField("\(path).url", "must be a path or http(s) URL of at most 2048 characters") }
        for (field, value) in [("sourceIp", sample.sourceIp), ("destinationIp", sample.destinationIp)]
        where value.count > 64 {
            throw RPCError.invalidField("\(path).\(field)", "must be at most 64 characters")
        }
        let direction = sample.direction.trimmed.uppercased()
        guard direction == "INCOMING" || direction == "OUTGOING" else {
            throw RPCError.invalidField("\(path).direction", "must be INCOMING or OUTGOING")
        }
        guard sample.headers.count <= 32 else { throw RPCError.invalidField("\(path).headers", "at most 32 headers") }
        var headers: [String: String] = [:]
        for (name, value) in sample.headers {
            guard (1...64).contains(name.count), value.count <= 1024 else {
                throw RPCError.invalidField("\(path).headers", "names must be 1-64 and values at most 1024 characters")
            }
            headers[name.lowercased()] = value
        }
        return TrafficSampleInput(
            collectionID: sample.apiCollectionId, method: method, url: url,
            observation: TrafficObservation(
                sourceIP: sample.sourceIp, destinationIP: sample.destinationIp, isOutgoing: direction == "OUTGOING",
                headers: headers),
            timestamp: sample.timestamp > 0 ? sample.timestamp : now)
    }

    /// Validated, canonical, de-duplicated networks (order kept); at most 1000.
    func networks(_ raw: [String], field: String, requirePrefix: Bool) throws -> [String] {
        guard raw.count <= 1000 else { throw RPCError.invalidField(field, "at most 1000 entries") }
        var seen: Set<String> = []
        var out: [String] = []
        for (index, value) in raw.enumerated() {
            let text = value.trimmed
            guard let network = IPNetwork(text), !requirePrefix || text.contains("/") else {
                throw RPCError.invalidField(
                    "\(field)[\(index)]",
                    requirePrefix ? "must be an IPv4 or IPv6 CIDR such as 10.0.0.0/8" : "must be an IP or a CIDR")
            }
            let canonical = text.contains("/") ? network.description : network.address.description
            if seen.insert(canonical).inserted { out.append(canonical) }
        }
        return out
    }

    func wire(_ collection: ApiCollectionRecord, components: [ApiComponentRecord]?) -> ApiCollection {
        ApiCollection(
            id: collection.id, name: collection.name, hostName: collection.hostName, accessType: collection.accessType,
            contextSource: collection.contextSource, startTs: collection.createdAt,
            urlsCount: collection.componentCount,
            components: (components ?? []).map {
                ApiComponent(method: $0.method, url: $0.url, accessTypes: $0.accessTypes, lastSeen: $0.lastSeen)
            })
    }
}
