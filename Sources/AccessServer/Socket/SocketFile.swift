import AccessCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The socket file's life: refuse a path a live server owns, clear a stale one, and remove ours at exit.
public enum SocketFile {
    /// Longest path a `sockaddr_un` holds (without the terminating NUL).
    static let maxPathLength = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// Makes `path` free for `bind`: fails when it is too long, is not a socket, or a server answers on it;
    /// removes it when it is a socket nobody listens on.
    static func prepare(_ path: String) throws {
        guard !path.isEmpty, path.utf8.count <= maxPathLength else {
            throw RPCError(.invalidArgument, "socket path must be 1-\(maxPathLength) bytes: \(path)")
        }
        var info = stat()
        guard lstat(path, &info) == 0 else { return }  // nothing there
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw RPCError(.failedPrecondition, "\(path) exists and is not a socket; refusing to replace it")
        }
        if isLive(path) {
            throw RPCError(.failedPrecondition, "another server is listening on \(path)")
        }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw RPCError(.failedPrecondition, "cannot remove the stale socket \(path): errno \(errno)")
        }
    }

    /// True when a process accepts connections on the socket at `path` (also used by `admin` commands that
    /// must not run beside a server).
    public static func isLive(_ path: String) -> Bool {
        #if canImport(Glibc)
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(maxPathLength))
            raw.copyBytes(from: bytes)
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0
    }

    /// Runs `body` with a umask that keeps new files to `mode` at most, so the socket is never wider.
    static func withRestrictiveUmask<T>(mode: UInt16, _ body: () async throws -> T) async rethrows -> T {
        let previous = umask(mode_t(~mode & 0o777))
        defer { umask(previous) }
        return try await body()
    }

    /// Sets the socket file's mode exactly.
    static func setMode(_ path: String, mode: UInt16) throws {
        guard chmod(path, mode_t(mode)) == 0 else {
            throw RPCError(.failedPrecondition, "cannot chmod \(path): errno \(errno)")
        }
    }

    /// Removes the socket file if it is still a socket.
    static func remove(_ path: String) {
        var info = stat()
        if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK { unlink(path) }
    }
}
