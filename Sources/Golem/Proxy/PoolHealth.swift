import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One pool's server health, shared by every worker: ejections and the router built
/// from the servers that are live now (nutcracker's `auto_eject_hosts`,
/// `server_failure_limit`, `server_retry_timeout`). Failures are counted by each
/// worker for its own connections (`ServerRuntime`), as nutcracker counts them for its
/// one set of connections, and a worker whose count reaches the limit ejects.
///
/// The router is published as an immutable snapshot with a version number. A worker
/// compares the version (one relaxed atomic load) before routing and copies the new
/// router when it changed, so after any worker has seen an ejection, no request it
/// routes uses the old ring. Changes take a lock; they happen on failures only.
final class PoolHealth: Sendable {
    /// One server's shared state.
    final class Server: Sendable {
        /// Monotonic ms after which an ejected server may be tried again; 0 when live.
        let retryAt = Atomic<Int>(0)
        /// Wall-clock µs of the last ejection (nutcracker's `server_ejected_at`).
        let ejectedAt = Atomic<Int>(0)
        init() {}
    }

    let config: PoolConfig
    let servers: [Server]
    /// Times a server of this pool was ejected (nutcracker's pool `server_ejects`).
    let ejects = Atomic<Int>(0)
    /// Bumped on every new router.
    let version = Atomic<Int>(0)
    /// Monotonic ms when the next ejected server is due back; Int.max when none is out.
    let nextRebuild = Atomic<Int>(Int.max)
    private let current: Mutex<KeyRouter>
    /// Called with a log line (level, text) on ejections and returns.
    let log: @Sendable (Int, String) -> Void

    init(config: PoolConfig, log: @escaping @Sendable (Int, String) -> Void) {
        self.config = config
        self.log = log
        servers = config.servers.map { _ in Server() }
        current = Mutex(KeyRouter(pool: config))
    }

    /// The router now in force.
    func router() -> KeyRouter {
        current.withLock { $0 }
    }

    /// A worker saw `failures` consecutive failures of server `index` (the pool's
    /// `server_failure_limit`): the server is ejected for `server_retry_timeout` ms and
    /// the ring is rebuilt without it, unless another worker ejected it already.
    func eject(_ index: Int, now: Int, failures: Int) {
        guard config.autoEjectHosts else { return }
        let server = servers[index]
        var ejected = false
        current.withLock { router in
            guard server.retryAt.load(ordering: .relaxed) <= now else { return }
            ejected = true
            server.retryAt.store(now + max(0, config.serverRetryTimeout), ordering: .relaxed)
            server.ejectedAt.store(PoolHealth.wallMicroseconds(), ordering: .relaxed)
            ejects.add(1, ordering: .relaxed)
            router = rebuild(now: now)
        }
        guard ejected else { return }
        log(4, "server '\(config.servers[index].name)' of pool '\(config.name)' ejected for \(config.serverRetryTimeout) ms after \(failures) failures")
    }

    /// Brings back servers whose retry time has come (called by a worker that sees
    /// `nextRebuild` passed).
    func rebuildIfDue(now: Int) {
        guard now >= nextRebuild.load(ordering: .relaxed) else { return }
        var returned: [String] = []
        current.withLock { router in
            guard now >= nextRebuild.load(ordering: .relaxed) else { return }
            for (index, server) in servers.enumerated() {
                let retryAt = server.retryAt.load(ordering: .relaxed)
                if retryAt != 0 && retryAt <= now {
                    server.retryAt.store(0, ordering: .relaxed)
                    returned.append(config.servers[index].name)
                }
            }
            router = rebuild(now: now)
        }
        for name in returned { log(5, "server '\(name)' of pool '\(config.name)' is retried") }
    }

    /// A router over the servers not ejected at `now`; publishes it. Call under the lock.
    private func rebuild(now: Int) -> KeyRouter {
        var live: [Bool] = []
        var next = Int.max
        for server in servers {
            let retryAt = server.retryAt.load(ordering: .relaxed)
            live.append(retryAt <= now)
            if retryAt > now { next = min(next, retryAt) }
        }
        nextRebuild.store(next, ordering: .relaxed)
        let members = config.servers.map { Continuum.Member(name: $0.name, weight: $0.weight) }
        let router = KeyRouter(
            hash: config.hash, hashTag: config.hashTag.flatMap(HashTag.init),
            continuum: Continuum(distribution: config.distribution, members: members, live: live),
            serverCount: config.servers.count)
        version.add(1, ordering: .releasing)
        return router
    }

    /// Microseconds since the epoch.
    static func wallMicroseconds() -> Int {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return time.tv_sec * 1_000_000 + time.tv_nsec / 1000
    }
}
