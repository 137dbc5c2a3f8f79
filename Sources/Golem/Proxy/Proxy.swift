#if canImport(Glibc)
    import Glibc
#endif

/// The whole proxy: binds every pool's listen address, then runs the workers.
public final class Proxy {
    /// Why the proxy could not start.
    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    private let pools: [SharedPool]
    private let threadCount: Int
    private var workers: [Worker] = []

    /// A proxy for `pools` with `threads` workers.
    public init(pools: [PoolConfig], threads: Int) {
        self.pools = pools.map(SharedPool.init)
        self.threadCount = max(1, threads)
    }

    /// The number of online CPUs, the default worker count.
    public static var onlineCPUs: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Binds every listener (so a bind error is reported before anything runs), then
    /// starts the worker threads. TCP pools get one SO_REUSEPORT socket per worker and
    /// the kernel spreads clients; a unix socket is shared by every worker.
    public func start() throws(StartError) {
        signal(SIGPIPE, SIG_IGN)
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
                            description: "bind on pool '\(pool.config.name)' to addr '\(pool.config.listenSpec)' failed: \(Socket.describe(failure.code))")
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
                        description: "bind on pool '\(pool.config.name)' to addr '\(path)' failed: \(Socket.describe(failure.code))")
                }
            }
        }
        workers = (0..<threadCount).map { Worker(index: $0, pools: pools, listenFDs: fds[$0], threadCount: threadCount) }
        workers.forEach { $0.start() }
    }
}
