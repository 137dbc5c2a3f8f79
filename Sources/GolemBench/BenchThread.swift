import Golem
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One bench thread: its own event base and its share of the connections. It connects
/// them, prefills its share of the key space, meets the other threads at the start line,
/// then generates load until the run ends, counting replies into its own tally and
/// histogram (merged by the runner once every thread has stopped).
///
/// Built on the main thread, then handed to its pthread, which alone touches it until it
/// publishes `done` (hence `@unchecked Sendable`; the atomics are read by the main
/// thread for the progress line).
final class BenchThread: EventTarget, @unchecked Sendable {
    enum Phase { case connecting, prefill, run }

    let index: Int
    let base = EventBase()
    private let options: BenchOptions
    private let shared: BenchShared
    private let address: Socket.Address
    private let writer: RequestWriter
    private var chooser: KeyChooser
    private var connections: [BenchConnection] = []

    // What the thread measured; read by the runner after `done`.
    private(set) var histogram = BenchHistogram()
    private(set) var tally = BenchTally()
    private(set) var prefillTally = BenchTally()
    /// Monotonic ns of the last counted reply.
    private(set) var lastCompletion = 0
    /// Why the thread gave up before the run (connect or prefill failure).
    private(set) var failure: String?
    /// Connections lost during the run, and the first reason.
    private(set) var connectionFailures = 0
    private(set) var firstConnectionFailure: String?
    /// Monotonic ns at which the load loop ended.
    private(set) var finishedAt = 0
    /// CPU this thread used from the end of the warm-up to the end, in ns.
    private(set) var measuredCPU = 0

    // Published for the progress line (relaxed, once per loop turn).
    /// Replies of any phase.
    let answered = Atomic<Int>(0)
    let countedRequests = Atomic<Int>(0)
    let countedErrors = Atomic<Int>(0)
    let done = Atomic<Bool>(false)

    // The timetable (monotonic ns).
    private var phase = Phase.connecting
    private var timetableStart = 0
    /// Requests sent at or after this count; `Int.max` until the run starts.
    private(set) var measureStart = Int.max
    /// No request is sent at or after this (`--duration`); `Int.max` otherwise.
    private var endTime = Int.max
    /// Time of the last read: a run with requests outstanding and no reply for
    /// `stallLimit` gives them up.
    var lastActivity = 0
    static let stallLimit = 10_000_000_000
    static let connectLimit = 10_000_000_000

    private let openLoop: Bool
    /// ns between two consecutive slots of the whole run's timetable (1 / rate).
    private let slotNanos: Double
    private let totalConnections: Int
    private let depth: Int
    /// Sets outstanding per connection while prefilling.
    private let prefillDepth: Int
    private let cycleLength: Int
    private var repliesSeen = 0
    private var connectedCount = 0

    private var pthread = pthread_t()
    private var ticker: IOWatcher?
    private var timerWatcher: IOWatcher?
    private var preciseTimer: PreciseTimer?
    private var fallbackTimer: IOWatcher?
    private var fallbackArmedFor = -1
    private static let tickTag = 0
    private static let timerTag = 1

    /// One connection of the thread: its place among all connections, its `--requests`
    /// quota and its prefill keys.
    struct Slot {
        var globalIndex: Int
        var quota: Int
        var prefillKeys: Range<Int>
    }

    init(index: Int, options: BenchOptions, address: Socket.Address, slots: [Slot], shared: BenchShared) {
        self.index = index
        self.options = options
        self.address = address
        self.shared = shared
        writer = RequestWriter(options: options)
        let seed =
            UInt64(truncatingIfNeeded: BenchClock.now()) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index)
            &* 0xD1B5_4A32_D192_ED03
        chooser = KeyChooser(keys: options.keys, distribution: options.distribution, seed: seed)
        openLoop = options.rate > 0
        slotNanos = openLoop ? 1e9 / options.rate : 0
        totalConnections = options.connections
        depth = options.pipeline
        prefillDepth = max(options.pipeline, 32)
        cycleLength = options.getRatio + options.setRatio
        let capacity = options.prefill ? max(depth, prefillDepth) : depth
        connections = slots.map {
            BenchConnection(
                thread: self, globalIndex: $0.globalIndex, capacity: capacity, quota: $0.quota,
                prefillKeys: $0.prefillKeys)
        }
    }

    /// Starts the thread.
    func start() {
        // Why passRetained: the pthread owns the thread object while it runs; the start
        // routine takes that reference back.
        let context = Unmanaged.passRetained(self).toOpaque()
        let status = pthread_create(
            &pthread, nil,
            { context in
                let thread = Unmanaged<BenchThread>.fromOpaque(context!).takeRetainedValue()
                thread.run()
                return nil
            }, context)
        precondition(status == 0, "pthread_create failed: \(status)")
    }

    /// Waits for the thread to end (`pthread_join`).
    func join() {
        pthread_join(pthread, nil)
    }

    private func run() {
        defer {
            publish()
            done.store(true, ordering: .releasing)
        }
        ticker = IOWatcher(base: base, fd: -1, interest: [.persist], target: self, tag: Self.tickTag)
        ticker?.start(timeoutMilliseconds: 100)
        defer { release() }

        // Connect every connection.
        for connection in connections {
            if let failure = connection.connect(to: address) {
                giveUp("cannot connect to \(options.host):\(options.port): \(Socket.describe(failure.code))")
                return
            }
        }
        let connectDeadline = BenchClock.now() + Self.connectLimit
        while connectedCount < connections.count {
            base.runOnce()
            if failure != nil || shared.aborted.load(ordering: .relaxed) { return }
            if BenchClock.now() > connectDeadline {
                giveUp("cannot connect to \(options.host):\(options.port): no answer in 10 s")
                return
            }
        }

        // Prefill this thread's share of the key space.
        if options.prefill {
            phase = .prefill
            var now = BenchClock.now()
            lastActivity = now
            for connection in connections {
                fill(connection, now: now)
                connection.flush()
            }
            while connections.contains(where: { $0.outstanding > 0 || $0.prefillNext < $0.prefillEnd }) {
                base.runOnce()
                publish()
                if failure != nil || shared.aborted.load(ordering: .relaxed) { return }
                now = BenchClock.now()
                if now - lastActivity > Self.stallLimit {
                    giveUp("prefill: no reply from \(options.host):\(options.port) for 10 s")
                    return
                }
            }
        }

        // Every thread starts the timetable at the same instant.
        guard let startTime = shared.arriveAndWait() else { return }
        runLoad(from: startTime)
    }

    /// The measured run: warm-up, then load until the duration is over or the
    /// requests are answered.
    private func runLoad(from startTime: Int) {
        phase = .run
        timetableStart = startTime
        measureStart = timetableStart + Int(options.warmup * 1e9)
        if case .duration(let seconds) = options.stop { endTime = measureStart + Int(seconds * 1e9) }
        var now = BenchClock.now()
        lastActivity = now
        if openLoop {
            preciseTimer = PreciseTimer()
            if let preciseTimer {
                timerWatcher = IOWatcher(
                    base: base, fd: preciseTimer.fd, interest: [.read, .persist], target: self, tag: Self.timerTag)
                timerWatcher?.start()
            } else {
                fallbackTimer = IOWatcher(base: base, fd: -1, interest: [], target: self, tag: Self.timerTag)
            }
            issueDue(now: now)
        } else {
            for connection in connections {
                fill(connection, now: now)
                connection.flush()
            }
        }
        var cpuAtMeasureStart: Int? = nil
        while true {
            base.runOnce()
            now = BenchClock.now()
            if openLoop { issueDue(now: now) }
            publish()
            if now >= measureStart {
                if cpuAtMeasureStart == nil { cpuAtMeasureStart = BenchClock.threadCPU() }
                if isFinished() { break }
            }
            if now - lastActivity > Self.stallLimit {
                for connection in connections where connection.outstanding > 0 {
                    connection.fail(reason: "no reply for 10 s")
                }
                lastActivity = now
            }
        }
        finishedAt = now
        if let cpuAtMeasureStart { measuredCPU = BenchClock.threadCPU() - cpuAtMeasureStart }
    }

    /// Closes every connection and frees the watchers while the base still exists.
    private func release() {
        for connection in connections { connection.close() }
        connections.removeAll()
        ticker?.stop()
        timerWatcher?.stop()
        fallbackTimer?.stop()
        ticker = nil
        timerWatcher = nil
        fallbackTimer = nil
        preciseTimer = nil
    }

    /// Records why the thread stopped early and tells the others.
    private func giveUp(_ message: String) {
        if failure == nil { failure = message }
        shared.aborted.store(true, ordering: .relaxed)
    }

    private func publish() {
        answered.store(repliesSeen, ordering: .relaxed)
        countedRequests.store(tally.requests, ordering: .relaxed)
        countedErrors.store(tally.errors, ordering: .relaxed)
    }

    func handleEvent(tag: Int, readable: Bool, writable: Bool, timedOut: Bool) {
        // The loop turn this wakes up does the work (`issueDue`), which re-arms or
        // disarms the timer: that also makes its fd unreadable again.
        if tag == Self.timerTag {
            preciseTimer?.fired()
            fallbackArmedFor = -1
        }
    }

    // MARK: - Connections report back

    func connected(_ connection: BenchConnection) {
        connectedCount += 1
    }

    func connectionFailed(_ connection: BenchConnection, reason: String) {
        let server = "\(options.host):\(options.port)"
        switch phase {
        case .connecting: giveUp("cannot connect to \(server): \(reason)")
        case .prefill: giveUp("prefill: connection to \(server): \(reason)")
        case .run:
            connectionFailures += 1
            if firstConnectionFailure == nil { firstConnectionFailure = "connection to \(server): \(reason)" }
        }
    }

    /// Counts one reply. Requests sent before the end of the warm-up (and prefill sets)
    /// are not part of the measurement.
    @inline(__always)
    func complete(_ reply: BenchReply, for request: BenchRequest, sentAt: Int, now: Int) {
        repliesSeen &+= 1
        if sentAt >= measureStart {
            tally.count(reply, for: request)
            histogram.record(microseconds: (now - sentAt) / 1000)
            lastCompletion = now
        } else if phase == .prefill {
            prefillTally.count(reply, for: request)
        }
    }

    /// Counts a request that will never be answered: its connection was lost.
    func lose(_ request: BenchRequest, sentAt: Int) {
        if sentAt >= measureStart { tally.countLost(request) }
    }

    // MARK: - Sending

    /// The open-loop time of `connection`'s next slot.
    @inline(__always)
    private func scheduledTime(_ connection: BenchConnection) -> Int {
        let slot = connection.globalIndex + connection.scheduleIndex * totalConnections
        return timetableStart + Int(Double(slot) * slotNanos)
    }

    /// When `connection`'s next request should go (now in a closed loop, its slot in an
    /// open one), or nil when it may send no more.
    @inline(__always)
    private func nextSendTime(_ connection: BenchConnection, now: Int) -> Int? {
        let time = openLoop ? scheduledTime(connection) : now
        if time >= endTime { return nil }
        if time >= measureStart && connection.sentCounted >= connection.quota { return nil }
        return time
    }

    /// Queues on `connection` every request its free pipeline slots allow now (the
    /// caller flushes).
    @inline(__always)
    func fill(_ connection: BenchConnection, now: Int) {
        switch phase {
        case .connecting:
            return
        case .prefill:
            while connection.outstanding < prefillDepth && connection.prefillNext < connection.prefillEnd {
                writer.appendSet(key: connection.prefillNext, to: connection.outputBuffer)
                connection.prefillNext += 1
                connection.push(sentAt: now, request: .set)
            }
        case .run:
            while connection.outstanding < depth, let time = nextSendTime(connection, now: now), time <= now {
                send(on: connection, scheduledAt: time)
            }
        }
    }

    /// Writes the next request of `connection`'s get/set cycle.
    @inline(__always)
    private func send(on connection: BenchConnection, scheduledAt time: Int) {
        if time >= measureStart { connection.sentCounted += 1 }
        if openLoop { connection.scheduleIndex += 1 }
        let isSet = connection.ratioPosition < options.setRatio
        connection.ratioPosition += 1
        if connection.ratioPosition == cycleLength { connection.ratioPosition = 0 }
        if isSet {
            writer.appendSet(key: chooser.next(), to: connection.outputBuffer)
            connection.push(sentAt: time, request: .set)
        } else {
            writer.appendGet(count: options.multiget, chooser: &chooser, to: connection.outputBuffer)
            connection.push(sentAt: time, request: .get(keys: options.multiget))
        }
    }

    /// Open loop: sends every request that is due on a connection with a free pipeline
    /// slot, then sets the timer for the earliest next one. (A connection whose pipeline
    /// is full sends its late requests when replies free slots; their latency counts
    /// from their scheduled time.)
    private func issueDue(now: Int) {
        var next = Int.max
        for connection in connections where connection.state == .connected && connection.outstanding < depth {
            fill(connection, now: now)
            connection.flush()
            if connection.outstanding < depth, let time = nextSendTime(connection, now: now) {
                next = min(next, time)
            }
        }
        guard next != Int.max else {
            preciseTimer?.disarm()
            return
        }
        if let preciseTimer {
            preciseTimer.arm(at: next)
        } else if next != fallbackArmedFor, let fallbackTimer {
            fallbackArmedFor = next
            let milliseconds = max(0, (next - now + 999_999) / 1_000_000)
            fallbackTimer.start(timeoutMilliseconds: milliseconds)
        }
    }

    /// True when no connection has a request outstanding or one left to send, and, in a
    /// timed run, the time is up (an open loop's last slot may come before the end) or
    /// every connection is lost.
    private func isFinished() -> Bool {
        let now = BenchClock.now()
        var open = 0
        for connection in connections where connection.state != .closed {
            if connection.outstanding > 0 || nextSendTime(connection, now: now) != nil { return false }
            open += 1
        }
        return endTime == Int.max || now >= endTime || open == 0
    }
}

/// What the bench threads share: the start line, and the news that one gave up.
final class BenchShared: Sendable {
    let threadCount: Int
    private let arrived = Atomic<Int>(0)
    /// Monotonic ns at which the timetable starts; 0 until every thread has arrived.
    let startTime = Atomic<Int>(0)
    let aborted = Atomic<Bool>(false)

    init(threadCount: Int) {
        self.threadCount = threadCount
    }

    /// Waits until every thread is ready; returns the common start time, or nil when a
    /// thread gave up. The last to arrive sets the time.
    func arriveAndWait() -> Int? {
        if arrived.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue == threadCount {
            startTime.store(BenchClock.now(), ordering: .releasing)
        }
        while true {
            let time = startTime.load(ordering: .acquiring)
            if time != 0 { return time }
            if aborted.load(ordering: .relaxed) { return nil }
            BenchClock.sleep(nanoseconds: 50_000)
        }
    }
}
