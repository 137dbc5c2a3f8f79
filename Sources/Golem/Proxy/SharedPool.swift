import Synchronization

/// What all workers share about one pool: its config, its server health and router
/// (`PoolHealth`), and the client count that `client_connections` limits across every
/// worker.
final class SharedPool: Sendable {
    let config: PoolConfig
    let health: PoolHealth
    /// Clients connected to this pool now, over all workers.
    let clientCount = Atomic<Int>(0)
    /// Clients ever accepted.
    let acceptedCount = Atomic<Int>(0)

    init(config: PoolConfig, log: @escaping @Sendable (Int, String) -> Void) {
        self.config = config
        health = PoolHealth(config: config, log: log)
    }

    /// Counts a new client in, unless `client_connections` (when not 0) is reached.
    func admitClient() -> Bool {
        let limit = config.clientConnections
        while true {
            let current = clientCount.load(ordering: .relaxed)
            if limit > 0 && current >= limit { return false }
            if clientCount.compareExchange(expected: current, desired: current + 1, ordering: .relaxed).exchanged {
                acceptedCount.add(1, ordering: .relaxed)
                return true
            }
        }
    }

    /// Counts a client out.
    func releaseClient() {
        clientCount.subtract(1, ordering: .relaxed)
    }
}
