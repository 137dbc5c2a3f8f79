/// Counters kept for one server by one worker (nutcracker's per-server stats).
struct ServerCounters {
    var serverEOF = 0
    var serverErr = 0
    var serverTimedout = 0
    var serverConnections = 0
    var requests = 0
    var requestBytes = 0
    var responses = 0
    var responseBytes = 0
}

/// One server of one pool, as one worker sees it: its connections (up to
/// `server_connections`, made on first use) and its counters.
final class ServerRuntime {
    unowned let pool: PoolRuntime
    let config: ServerConfig
    let index: Int
    var counters = ServerCounters()
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

    /// A reply arrived: the server works.
    func recordSuccess() {}

    /// The connection failed (refused, reset, closed, timed out or garbled).
    func recordFailure() {}
}

/// Counters kept for one pool by one worker (nutcracker's per-pool stats).
struct PoolCounters {
    var clientEOF = 0
    var clientErr = 0
    var forwardError = 0
    var fragments = 0
}

/// One pool as one worker runs it: the router, the servers, the counters.
final class PoolRuntime {
    unowned let worker: Worker
    let config: PoolConfig
    let shared: SharedPool
    var router: KeyRouter
    var servers: [ServerRuntime] = []
    var counters = PoolCounters()

    init(worker: Worker, shared: SharedPool) {
        self.worker = worker
        self.shared = shared
        self.config = shared.config
        self.router = KeyRouter(pool: shared.config)
        servers = config.servers.indices.map { ServerRuntime(pool: self, config: config.servers[$0], index: $0) }
    }
}
