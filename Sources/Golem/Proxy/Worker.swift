import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The monotonic clock, in milliseconds (deadlines) and microseconds (latency).
struct MonotonicClock {
    var now: Int {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return time.tv_sec * 1000 + time.tv_nsec / 1_000_000
    }

    var microseconds: Int {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return time.tv_sec * 1_000_000 + time.tv_nsec / 1000
    }
}

/// One worker thread: its own event base, its own listener per pool, its own clients
/// and its own connections to every server. Nothing on the data path is shared with
/// another worker, so nothing there takes a lock.
///
/// A worker is built on the main thread and then handed to its thread, which alone
/// touches it from then on (hence `@unchecked Sendable`).
final class Worker: EventTarget, @unchecked Sendable {
    let index: Int
    let base = EventBase()
    let clock = MonotonicClock()
    /// Monotonic ms at the start of the current loop turn: cheap "now" for checks that
    /// need no more precision than one turn.
    private(set) var turnTime = 0
    private(set) var pools: [PoolRuntime] = []
    private var listeners: [PoolListener] = []
    private var clients: [ObjectIdentifier: ClientConnection] = [:]
    private var dirtyServers: [ServerConnection] = []
    private var dirtyClients: [ClientConnection] = []
    private var freeRequests: [Request] = []
    /// Reused by the multiget router: the server of each key.
    var keyServers: [Int] = []
    private var randomState: UInt64
    private let startTime: Int
    private let threadCount: Int
    let log: Logger

    // Graceful stop: requested from another thread (`requestStop`), carried out here.
    private let stopRequested = Atomic<Int>(-1)  // grace period in ms, -1 = running
    private let stopped = Atomic<Bool>(false)
    private var stopping = false
    private var stopDeadline = Int.max
    private var ticker: IOWatcher?

    /// A worker for `pools`, accepting on `listenFDs[i]` for pool `i`.
    init(index: Int, pools shared: [SharedPool], listenFDs: [Int32], threadCount: Int, log: Logger) {
        self.index = index
        self.threadCount = threadCount
        self.log = log
        randomState = UInt64(truncatingIfNeeded: time(nil)) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index)
        startTime = time(nil)
        pools = shared.map { PoolRuntime(worker: self, shared: $0) }
        listeners = zip(pools, listenFDs).map { PoolListener(worker: self, pool: $0, fd: $1) }
    }

    /// Starts the worker's thread.
    func start() {
        var thread = pthread_t()
        // Why passRetained: the thread owns the worker for as long as it runs; the start
        // routine takes that reference back.
        let context = Unmanaged.passRetained(self).toOpaque()
        let status = pthread_create(&thread, nil, { context in
            let worker = Unmanaged<Worker>.fromOpaque(context!).takeRetainedValue()
            worker.run()
            return nil
        }, context)
        precondition(status == 0, "pthread_create failed: \(status)")
        pthread_detach(thread)
    }

    /// The loop: one libevent turn, then one flush of every socket written to in it
    /// (with one non-blocking turn between the clients' and the servers' writes).
    private func run() {
        base.onWake { [unowned self] in self.beginStop() }
        for pool in pools where pool.config.preconnect {
            pool.servers.forEach { $0.preconnect() }
        }
        listeners.forEach { $0.start() }
        // A stop may have been asked for before the wake handler existed.
        if stopRequested.load(ordering: .acquiring) >= 0 { beginStop() }
        while true {
            base.runOnce()
            turnTime = clock.now
            if !dirtyServers.isEmpty {
                // Replies first, then one more look (without waiting) for requests
                // that arrived while they were written: they join this turn's server
                // writes. Fewer, fuller writes to a server wake it less often and cost
                // it fewer reads (README, Performance: what it changed, measured).
                flushClients()
                base.runNonBlocking()
            }
            flushDirty()
            if !closedClients.isEmpty { closedClients.removeAll(keepingCapacity: true) }
            if stopping && (clients.isEmpty || turnTime >= stopDeadline) { break }
        }
        for client in Array(clients.values) { client.close() }
        for pool in pools {
            for server in pool.servers {
                for connection in server.openConnections { connection.shutdown() }
            }
        }
        ticker?.stop()
        stopped.store(true, ordering: .releasing)
    }

    /// Asks the worker, from any thread, to stop: stop accepting, answer what its
    /// clients have sent, close them; give up after `graceMilliseconds`.
    func requestStop(graceMilliseconds: Int) {
        stopRequested.store(graceMilliseconds, ordering: .releasing)
        base.wake()
    }

    /// Blocks until the worker's loop has ended (bounded by the grace period the
    /// worker was given, plus the linger time of its clients).
    func waitUntilStopped() {
        let grace = max(0, stopRequested.load(ordering: .acquiring))
        let limit = grace + ClientConnection.lingerMilliseconds + 1000
        var waited = 0
        while !stopped.load(ordering: .acquiring) && waited < limit {
            usleep(10_000)
            waited += 10
        }
    }

    private func beginStop() {
        guard !stopping else { return }
        let grace = stopRequested.load(ordering: .acquiring)
        guard grace >= 0 else { return }
        stopping = true
        stopDeadline = clock.now + grace
        // Connections the kernel has completed but nobody accepted yet were opened
        // before the stop, and their clients may have sent requests already: take
        // them in too, then stop accepting.
        listeners.forEach {
            $0.acceptPending()
            $0.stop()
        }
        for client in Array(clients.values) { client.drain() }
        // Wake up regularly so the deadline is noticed even when nothing happens.
        ticker = IOWatcher(base: base, fd: -1, interest: [.persist], target: TickTarget.shared)
        ticker?.start(timeoutMilliseconds: 50)
    }

    /// Remembers that `connection` has bytes to send this turn.
    func markDirty(_ connection: ServerConnection) {
        guard !connection.isDirty else { return }
        connection.isDirty = true
        dirtyServers.append(connection)
    }

    func markDirty(_ client: ClientConnection) {
        guard !client.isDirty else { return }
        client.isDirty = true
        dirtyClients.append(client)
    }

    /// Clients whose replies are held back (see `ClientConnection.requestFinished`),
    /// and the timer that ends every hold within `holdMilliseconds`.
    private var heldClients: [ClientConnection] = []
    private var releasingClients: [ClientConnection] = []
    private var holdTimer: IOWatcher?
    static let holdMilliseconds = 1

    /// Holds `client`'s finished replies until its other requests are answered, or
    /// `holdMilliseconds` at most: then one write carries them all.
    func hold(_ client: ClientConnection) {
        guard !client.isHeld else { return }
        client.isHeld = true
        heldClients.append(client)
        if heldClients.count == 1 {
            if holdTimer == nil { holdTimer = IOWatcher(base: base, fd: -1, interest: [], target: self) }
            holdTimer?.start(timeoutMilliseconds: Self.holdMilliseconds)
        }
    }

    /// The hold timer fired: every held client is written at the end of this turn.
    func handleEvent(tag: Int, readable: Bool, writable: Bool, timedOut: Bool) {
        swap(&heldClients, &releasingClients)
        for client in releasingClients where client.isHeld {
            client.isHeld = false
            markDirty(client)
        }
        releasingClients.removeAll(keepingCapacity: true)
    }

    /// Spare lists swapped with the dirty lists, so a flush allocates nothing.
    private var flushingServers: [ServerConnection] = []
    private var flushingClients: [ClientConnection] = []

    private func flushClients() {
        swap(&dirtyClients, &flushingClients)
        for client in flushingClients {
            client.isDirty = false
            client.flush()
        }
        flushingClients.removeAll(keepingCapacity: true)
    }

    private func flushDirty() {
        // Servers first: replies they produce within this turn are written below.
        while !dirtyServers.isEmpty || !dirtyClients.isEmpty {
            swap(&dirtyServers, &flushingServers)
            for server in flushingServers {
                server.isDirty = false
                server.flush()
            }
            flushingServers.removeAll(keepingCapacity: true)
            flushClients()
        }
    }

    /// Clients connected to this worker now.
    var clientCount: Int { clients.count }

    func addClient(_ client: ClientConnection) {
        clients[ObjectIdentifier(client)] = client
    }

    /// Clients closed during this loop turn. They are released only after the turn:
    /// event callbacks reach their targets through unowned(unsafe) references (no
    /// retain/release per event), so a client closed from inside its own callback must
    /// outlive that callback.
    private var closedClients: [ClientConnection] = []

    func removeClient(_ client: ClientConnection) {
        if let removed = clients.removeValue(forKey: ObjectIdentifier(client)) {
            closedClients.append(removed)
        }
    }

    /// A request object, from the free list when one is there.
    func makeRequest(role: Request.Role, client: ClientConnection?) -> Request {
        let request = freeRequests.popLast() ?? Request()
        request.role = role
        request.client = client
        return request
    }

    /// Returns a finished request to the free list. Requests a client waits for come
    /// back when the client takes them off its queue (a parent is done only when all
    /// its fragments are, and they drop it when done); fragments and broadcast parts
    /// come back from their server connection once answered. Nothing else holds them
    /// then.
    func recycle(_ request: Request) {
        guard request.role != .control, freeRequests.count < 1024 else { return }
        request.reset()
        freeRequests.append(request)
    }

    /// A random number for the `random` distribution (xorshift64*, per worker).
    func nextRandom() -> UInt32 {
        randomState ^= randomState >> 12
        randomState ^= randomState << 25
        randomState ^= randomState >> 27
        return UInt32(truncatingIfNeeded: (randomState &* 0x2545_F491_4F6C_DD1D) >> 32)
    }

    /// The proxy's own answer to `stats`, in memcached's `STAT name value` format.
    func statsReply(pool: PoolRuntime) -> String {
        let now = time(nil)
        var text = "STAT pid \(getpid())\r\n"
        text += "STAT uptime \(now - startTime)\r\n"
        text += "STAT time \(now)\r\n"
        text += "STAT version golemproxy-\(Options.version)\r\n"
        text += "STAT threads \(threadCount)\r\n"
        text += "STAT pool \(pool.config.name)\r\n"
        text += "STAT servers \(pool.servers.count)\r\n"
        text += "STAT curr_connections \(pool.shared.clientCount.load(ordering: .relaxed))\r\n"
        text += "STAT total_connections \(pool.shared.acceptedCount.load(ordering: .relaxed))\r\n"
        text += "END\r\n"
        return text
    }
}

/// A pool's listening socket on one worker: accepts clients onto this worker.
final class PoolListener: EventTarget {
    unowned(unsafe) let worker: Worker
    unowned(unsafe) let pool: PoolRuntime
    let fd: Int32
    private var watcher: IOWatcher?
    /// Clients accepted so far; gives each its server connection slot.
    private var accepted = 0

    init(worker: Worker, pool: PoolRuntime, fd: Int32) {
        self.worker = worker
        self.pool = pool
        self.fd = fd
    }

    func start() {
        watcher = IOWatcher(base: worker.base, fd: fd, interest: [.read, .persist], target: self, tag: Self.acceptTag)
        watcher?.start()
    }

    /// Accepts every connection waiting in the kernel's queue (bounded), for a
    /// graceful stop.
    func acceptPending() {
        for _ in 0..<1000 {
            let before = worker.clientCount
            handleEvent(tag: Self.acceptTag, readable: true, writable: false, timedOut: false)
            if worker.clientCount == before { return }
        }
    }

    /// Stops accepting (the socket itself is closed by the proxy).
    func stop() {
        watcher?.stop()
        pauseTimer?.stop()
    }

    /// Re-arms accepting after a pause for lack of descriptors.
    private var pauseTimer: IOWatcher?
    private static let acceptTag = 0
    private static let resumeTag = 1

    func handleEvent(tag: Int, readable: Bool, writable: Bool, timedOut: Bool) {
        if tag == Self.resumeTag {
            watcher?.start()
            return
        }
        // Accept what is waiting, a bounded number per turn so one busy listener
        // cannot starve the connections already open.
        for _ in 0..<64 {
            let client = Socket.accept(fd)
            if client == -EMFILE || client == -ENFILE {
                // Out of descriptors: the pending connection stays readable, and a
                // level-triggered loop would spin on it. Stop accepting for 100 ms.
                worker.log.write(
                    "accept on pool '\(pool.config.name)' failed: \(Socket.describe(-client)); pausing accepts for 100 ms",
                    level: 3)
                watcher?.stop()
                if pauseTimer == nil {
                    pauseTimer = IOWatcher(base: worker.base, fd: -1, interest: [], target: self, tag: Self.resumeTag)
                }
                pauseTimer?.start(timeoutMilliseconds: 100)
                return
            }
            if client < 0 { return }  // EAGAIN (another worker took it), or a transient error
            guard pool.shared.admitClient() else {
                // client_connections reached: close at once, as nutcracker does past its limit.
                Socket.close(client)
                continue
            }
            if case .tcp = pool.config.listen {
                Socket.setOption(client, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
                if pool.config.tcpKeepalive { Socket.setOption(client, SOL_SOCKET, SO_KEEPALIVE, 1) }
            }
            accepted += 1
            worker.addClient(ClientConnection(worker: worker, pool: pool, fd: client, slot: accepted))
        }
    }
}

/// A do-nothing event target: a timer whose only job is to end a loop turn.
final class TickTarget: EventTarget, @unchecked Sendable {
    static let shared = TickTarget()
    func handleEvent(tag: Int, readable: Bool, writable: Bool, timedOut: Bool) {}
}
