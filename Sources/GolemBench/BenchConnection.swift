import Golem

#if canImport(Glibc)
    import Glibc
#endif

/// One connection of a bench thread to the server: a non-blocking socket, an input and
/// an output `Buffer`, and the requests sent on it that still wait for their replies,
/// oldest first (memcached answers in order).
///
/// The outstanding requests live in a ring of fixed capacity (the deepest pipeline the
/// connection will run), one send time and one request code each: no object per request.
final class BenchConnection: EventTarget {
    enum State { case idle, connecting, connected, closed }

    /// The thread owns its connections, so the back reference needs no retain.
    unowned(unsafe) let thread: BenchThread
    /// Position among all connections of the run: places the connection in the open-loop
    /// timetable and picks its share of prefill keys and of `--requests`.
    let globalIndex: Int
    private(set) var state = State.idle
    private(set) var fd: Int32 = -1
    private let input = Buffer()
    private let output = Buffer()
    private var readWatcher: IOWatcher?
    private var writeWatcher: IOWatcher?
    private var parser = ReplyParser()

    // The ring of outstanding requests.
    private var sentAt: [Int]
    private var codes: [Int32]
    private var head = 0
    /// Requests sent (or queued to send) and not yet answered.
    private(set) var outstanding = 0

    // Request generation, driven by the thread.
    /// Position in the get/set cycle of `--ratio`.
    var ratioPosition = 0
    /// The next open-loop slot of this connection (its j-th request is due at
    /// start + (globalIndex + j × connections) / rate).
    var scheduleIndex = 0
    /// Requests this connection may send after the warm-up (`--requests`); `Int.max`
    /// when the run is timed.
    let quota: Int
    /// Requests sent after the warm-up so far.
    var sentCounted = 0
    /// The prefill keys of this connection not yet sent: `prefillNext..<prefillEnd`.
    var prefillNext: Int
    let prefillEnd: Int

    private static let readTag = 0
    private static let writeTag = 1

    init(thread: BenchThread, globalIndex: Int, capacity: Int, quota: Int, prefillKeys: Range<Int>) {
        self.thread = thread
        self.globalIndex = globalIndex
        self.quota = quota
        prefillNext = prefillKeys.lowerBound
        prefillEnd = prefillKeys.upperBound
        sentAt = [Int](repeating: 0, count: capacity)
        codes = [Int32](repeating: 0, count: capacity)
    }

    /// Starts a non-blocking connect; the result arrives through `BenchThread.connected`
    /// or `BenchThread.connectionFailed`. Returns the failure when it fails at once.
    func connect(to address: Socket.Address) -> Socket.Failure? {
        switch Socket.connect(to: address) {
        case .failure(let failure):
            state = .closed
            return failure
        case .success(let descriptor):
            fd = descriptor
            state = .connecting
            readWatcher = IOWatcher(
                base: thread.base, fd: fd, interest: [.read, .persist], target: self, tag: Self.readTag)
            writeWatcher = IOWatcher(base: thread.base, fd: fd, interest: [.write], target: self, tag: Self.writeTag)
            writeWatcher?.start()
            return nil
        }
    }

    func handleEvent(tag: Int, readable: Bool, writable: Bool, timedOut: Bool) {
        if tag == Self.writeTag {
            if state == .connecting {
                let code = Socket.pendingError(fd)
                guard code == 0 else {
                    close()
                    thread.connectionFailed(self, reason: Socket.describe(code))
                    return
                }
                state = .connected
                readWatcher?.start()
                thread.connected(self)
            }
            flush()
            return
        }
        readAvailable()
    }

    /// The newest request's slot: records its send time and what it was.
    @inline(__always)
    func push(sentAt time: Int, request: BenchRequest) {
        var slot = head + outstanding
        if slot >= sentAt.count { slot -= sentAt.count }
        sentAt[slot] = time
        codes[slot] = request.code
        outstanding += 1
    }

    /// Appends requests (the thread's `RequestWriter` writes into this buffer).
    var outputBuffer: Buffer { output }

    /// Ring capacity: the most requests this connection can have outstanding.
    var capacity: Int { sentAt.count }

    /// Writes what is queued; arms the write watcher only when the socket is full.
    func flush() {
        guard state == .connected else { return }
        switch output.writeAll(to: fd) {
        case .done: break
        case .blocked: writeWatcher?.start()
        case .failed(let code): fail(reason: code == 0 ? "write failed" : "write failed: \(Socket.describe(code))")
        }
    }

    /// Reads everything the socket has, counts each reply that completes, then lets the
    /// thread send what the freed pipeline slots allow.
    private func readAvailable() {
        guard state == .connected else { return }
        var now = 0
        while true {
            let received = input.read(from: fd)
            if received > 0 {
                now = BenchClock.now()
                let count = input.count
                let intact = input.withContiguousBytes(count) { consume($0, now: now) }
                input.drain(count)
                guard intact else {
                    fail(reason: "the server's reply made no sense")
                    return
                }
                if received < 16384 { break }
                continue
            }
            if received == -Int(EAGAIN) { break }
            fail(
                reason: received == 0
                    ? "the server closed the connection" : "read failed: \(Socket.describe(Int32(-received)))")
            return
        }
        guard now > 0 else { return }
        thread.lastActivity = now
        thread.fill(self, now: now)
        flush()
    }

    /// Frames the replies in `bytes`, each completing the oldest outstanding request.
    /// False when the stream cannot be trusted any more.
    @inline(__always)
    private func consume(_ bytes: UnsafeRawBufferPointer, now: Int) -> Bool {
        var offset = 0
        while let reply = parser.next(in: bytes, at: &offset) {
            guard outstanding > 0 else { return false }
            let time = sentAt[head]
            let request = BenchRequest(code: codes[head])
            head += 1
            if head == sentAt.count { head = 0 }
            outstanding -= 1
            thread.complete(reply, for: request, sentAt: time, now: now)
            if reply == .unexpected { return false }
        }
        return true
    }

    /// Closes the connection after a failure; its outstanding requests are counted lost.
    func fail(reason: String) {
        guard state != .closed else { return }
        close()
        while outstanding > 0 {
            thread.lose(BenchRequest(code: codes[head]), sentAt: sentAt[head])
            head += 1
            if head == sentAt.count { head = 0 }
            outstanding -= 1
        }
        thread.connectionFailed(self, reason: reason)
    }

    /// Closes the socket (no accounting). The watchers stay allocated until the
    /// connection goes: this may run inside one of their callbacks.
    func close() {
        guard state != .closed else { return }
        readWatcher?.stop()
        writeWatcher?.stop()
        if fd >= 0 { Socket.close(fd) }
        fd = -1
        state = .closed
    }
}
