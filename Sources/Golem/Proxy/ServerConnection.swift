#if canImport(Glibc)
    import Glibc
#endif

/// One connection from a worker to one memcached server.
///
/// Requests from any of the worker's clients are written back to back; those that
/// expect a reply wait in `inFlight`, and replies are matched to them in order
/// (memcached answers in order). When the connection fails or a request times out,
/// every request on it is answered with nutcracker's error and the connection is
/// dropped; the next request reconnects.
final class ServerConnection: EventTarget {
    enum State { case disconnected, connecting, connected }

    unowned(unsafe) let worker: Worker
    unowned(unsafe) let server: ServerRuntime
    private(set) var state = State.disconnected
    private var fd: Int32 = -1
    let input = Buffer()
    let output = Buffer()
    /// Requests written (or queued to be written) that still expect a reply, oldest first.
    var inFlight = RequestQueue()
    /// Redis pools: where framing of a reply that arrives in pieces stands.
    var replyFramer = RedisReplyFramer()
    private var readWatcher: IOWatcher?
    private var writeWatcher: IOWatcher?
    private var timer: IOWatcher?
    /// True while this connection is on the worker's list of sockets to flush.
    var isDirty = false
    /// Clients that stopped reading because `output` passed `highWater`; they resume
    /// when it falls below `lowWater` (or the connection is reset).
    private var waiters: [ClientConnection] = []
    static let highWater = 8 << 20
    static let lowWater = 1 << 20

    func addWaiter(_ client: ClientConnection) {
        waiters.append(client)
    }

    private func wakeWaiters() {
        guard !waiters.isEmpty, output.count < Self.lowWater else { return }
        let woken = waiters
        waiters.removeAll()
        woken.forEach { $0.resumeIfDrained() }
    }

    /// The longest reply line accepted from a server before its stream is declared
    /// garbled (a `VALUE` line is at most ~300 bytes; error texts are short).
    static let maxReplyLineLength = 64 << 10

    private static let readTag = 0
    private static let writeTag = 1
    private static let timerTag = 2

    /// Read on every request, so kept here rather than reached through `server`.
    let stats: ServerStats
    private let timeout: Int
    let isRedis: Bool

    init(worker: Worker, server: ServerRuntime) {
        self.worker = worker
        self.server = server
        stats = server.stats
        timeout = server.pool.config.timeout
        isRedis = server.pool.isRedis
    }

    /// Requests awaiting a reply.
    var outstanding: Int { inFlight.count }

    /// Queues `request`, whose bytes the caller has already appended to `output`; nil
    /// for a request that expects no reply (`noreply`).
    func enqueue(_ request: Request?) {
        if state == .disconnected { connect() }
        unsent += 1
        if let request {
            if timeout > 0 {
                request.deadline = worker.clock.now + timeout
                if timer?.isActive != true { armTimer() }
            }
            request.startedAt = worker.clock.microseconds
            inFlight.append(request)
            inFlightBytes += request.requestBytes
            stats.outQueue.set(inFlight.count)
            stats.outQueueBytes.set(inFlightBytes)
        }
        stats.inQueue.set(unsent)
        stats.inQueueBytes.set(output.count)
        if state == .connected { worker.markDirty(self) }
        if state == .disconnected {
            // The connect failed at once: answer right away, and drop what was queued.
            output.drain(output.count)
            failAll(code: lastConnectError)
        }
    }

    private var lastConnectError: Int32 = ECONNREFUSED

    /// Starts a non-blocking connect; failures surface through `failAll`.
    func connect() {
        guard state == .disconnected else { return }
        let address: Socket.Address
        switch server.config.address {
        case .tcp(let host, let port):
            switch Socket.resolve(host: host, port: port) {
            case .success(let resolved): address = resolved
            case .failure:
                lastConnectError = EHOSTUNREACH
                return
            }
        case .unix(let path):
            guard let resolved = Socket.unixAddress(path: path) else {
                lastConnectError = ENAMETOOLONG
                return
            }
            address = resolved
        }
        switch Socket.connect(to: address) {
        case .failure(let failure):
            lastConnectError = failure.code
            worker.log.write(
                "connect to server '\(server.config.name)' of pool '\(server.pool.config.name)' failed: \(Socket.describe(failure.code))",
                level: 4)
            stats.serverErr.bump()
            server.recordFailure()
        case .success(let descriptor):
            fd = descriptor
            state = .connecting
            readWatcher = IOWatcher(base: worker.base, fd: fd, interest: [.read, .persist], target: self, tag: Self.readTag)
            writeWatcher = IOWatcher(base: worker.base, fd: fd, interest: [.write], target: self, tag: Self.writeTag)
            writeWatcher?.start()
            if isRedis { queueRedisPreamble() }
        }
    }

    func handleEvent(tag: Int, readable: Bool, writable: Bool, timedOut: Bool) {
        switch tag {
        case Self.writeTag:
            if state == .connecting {
                let code = Socket.pendingError(fd)
                if code != 0 {
                    close(code: code)
                    return
                }
                state = .connected
                stats.serverConnections.bump()
                stats.connectionsOpened.bump()
                worker.log.write("connected to server '\(server.config.name)' of pool '\(server.pool.config.name)'", level: 6)
                readWatcher?.start()
            }
            flush()
        case Self.readTag:
            readAvailable()
        default:
            checkTimeouts()
        }
    }

    /// Writes what is queued; arms the write watcher only when the socket is full.
    func flush() {
        guard state == .connected else { return }
        switch output.writeAll(to: fd) {
        case .done:
            break
        case .blocked:
            writeWatcher?.start()
            wakeWaiters()
            return
        case .failed(let code):
            close(code: code)
            return
        }
        unsent = 0
        stats.inQueue.set(0)
        stats.inQueueBytes.set(0)
        wakeWaiters()
    }

    private func readAvailable() {
        while true {
            let received = input.read(from: fd)
            if received > 0 {
                stats.responseBytes.bump(received)
                if !parseReplies() { return }
                if received < 16384 { return }
                continue
            }
            if received == -Int(EAGAIN) { return }
            close(code: received == 0 ? 0 : Int32(-received))
            return
        }
    }

    /// Frames replies from `input` and hands each to the oldest request waiting.
    /// Returns false when the connection was closed because a reply made no sense.
    private func parseReplies() -> Bool {
        if isRedis { return parseRedisReplies() }
        while !input.isEmpty {
            guard let request = inFlight.first else {
                // A reply nobody asked for: the stream cannot be trusted any more.
                close(code: EINVAL)
                return false
            }
            guard let lineEnd = input.firstCRLF() else {
                if input.count > Self.maxReplyLineLength {
                    close(code: EINVAL)
                    return false
                }
                return true
            }
            let parsed = input.withContiguousBytes(lineEnd) { MemcacheResponseParser.parse(line: $0) }
            let lineLength = lineEnd + 2
            switch parsed {
            case .value(let key, let valueLength):
                guard request.isRetrieval else { return broken() }
                let total = lineLength + valueLength + 2
                if input.count < total { return true }
                if !input.hasCRLF(at: total - 2) { return broken() }
                if request.role == .fragment {
                    guard let index = matchKey(request, key: key) else { return broken() }
                    if let parent = request.parent {
                        parent.store(index, from: input, length: total, fragment: request)
                    } else {
                        input.drain(total)
                    }
                } else {
                    input.move(total, to: request.reply)
                }
            case .end:
                if request.role == .fragment {
                    input.drain(lineLength)
                } else {
                    input.move(lineLength, to: request.reply)
                }
                complete()
            case .stat:
                return broken()
            case .simple, .error:
                if request.role == .fragment {
                    // A fragment must come back as VALUE blocks and END; anything else
                    // fails the whole multiget with what the server said, if it is an
                    // error, or with nutcracker's EINVAL text.
                    let text = input.copyBytes(lineLength)
                    input.drain(lineLength)
                    let failed = inFlight.removeFirst()
                    noteAnswered(failed)
                    failed.fail(
                        text.starts(with: Array("SERVER_ERROR".utf8)) ? text : Array("SERVER_ERROR Invalid argument\r\n".utf8))
                    release(failed)
                    continue
                }
                input.move(lineLength, to: request.reply)
                complete()
            case .invalid:
                return broken()
            }
        }
        return true
    }

    /// Closes the connection because the server's bytes do not parse (EINVAL).
    func broken() -> Bool {
        close(code: EINVAL)
        return false
    }

    /// The parent key index of the VALUE block of `key` in a fragment's reply: the next
    /// key of the fragment (in request order) with that name. memcached answers hits in
    /// the order asked, so walking forward finds it; misses are skipped. Nil when no
    /// key matches (the reply is out of step).
    private func matchKey(_ fragment: Request, key: Range<Int>) -> Int? {
        guard let parent = fragment.parent else { return -1 }
        let matched: Int? = input.withContiguousBytes(key.upperBound) { bytes -> Int? in
            let name = UnsafeRawBufferPointer(rebasing: bytes[key])
            while fragment.cursor < fragment.keyIndexes.count {
                let index = fragment.keyIndexes[fragment.cursor]
                fragment.cursor += 1
                let range = parent.keys[index]
                let equal = parent.line.withUnsafeBytes { line in
                    range.count == name.count && memcmp(line.baseAddress! + range.lowerBound, name.baseAddress!, name.count) == 0
                }
                if equal { return index }
            }
            return nil
        }
        return matched
    }

    /// The oldest request got its whole reply.
    func complete() {
        let request = inFlight.removeFirst()
        noteAnswered(request)
        server.recordSuccess()
        request.finish()
        release(request)
    }

    /// A fragment or broadcast part is of no more use once answered (its parent has
    /// taken its share): back to the worker's free list.
    @inline(__always)
    private func release(_ request: Request) {
        if request.role == .fragment || request.role == .broadcastPart { worker.recycle(request) }
    }

    /// Counts a reply from the server and its latency; updates the queue gauges.
    @inline(__always)
    func noteAnswered(_ request: Request) {
        stats.responses.bump()
        stats.latency.record(max(0, worker.clock.microseconds - request.startedAt))
        inFlightBytes -= request.requestBytes
        stats.outQueue.set(inFlight.count)
        stats.outQueueBytes.set(inFlightBytes)
    }

    /// Bytes of the requests awaiting a reply (nutcracker's out_queue_bytes).
    private var inFlightBytes = 0
    /// Requests queued since `output` was last empty (nutcracker's in_queue).
    private var unsent = 0

    /// Answers every waiting request with the error for `code` and resets the connection.
    private func failAll(code: Int32) {
        let message = errorReply(code)
        while !inFlight.isEmpty {
            let request = inFlight.removeFirst()
            request.fail(message)
            release(request)
        }
        inFlightBytes = 0
        unsent = 0
        stats.outQueue.set(0)
        stats.outQueueBytes.set(0)
        stats.inQueue.set(0)
        stats.inQueueBytes.set(0)
    }

    /// nutcracker's reply for a server failure: `SERVER_ERROR <strerror>` (memcache) or
    /// `-ERR <strerror>` (Redis), with `unknown` for a plain end of stream.
    func errorReply(_ code: Int32) -> [UInt8] {
        let reason = code == 0 ? "unknown" : Socket.describe(code)
        return Array((isRedis ? "-ERR \(reason)\r\n" : "SERVER_ERROR \(reason)\r\n").utf8)
    }

    /// Checks the oldest request's deadline; on expiry the whole connection fails with
    /// ETIMEDOUT (nutcracker's behaviour: every request on it gets the error).
    private func checkTimeouts() {
        guard let head = inFlight.first else { return }
        let now = worker.clock.now
        if head.deadline <= now {
            stats.serverTimedout.bump()
            close(code: ETIMEDOUT)
        } else {
            armTimer()
        }
    }

    private func armTimer() {
        guard let head = inFlight.first, head.deadline != Int.max else { return }
        if timer == nil {
            timer = IOWatcher(base: worker.base, fd: -1, interest: [], target: self, tag: Self.timerTag)
        }
        timer?.start(timeoutMilliseconds: max(1, head.deadline - worker.clock.now))
    }

    /// Closes the connection at shutdown: no error is counted or answered (the clients
    /// are gone).
    func shutdown() {
        readWatcher?.stop()
        writeWatcher?.stop()
        timer?.stop()
        if fd >= 0 { Socket.close(fd) }
        fd = -1
        state = .disconnected
    }

    /// Drops the socket; `code` 0 is an orderly end of stream from the server.
    func close(code: Int32) {
        worker.log.write(
            "server '\(server.config.name)' of pool '\(server.pool.config.name)' closed: "
                + "\(code == 0 ? "end of stream" : Socket.describe(code)); \(inFlight.count) requests answered with an error",
            level: 4)
        if state == .connected { stats.serverConnections.bump(-1) }
        if code == 0 { stats.serverEOF.bump() } else if code != ETIMEDOUT { stats.serverErr.bump() }
        readWatcher?.stop()
        writeWatcher?.stop()
        timer?.stop()
        readWatcher = nil
        writeWatcher = nil
        if fd >= 0 { Socket.close(fd) }
        fd = -1
        state = .disconnected
        input.drain(input.count)
        output.drain(output.count)
        replyFramer.reset()
        server.recordFailure()
        failAll(code: code)
        wakeWaiters()
    }
}
