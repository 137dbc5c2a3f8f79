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
    private var connections: [ServerConnection] = []
    private var next = 0

    init(pool: PoolRuntime, config: ServerConfig, index: Int) {
        self.pool = pool
        self.config = config
        self.index = index
    }

    /// The connection for the next request: round robin over `server_connections`
    /// connections, each created when first needed.
    func connection() -> ServerConnection {
        if connections.count < pool.config.serverConnections {
            let connection = ServerConnection(worker: pool.worker, server: self)
            connections.append(connection)
            return connection
        }
        next = next + 1 == connections.count ? 0 : next + 1
        return connections[next]
    }

    /// Opens every connection now (`preconnect: true`); failures are ignored until used.
    func preconnect() {
        while connections.count < pool.config.serverConnections {
            let connection = ServerConnection(worker: pool.worker, server: self)
            connections.append(connection)
            connection.connect()
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
