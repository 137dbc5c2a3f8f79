#if canImport(Glibc)
    import Glibc
#endif

/// The stats listeners, each served by its own thread with blocking calls (a handful
/// of connections a minute; nothing here touches the data path):
/// - nutcracker's: on every connection, one JSON document, then close (the request,
///   if any, is not read: collectors that just connect keep working);
/// - Prometheus: a minimal HTTP/1.0 server answering `GET /metrics`.
public final class StatsServer: @unchecked Sendable {
    // Why @unchecked: the cached snapshot is guarded by `lock`; the rest is immutable.
    private let proxy: Proxy
    private let intervalMilliseconds: Int
    private let source: String
    private var lock = pthread_mutex_t()
    private var cached: StatsSnapshot?
    private var cachedAt = 0

    /// Serves stats for `proxy`, re-aggregating at most every `interval` ms (`-i`).
    public init(proxy: Proxy, intervalMilliseconds: Int) {
        self.proxy = proxy
        self.intervalMilliseconds = intervalMilliseconds
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        source = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        pthread_mutex_init(&lock, nil)
    }

    /// Binds `address`:`port` for nutcracker's JSON; throws with nutcracker's wording.
    public func listenJSON(address: String, port: Int) throws(Proxy.StartError) {
        let fd = try bind(address: address, port: port, what: "stats server")
        serve(fd) { [self] connection in
            let document = Array(snapshot().nutcrackerJSON(source: source).utf8)
            StatsServer.sendAll(connection, document)
        }
    }

    /// Binds `address`:`port` for Prometheus text exposition at `/metrics`.
    public func listenPrometheus(address: String, port: Int) throws(Proxy.StartError) {
        let fd = try bind(address: address, port: port, what: "metrics server")
        serve(fd) { [self] connection in
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let request = StatsServer.readHead(connection)
            let line = request.split(separator: "\r\n", maxSplits: 1).first.map(String.init) ?? ""
            let parts = line.split(separator: " ")
            let response: String
            if parts.count >= 2 && parts[0] == "GET" && (parts[1] == "/metrics" || parts[1].hasPrefix("/metrics?")) {
                let body = snapshot().prometheusText()
                response = "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                    + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
            } else {
                let body = "not found: try GET /metrics\n"
                response = "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n"
                    + "Connection: close\r\n\r\n" + body
            }
            StatsServer.sendAll(connection, Array(response.utf8))
        }
    }

    /// The counters, re-aggregated when the cached copy is older than `-i`.
    func snapshot() -> StatsSnapshot {
        let now = MonotonicClock().now
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        if let cached, now - cachedAt < intervalMilliseconds { return cached }
        let fresh = proxy.snapshot()
        cached = fresh
        cachedAt = now
        return fresh
    }

    private func bind(address: String, port: Int, what: String) throws(Proxy.StartError) -> Int32 {
        let resolved: Socket.Address
        switch Socket.resolve(host: address, port: port) {
        case .success(let value): resolved = value
        case .failure(let failure): throw Proxy.StartError(description: "\(what): \(failure)")
        }
        switch Socket.listen(on: resolved, backlog: 128, reusePort: false) {
        case .success(let fd):
            // The serving thread blocks in accept; the socket must block too.
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
            return fd
        case .failure(let failure):
            throw Proxy.StartError(
                description: "bind on \(what) addr '\(address):\(port)' failed: \(Socket.describe(failure.code))")
        }
    }

    /// Runs `handle` for each accepted connection on a thread of its own, forever.
    private func serve(_ listener: Int32, _ handle: @escaping @Sendable (Int32) -> Void) {
        final class Job: @unchecked Sendable {
            let listener: Int32
            let handle: @Sendable (Int32) -> Void
            init(_ listener: Int32, _ handle: @escaping @Sendable (Int32) -> Void) {
                self.listener = listener
                self.handle = handle
            }
        }
        var thread = pthread_t()
        let context = Unmanaged.passRetained(Job(listener, handle)).toOpaque()
        pthread_create(&thread, nil, { context in
            let job = Unmanaged<Job>.fromOpaque(context!).takeRetainedValue()
            while true {
                let connection = accept(job.listener, nil, nil)
                if connection < 0 {
                    if errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE { usleep(1000) }
                    continue
                }
                job.handle(connection)
                close(connection)
            }
        }, context)
        pthread_detach(thread)
    }

    private static func sendAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 && errno == EINTR { continue }
            if sent <= 0 { return }
            offset += sent
        }
    }

    /// An HTTP request head (up to the blank line, at most 8 KiB).
    private static func readHead(_ fd: Int32) -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 2048)
        while bytes.count < 8192 {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count <= 0 { break }
            bytes += chunk[0..<count]
            if bytes.count >= 4 && bytes.suffix(4) == [13, 10, 13, 10] { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
