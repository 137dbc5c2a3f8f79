/// One server of one pool, as one worker sees it: its connections (up to
/// `server_connections`, made on first use) and this worker's counters for it.
final class ServerRuntime {
    unowned(unsafe) let pool: PoolRuntime
    let config: ServerConfig
    let index: Int
    let stats = ServerStats()
    private var connections: [ServerConnection?]

    init(pool: PoolRuntime, config: ServerConfig, index: Int) {
        self.pool = pool
        self.config = config
        self.index = index
        connections = Array(repeating: nil, count: max(1, pool.config.serverConnections))
    }

    /// The connection for a client's `slot`: each client always uses the same one of the
    /// `server_connections` connections (made when first needed), so one client's
    /// requests reach the server in the order it sent them (read-your-writes), while
    /// different clients spread over the connections.
    func connection(slot: Int) -> ServerConnection {
        let position = slot % connections.count
        if let connection = connections[position] { return connection }
        let connection = ServerConnection(worker: pool.worker, server: self)
        connections[position] = connection
        return connection
    }

    /// Opens every connection now (`preconnect: true`); failures are ignored until used.
    func preconnect() {
        for position in connections.indices {
            connection(slot: position).connect()
        }
    }

    /// Every connection made so far (for shutdown).
    var openConnections: [ServerConnection] { connections.compactMap { $0 } }

    /// Consecutive failures of this server on this worker's connections (nutcracker's
    /// `failure_count`). Counting per worker makes each worker judge a server as
    /// nutcracker's single process does: a server restart that resets every worker's
    /// connection at once counts one failure on each, not one per worker on a shared
    /// count (which would eject a server that is back already).
    private var failures = 0

    /// A reply arrived: the server works.
    @inline(__always)
    func recordSuccess() {
        failures = 0
    }

    /// A connection failed (refused, reset, closed, timed out or garbled); at the
    /// pool's `server_failure_limit` the server is ejected.
    func recordFailure() {
        guard pool.config.autoEjectHosts else { return }
        failures += 1
        guard failures >= pool.config.serverFailureLimit else { return }
        let count = failures
        failures = 0
        pool.shared.health.eject(index, now: pool.worker.clock.now, failures: count)
    }

    /// The shared retry time last seen for this server.
    private var seenRetryAt = 0

    /// The ring changed: if this server was ejected or came back meanwhile, counting
    /// starts again, as nutcracker's count does on ejection.
    func noteRingChange() {
        let retryAt = pool.shared.health.servers[index].retryAt.load(ordering: .relaxed)
        if retryAt != seenRetryAt {
            seenRetryAt = retryAt
            failures = 0
        }
    }
}

/// One pool as one worker runs it: the router it routes by, the servers, the counters.
final class PoolRuntime {
    unowned(unsafe) let worker: Worker
    let config: PoolConfig
    let shared: SharedPool
    /// The router this worker routes by; refreshed from `shared.health` when its
    /// version moves (ejections and returns).
    private(set) var router: KeyRouter
    private var routerVersion: Int
    var servers: [ServerRuntime] = []
    let stats = PoolStats()
    /// Whether the pool speaks RESP (`redis: true`).
    let isRedis: Bool
    /// Redis pools: one reusable buffer per server, where a split command's arguments
    /// are gathered per server before each fragment's header is known.
    private(set) lazy var fragmentBuffers: [Buffer] = servers.map { _ in Buffer() }

    init(worker: Worker, shared: SharedPool) {
        self.worker = worker
        self.shared = shared
        self.config = shared.config
        self.isRedis = shared.config.redis
        routerVersion = shared.health.version.load(ordering: .acquiring)
        router = shared.health.router()
        servers = config.servers.indices.map { ServerRuntime(pool: self, config: config.servers[$0], index: $0) }
    }

    /// The server for `key` by the current router (read in place, not copied).
    @inline(__always)
    func server(forKey key: UnsafeRawBufferPointer, random: UInt32) -> Int? {
        router.server(forKey: key, random: random)
    }

    /// Brings `router` up to date before a request is routed: returns ejected servers
    /// whose retry time has come, and picks up a ring another worker published. Costs
    /// two relaxed loads when no server is out; nothing at all without auto_eject_hosts.
    @inline(__always)
    func refreshRouter() {
        guard config.autoEjectHosts else { return }
        let health = shared.health
        // Only while a server is out is the clock read (exactly: the turn's start time
        // can be long stale after an idle wait).
        let due = health.nextRebuild.load(ordering: .relaxed)
        if due != Int.max {
            let now = worker.clock.now
            if now >= due { health.rebuildIfDue(now: now) }
        }
        let version = health.version.load(ordering: .acquiring)
        if version != routerVersion {
            router = health.router()
            routerVersion = version
            for server in servers { server.noteRingChange() }
        }
    }
}
