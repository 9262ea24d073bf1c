// Decisions: DecisionService/Authorize by API key over the socket (beside Health and the C ping-pong), and
// forward-auth — nginx `auth_request` to the gateway's /auth/check — beside the same nginx proxying without it.
import AccessClient
import AccessCore
import AccessWire
import Foundation

/// Authorize about the call's own key: INVENTORY READ (allowed for the benchmark's ADMIN key).
func makeAuthorizeCall() throws -> @Sendable (AccessClient) async -> Bool {
    let payload = try MessageCodec.encode(AuthorizeRequest(check: DecisionCheck(feature: "INVENTORY", access: "READ")))
    return { client in
        let result = await client.call(method: Methods.DecisionService.authorize.path, payload: payload)
        guard result.status.code == .ok, let answer = try? MessageCodec.decode(AuthorizeResponse.self, from: result.payload)
        else { return false }
        return answer.decision?.allowed == true
    }
}

/// An nginx on two ports in front of a `return 200` upstream: `plain` proxies, `checked` asks /auth/check first.
struct NginxPair {
    let process: Process
    let plain: Int
    let checked: Int
    var pid: Int32 { process.processIdentifier }

    static func start(gatewayPort: Int, directory: String) throws -> NginxPair? {
        guard let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"].first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else { return nil }
        let folder = directory + "/nginx"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let (upstream, plain, checked) = (try freePort(), try freePort(), try freePort())
        let user = getuid() == 0 ? "user root;\n" : ""
        try """
            \(user)worker_processes 1;
            pid \(folder)/nginx.pid;
            error_log \(folder)/error.log error;
            events { worker_connections 4096; }
            http {
                access_log off;
                client_body_temp_path \(folder)/body; proxy_temp_path \(folder)/proxy; fastcgi_temp_path \(folder)/fcgi;
                uwsgi_temp_path \(folder)/uwsgi; scgi_temp_path \(folder)/scgi;
                upstream app { server 127.0.0.1:\(upstream); keepalive 64; }
                upstream akto { server 127.0.0.1:\(gatewayPort); keepalive 64; }
                server { listen 127.0.0.1:\(upstream); location / { return 200 "ok"; } }
                server {
                    listen 127.0.0.1:\(plain);
                    location / { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://app; }
                }
                server {
                    listen 127.0.0.1:\(checked);
                    location = /_akto_auth {
                        internal;
                        proxy_http_version 1.1; proxy_set_header Connection "";
                        proxy_pass http://akto/auth/check;
                        proxy_pass_request_body off;
                        proxy_set_header Content-Length "";
                        proxy_set_header X-Original-URI $request_uri;
                        proxy_set_header X-Original-Method $request_method;
                    }
                    location / {
                        auth_request /_akto_auth;
                        auth_request_set $akto_user_id $upstream_http_x_akto_user_id;
                        proxy_set_header X-Akto-User-Id $akto_user_id;
                        proxy_http_version 1.1; proxy_set_header Connection "";
                        proxy_pass http://app;
                    }
                }
            }
            """.write(toFile: folder + "/nginx.conf", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: nginx)
        process.arguments = ["-p", folder, "-c", folder + "/nginx.conf", "-g", "daemon off;"]
        try process.run()
        usleep(500_000)
        return NginxPair(process: process, plain: plain, checked: checked)
    }
}

/// GET through nginx with the API key, wrk-driven; CPU is akto-access's (0 for the plain proxy's case).
func driveNginx(port: Int, apiKey: String, serverPID: Int32, seconds: Double, connections: Int, directory: String) throws
    -> Measured
{
    let script = directory + "/nginx-get.lua"
    try """
        wrk.method = "GET"
        wrk.headers["x-api-key"] = "\(apiKey)"
        """.write(toFile: script, atomically: true, encoding: .utf8)
    let threads = min(2, connections)
    let target = "http://127.0.0.1:\(port)/inventory/collections"
    _ = try run(["wrk", "-t\(threads)", "-c\(connections)", "-d1s", "-s", script, target])
    let cpuBefore = cpuMicros(pid: serverPID)
    let output = try run([
        "wrk", "-t\(threads)", "-c\(connections)", "-d\(max(1, Int(seconds.rounded())))s", "--latency", "-s", script, target,
    ])
    return try parseWrk(output, serverCPU: cpuMicros(pid: serverPID) - cpuBefore)
}
