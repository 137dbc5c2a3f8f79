#if canImport(Glibc)
    import Glibc
#endif

/// The few raw socket calls the proxy makes, each retrying `EINTR` and reporting
/// failure as an errno value (swift-nio's `System.swift` habit).
public enum Socket {
    /// A syscall failure: the call's name and errno.
    public struct Failure: Error, CustomStringConvertible {
        public var call: String
        public var code: Int32
        public var description: String { "\(call) failed: \(Socket.describe(code))" }
    }

    /// glibc's text for `code` (`strerror`): the words nutcracker puts after
    /// `SERVER_ERROR`.
    public static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    /// A resolved socket address of any family, kept by value.
    public struct Address: @unchecked Sendable {
        // Why @unchecked: sockaddr_storage is a plain C value with no references.
        var storage = sockaddr_storage()
        var length: socklen_t = 0
        public var family: Int32 { Int32(storage.ss_family) }
    }

    /// Resolves `host`:`port` for a TCP connection or listener (`getaddrinfo`); the first
    /// result wins, as in nutcracker.
    public static func resolve(host: String, port: Int) -> Result<Address, ResolveFailure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>? = nil
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let first = result else {
            return .failure(ResolveFailure(host: host, port: port, message: String(cString: gai_strerror(status))))
        }
        defer { freeaddrinfo(result) }
        var address = Address()
        address.length = first.pointee.ai_addrlen
        withUnsafeMutableBytes(of: &address.storage) { storage in
            storage.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
        return .success(address)
    }

    /// Why resolution failed.
    public struct ResolveFailure: Error, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var message: String
        public var description: String { "address resolution of node '\(host)' service '\(port)' failed: \(message)" }
    }

    /// A unix-domain address for `path`.
    public static func unixAddress(path: String) -> Address? {
        var address = Address()
        var sun = sockaddr_un()
        sun.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: sun.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &sun.sun_path) { $0.copyBytes(from: bytes) }
        withUnsafeMutableBytes(of: &address.storage) { storage in
            withUnsafeBytes(of: &sun) { storage.copyMemory(from: $0) }
        }
        address.length = socklen_t(MemoryLayout<sockaddr_un>.size)
        return address
    }

    /// Starts a non-blocking connect. Returns the fd (the connect may still be in
    /// progress: wait for writability, then check `pendingError`).
    public static func connect(to address: Address) -> Result<Int32, Failure> {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(Failure(call: "socket", code: errno)) }
        if address.family != AF_UNIX { setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1) }
        var storage = address.storage
        var status: Int32
        repeat {
            status = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, address.length) }
            }
        } while status < 0 && errno == EINTR
        if status < 0 && errno != EINPROGRESS {
            let code = errno
            close(fd)
            return .failure(Failure(call: "connect", code: code))
        }
        return .success(fd)
    }

    /// The error a finished non-blocking connect left on `fd` (`SO_ERROR`), 0 if none.
    public static func pendingError(_ fd: Int32) -> Int32 {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) < 0 { return errno }
        return code
    }

    /// Creates a listening socket on `address`: non-blocking, SO_REUSEADDR, and
    /// SO_REUSEPORT when `reusePort` (so every worker can have its own and the kernel
    /// spreads connections).
    public static func listen(on address: Address, backlog: Int, reusePort: Bool) -> Result<Int32, Failure> {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(Failure(call: "socket", code: errno)) }
        if address.family != AF_UNIX {
            setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            if reusePort { setOption(fd, SOL_SOCKET, SO_REUSEPORT, 1) }
        }
        var storage = address.storage
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, address.length) }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            return .failure(Failure(call: "bind", code: code))
        }
        guard Glibc.listen(fd, Int32(clamping: backlog)) == 0 else {
            let code = errno
            close(fd)
            return .failure(Failure(call: "listen", code: code))
        }
        return .success(fd)
    }

    /// Accepts one connection and makes it non-blocking and close-on-exec; -errno when
    /// none is waiting. (`accept4` would save the two `fcntl`s, but glibc declares it only
    /// under `_GNU_SOURCE`, which the Clang module for libc does not see.)
    public static func accept(_ listener: Int32) -> Int32 {
        var fd: Int32
        repeat {
            fd = Glibc.accept(listener, nil, nil)
        } while fd < 0 && errno == EINTR
        if fd < 0 { return -errno }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return fd
    }

    /// Sets an integer socket option.
    @discardableResult
    public static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) -> Bool {
        var value = value
        return setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) == 0
    }

    /// Closes `fd`.
    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }
}
