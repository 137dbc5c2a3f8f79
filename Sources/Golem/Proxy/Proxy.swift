import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The whole proxy: binds every pool's listen address, runs the workers, sums their
/// counters for the stats listeners, and stops them gracefully.
public final class Proxy: @unchecked Sendable {
    // Why @unchecked: `workers` is written once by `start()` before any other thread
    // reads it; everything else is immutable or atomic.

    /// Why the proxy could not start.
    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    private let pools: [SharedPool]
    private let threadCount: Int
    private var workers: [Worker] = []
    private var listenFDs: Set<Int32> = []
    let log: Logger
    private let startTime = time(nil)

    /// A proxy for `pools` with `threads` workers, logging to `log`.
    public init(pools: [PoolConfig], threads: Int, log: Logger) {
        self.log = log
        self.pools = pools.map { config in SharedPool(config: config) { level, text in log.write(text, level: level) } }
        self.threadCount = max(1, threads)
    }

    /// Raises the soft limit on open descriptors to the hard limit: a proxy holds two
    /// per client request path (client and server sockets), and the default soft limit
    /// (often 1024) is far below what the service unit grants.
    static func raiseDescriptorLimit(log: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        let old = limit.rlim_cur
        limit.rlim_cur = limit.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            log.write("raised the open file limit from \(old) to \(limit.rlim_cur)", level: 6)
        }
    }

    /// The number of online CPUs, the default worker count.
    public static var onlineCPUs: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Binds every listener (so a bind error is reported before anything runs), then
    /// starts the worker threads. TCP pools get one SO_REUSEPORT socket per worker and
    /// the kernel spreads clients; a unix socket is shared by every worker.
    public func start() throws(StartError) {
        signal(SIGPIPE, SIG_IGN)
        Proxy.raiseDescriptorLimit(log: log)
        var fds = Array(repeating: [Int32](), count: threadCount)
        for pool in pools {
            switch pool.config.listen {
            case .tcp(let host, let port):
                let address: Socket.Address
                switch Socket.resolve(host: host, port: port) {
                case .success(let resolved): address = resolved
                case .failure(let failure): throw StartError(description: "pool '\(pool.config.name)': \(failure)")
                }
                for worker in 0..<threadCount {
                    switch Socket.listen(on: address, backlog: pool.config.backlog, reusePort: true) {
                    case .success(let fd): fds[worker].append(fd)
                    case .failure(let failure):
                        throw StartError(
                            description: "bind on p '\(pool.config.name)' to addr '\(pool.config.listenSpec)' failed: \(Socket.describe(failure.code))")
                    }
                }
            case .unix(let path, let permissions):
                guard let address = Socket.unixAddress(path: path) else {
                    throw StartError(description: "pool '\(pool.config.name)': unix socket path '\(path)' is too long")
                }
                unlink(path)
                switch Socket.listen(on: address, backlog: pool.config.backlog, reusePort: false) {
                case .success(let fd):
                    if let permissions { chmod(path, mode_t(permissions)) }
                    for worker in 0..<threadCount { fds[worker].append(fd) }
                case .failure(let failure):
                    throw StartError(
                        description: "bind on p '\(pool.config.name)' to addr '\(path)' failed: \(Socket.describe(failure.code))")
                }
            }
            log.write("pool '\(pool.config.name)' listening on \(pool.config.listenSpec) with \(pool.config.servers.count) servers", level: 5)
        }
        listenFDs = Set(fds.joined())
        workers = (0..<threadCount).map {
            Worker(index: $0, pools: pools, listenFDs: fds[$0], threadCount: threadCount, log: log)
        }
        workers.forEach { $0.start() }
    }

    /// Stops gracefully: every worker stops accepting, answers the requests it has
    /// (waiting at most `graceMilliseconds`), closes its clients and returns. Returns
    /// when all workers are done.
    public func stop(graceMilliseconds: Int) {
        for worker in workers { worker.requestStop(graceMilliseconds: graceMilliseconds) }
        for worker in workers { worker.waitUntilStopped() }
        for fd in listenFDs { Socket.close(fd) }
        for pool in pools {
            if case .unix(let path, _) = pool.config.listen { unlink(path) }
        }
    }

    /// The longest time a graceful stop should wait for requests in flight: the
    /// longest pool timeout, between 1 and 10 seconds.
    public var gracePeriodMilliseconds: Int {
        let longest = pools.map { $0.config.timeout < 0 ? 10_000 : $0.config.timeout }.max() ?? 1000
        return min(10_000, max(1000, longest))
    }

    /// Every counter, summed over the workers; pools and servers in nutcracker's order.
    public func snapshot() -> StatsSnapshot {
        var total = pools.count
        var current = pools.count  // one listener per pool, as nutcracker counts them
        var poolSnapshots: [StatsSnapshot.Pool] = []
        for (poolIndex, shared) in pools.enumerated() {
            var poolValues = Array(repeating: 0, count: StatsCatalog.pool.count)
            var servers = shared.config.servers.map {
                StatsSnapshot.Server(
                    name: $0.name, values: Array(repeating: 0, count: StatsCatalog.server.count),
                    latencyBuckets: Array(repeating: 0, count: LatencyHistogram.bounds.count + 1), latencyCount: 0,
                    latencySumMicroseconds: 0)
            }
            for worker in workers {
                let runtime = worker.pools[poolIndex]
                for (index, value) in runtime.stats.values.enumerated() { poolValues[index] += value }
                for (serverIndex, server) in runtime.servers.enumerated() {
                    for (index, value) in server.stats.values.enumerated() { servers[serverIndex].values[index] += value }
                    for (index, value) in server.stats.latency.bucketCounts.enumerated() {
                        servers[serverIndex].latencyBuckets[index] += value
                    }
                    servers[serverIndex].latencyCount += server.stats.latency.count.value
                    servers[serverIndex].latencySumMicroseconds += server.stats.latency.sumMicroseconds.value
                    total += server.stats.connectionsOpened.value
                }
            }
            poolValues[3] = shared.health.ejects.load(ordering: .relaxed)
            for index in servers.indices {
                servers[index].values[4] = shared.health.servers[index].ejectedAt.load(ordering: .relaxed)
                current += servers[index].values[3]
            }
            current += poolValues[2]
            total += shared.acceptedCount.load(ordering: .relaxed)
            poolSnapshots.append(StatsSnapshot.Pool(name: shared.config.name, values: poolValues, servers: servers))
        }
        let now = time(nil)
        return StatsSnapshot(
            uptime: now - startTime, timestamp: now, totalConnections: total, currentConnections: current,
            pools: poolSnapshots)
    }
}
