#if canImport(Glibc)
    import Glibc
#endif

/// One memcache client connection, for its whole life on one worker.
///
/// Requests are framed in place from `input`, routed, and their bytes moved (not
/// copied) to server connections. Each request that expects a reply takes a place in
/// `queue`; replies leave strictly in queue order. Bad input gets memcached's error
/// reply; the connection closes only where the byte stream cannot be resynchronised,
/// and then only after the replies due before the bad request are written.
final class ClientConnection: EventTarget {
    unowned(unsafe) let worker: Worker
    unowned(unsafe) let pool: PoolRuntime
    private let fd: Int32
    let input = Buffer()
    let output = Buffer()
    var queue = RequestQueue()
    /// Counts reads from the socket: requests that arrived in the same read were sent
    /// together (a pipelined burst) and carry the same number.
    private var readCount = 0
    private var request = MemcacheRequest()
    /// Redis pools: the request framer, and whether the client has passed AUTH.
    var redisFramer = RedisRequestFramer()
    var authenticated = true
    private var readWatcher: IOWatcher!
    private var writeWatcher: IOWatcher!
    /// Reading is paused while too much is queued (backpressure).
    private(set) var paused = false
    /// No more requests will be read: end of stream, `quit`, or an unrecoverable error.
    private var inputClosed = false
    /// Set when the connection must close once pending replies are written, with
    /// whether that counts as a client error.
    var closeAfterReplies = false
    private var closedWithError = false
    private(set) var closed = false
    /// Bytes `input` must hold before parsing can make progress (a storage request
    /// waiting for its data block).
    private var needed = 0
    /// Bytes still to discard after a bad request whose data block must be skipped.
    private var swallow = 0
    var isDirty = false
    /// On the worker's list of clients whose replies are held back.
    var isHeld = false
    /// Which of each server's `server_connections` connections this client uses.
    let slot: Int
    /// A server connection whose unsent bytes passed its high-water mark while this
    /// client was writing to it: the client stops reading until it drains.
    var blockedOn: ServerConnection?

    /// Above this many queued requests or output bytes, reading pauses. Replies to the
    /// requests already sent still arrive, so a client that never reads costs at most
    /// about `maxQueued` replies plus `maxOutputBytes`.
    static let maxQueued = 1024
    static let maxOutputBytes = 4 << 20
    /// Replies held back while later requests are in flight, at most this many bytes.
    static let holdBytes = 16 << 10

    private static let readTag = 0
    private static let writeTag = 1

    init(worker: Worker, pool: PoolRuntime, fd: Int32, slot: Int) {
        self.worker = worker
        self.pool = pool
        self.fd = fd
        self.slot = slot
        readWatcher = IOWatcher(base: worker.base, fd: fd, interest: [.read, .persist], target: self, tag: Self.readTag)
        writeWatcher = IOWatcher(base: worker.base, fd: fd, interest: [.write], target: self, tag: Self.writeTag)
        readWatcher.start()
        authenticated = pool.config.redisAuth == nil
        pool.stats.clientConnections.bump()
    }

    func handleEvent(tag: Int, readable: Bool, writable: Bool, timedOut: Bool) {
        if lingering {
            discardUntilClosed(timedOut: tag == Self.lingerTag)
        } else if tag == Self.writeTag {
            flush()
        } else {
            readAvailable()
        }
    }

    /// After an unrecoverable protocol error, the socket lingers half-closed: our side
    /// is shut down for writing, and whatever the client still sends is read and
    /// dropped until it closes, `lingerMilliseconds` pass or `lingerBytes` arrive.
    /// Why: closing a socket with unread input makes the kernel send a reset, and a
    /// reset can destroy the replies we just wrote before the client reads them.
    private var lingering = false
    private var lingerTimer: IOWatcher?
    private var lingerDiscarded = 0
    private static let lingerTag = 2
    static let lingerMilliseconds = 2000
    static let lingerBytes = 16 << 20

    private func startLinger() {
        lingering = true
        shutdown(fd, Int32(SHUT_WR))
        input.drain(input.count)
        lingerTimer = IOWatcher(base: worker.base, fd: -1, interest: [], target: self, tag: Self.lingerTag)
        lingerTimer?.start(timeoutMilliseconds: Self.lingerMilliseconds)
        readWatcher.start()
    }

    private func discardUntilClosed(timedOut: Bool) {
        while !timedOut {
            let received = input.read(from: fd)
            input.drain(input.count)
            if received == -Int(EAGAIN) { return }
            if received <= 0 { break }
            lingerDiscarded += received
            if lingerDiscarded > Self.lingerBytes { break }
        }
        close()
    }

    private func readAvailable() {
        while !inputClosed && !paused {
            let received = input.read(from: fd)
            if received > 0 {
                readCount &+= 1
                processInput()
                if received < 16384 && !draining { return }
                continue
            }
            if received == -Int(EAGAIN) {
                if draining && !paused { finishDrain() }
                return
            }
            if received == 0 {
                // End of stream: still answer what was asked, then close.
                stopReading()
                closeAfterReplies = true
                processInput()
                closeIfDone()
            } else {
                closedWithError = true
                close()
            }
            return
        }
    }

    func stopReading() {
        inputClosed = true
        readWatcher.stop()
    }

    /// Frames and dispatches every complete request in `input`.
    private func processInput() {
        if pool.isRedis {
            processRedisInput()
            return
        }
        while !closed {
            if swallow > 0 {
                let dropped = min(swallow, input.count)
                input.drain(dropped)
                swallow -= dropped
                if swallow > 0 { return }
            }
            if input.isEmpty || input.count < needed { return }
            guard let (lineEnd, eolLength) = input.firstLineEnd() else {
                // No line end yet: a line longer than memcached allows closes the
                // connection (after the replies already due), so garbage without a
                // line end cannot make memory grow.
                let limit = input.withContiguousBytes(min(input.count, 128)) {
                    MemcacheRequestParser.lineLengthLimit(startingWith: $0)
                }
                if input.count > limit + 1 {
                    reject(reply: MemcacheParseError.lineTooLong.reply, lineLength: input.count, swallow: 0, close: true)
                }
                return
            }
            let limit = input.withContiguousBytes(min(lineEnd, 128)) { MemcacheRequestParser.lineLengthLimit(startingWith: $0) }
            if lineEnd > limit {
                reject(reply: MemcacheParseError.lineTooLong.reply, lineLength: input.count, swallow: 0, close: true)
                return
            }
            let lineLength = lineEnd + eolLength
            let result = input.withContiguousBytes(lineEnd) { line in
                MemcacheRequestParser.parse(line: line, into: &request)
            }
            switch result {
            case .error(let error):
                reject(reply: error.reply, lineLength: lineLength, swallow: error.swallow, close: error.closeConnection)
            case .request:
                var total = lineLength
                if request.command.isStorage {
                    total += request.valueLength + 2
                    if input.count < total {
                        needed = total
                        return
                    }
                    if let error = MemcacheRequestParser.dataBlockError(
                        last: input.byte(at: total - 1)!, beforeLast: input.byte(at: total - 2)!, noreply: request.noreply)
                    {
                        // memcached consumes the whole block either way and reads on.
                        needed = 0
                        reject(reply: error.reply, lineLength: total, swallow: 0, close: false)
                        continue
                    }
                }
                needed = 0
                dispatch(lineLength: lineLength, total: total)
            }
            if mustPauseAfterRequest() { return }
        }
    }

    /// Backpressure, checked after each request: pauses reading (and returns true) when
    /// a server connection this client wrote to is backed up, or too many replies are
    /// due.
    func mustPauseAfterRequest() -> Bool {
        if let server = blockedOn {
            blockedOn = nil
            pause()
            server.addWaiter(self)
            return true
        }
        if queue.count >= Self.maxQueued || output.count >= Self.maxOutputBytes {
            pause()
            return true
        }
        return false
    }

    /// Queues a proxy-made reply in order, drops the bad bytes, and closes afterwards if
    /// the stream cannot be trusted.
    func reject(reply: String, lineLength: Int, swallow more: Int, close: Bool) {
        let local = worker.makeRequest(role: .local, client: self)
        local.reply.append(reply)  // may be empty: memcached is silent on noreply errors
        input.drain(min(lineLength, input.count))
        swallow = more
        if close {
            closedWithError = true
            closeAfterReplies = true
            stopReading()
            input.drain(input.count)
        }
        awaitReply(local)
        local.isDone = true
        requestFinished()
    }

    /// Routes one parsed request whose bytes (`total`, line included) start `input`.
    private func dispatch(lineLength: Int, total: Int) {
        pool.refreshRouter()
        switch request.command {
        case .get, .gets, .gat, .gats:
            forwardRetrieval(lineLength: lineLength)
        case .version:
            // nutcracker sends `version` to the server of the key "placeholder".
            input.drain(lineLength)
            let server = Array("placeholder".utf8).withUnsafeBytes { pool.server(forKey: $0, random: worker.nextRandom()) }
            forward(to: server, bytes: nil, literal: "version\r\n", expectsReply: true, retrieval: false)
        case .quit:
            input.drain(lineLength)
            stopReading()
            closeAfterReplies = true
            input.drain(input.count)
            closeIfDone()
        case .flushAll, .verbosity:
            broadcast(lineLength: lineLength)
        case .stats:
            input.drain(lineLength)
            guard request.arguments.isEmpty else {
                // memcached's sub-reports (items, slabs, ...) describe one server; a
                // proxy has none of its own, so they are unknown here, as `stats foo`
                // is to memcached.
                answerLocally("ERROR\r\n")
                return
            }
            let local = worker.makeRequest(role: .local, client: self)
            local.reply.append(worker.statsReply(pool: pool))
            awaitReply(local)
            local.isDone = true
            requestFinished()
        default:
            // Storage, delete, incr/decr, touch: one key, forwarded as is.
            let server = routeKey(0, lineLength: lineLength)
            forward(to: server, bytes: total, literal: nil, expectsReply: !request.noreply, retrieval: false)
        }
    }

    /// The server for the request's key `index` (keys are ranges in the line).
    private func routeKey(_ index: Int, lineLength: Int) -> Int? {
        let range = request.keys[index]
        return input.withContiguousBytes(lineLength) { line in
            pool.server(forKey: UnsafeRawBufferPointer(rebasing: line[range]), random: worker.nextRandom())
        }
    }

    /// Sends `bytes` from the front of `input` (or a literal) to `server`, queuing a
    /// request for the reply when one is expected.
    func forward(to server: Int?, bytes: Int?, literal: StaticString?, expectsReply: Bool, retrieval: Bool) {
        guard let server else {
            // No live server in the pool.
            if let bytes { input.drain(bytes) }
            if expectsReply { answerLocally(pool.isRedis ? "-ERR Connection refused\r\n" : "SERVER_ERROR Connection refused\r\n") }
            pool.stats.forwardError.bump()
            return
        }
        let runtime = pool.servers[server]
        let connection = runtime.connection(slot: slot)
        var length = 0
        if let bytes {
            input.move(bytes, to: connection.output)
            length = bytes
        } else if let literal {
            connection.output.append(literal)
            length = literal.utf8CodeUnitCount
        }
        runtime.stats.requests.bump()
        runtime.stats.requestBytes.bump(length)
        noteBacklog(connection)
        guard expectsReply else {
            connection.enqueue(nil)
            return
        }
        let forwarded = worker.makeRequest(role: .single, client: self)
        forwarded.isRetrieval = retrieval
        forwarded.requestBytes = length
        forwarded.serverIndex = server
        awaitReply(forwarded)
        connection.enqueue(forwarded)
    }

    /// Remembers a server connection that has too much unsent, so reading stops after
    /// the current request.
    func noteBacklog(_ connection: ServerConnection) {
        if connection.output.count > ServerConnection.highWater { blockedOn = connection }
    }

    func answerLocally(_ text: StaticString) {
        let local = worker.makeRequest(role: .local, client: self)
        local.reply.append(text)
        awaitReply(local)
        local.isDone = true
        requestFinished()
    }

    /// Queues a proxy-made reply that `fill` writes.
    func answerLocally(_ fill: (Buffer) -> Void) {
        let local = worker.makeRequest(role: .local, client: self)
        fill(local.reply)
        awaitReply(local)
        local.isDone = true
        requestFinished()
    }

    /// get/gets/gat/gats: one key, or all keys on one server, goes as it came; otherwise
    /// one sub-request per server, merged back in the client's key order.
    private func forwardRetrieval(lineLength: Int) {
        let keyCount = request.keys.count
        let servers = routeKeys(keyCount) { index in
            input.withContiguousBytes(lineLength) { line in
                pool.server(forKey: UnsafeRawBufferPointer(rebasing: line[request.keys[index]]), random: worker.nextRandom())
            }
        }
        defer { worker.keyServers = servers }
        if forwardUnsplit(servers, bytes: lineLength, retrieval: true) { return }
        let parent = worker.makeRequest(role: .multiget, client: self)
        // Copy the line and key ranges into the parent's own storage (reused with the
        // request object, so no allocation once it has grown).
        input.withContiguousBytes(lineLength) { parent.line.append(contentsOf: $0) }
        parent.keys.append(contentsOf: request.keys)
        parent.prepareSlots(keyCount)
        input.drain(lineLength)
        awaitReply(parent)
        let command = request.command
        let exptime = request.exptimeRange
        // Count every fragment before sending any: one may fail at once (connection
        // refused) and must not complete the parent early.
        parent.pending = pool.servers.reduce(0) { $0 + (servers.contains($1.index) ? 1 : 0) }
        for server in pool.servers where servers.contains(server.index) {
            let fragment = makeFragment(of: parent, for: server)
            fragment.isRetrieval = true
            let connection = server.connection(slot: slot)
            let out = connection.output
            let before = out.count
            // The command word (and gat's exptime) starts every sub-request.
            switch command {
            case .gets: out.append("gets")
            case .gat: out.append("gat ")
            case .gats: out.append("gats ")
            default: out.append("get")
            }
            parent.line.withUnsafeBytes { line in
                if command == .gat || command == .gats { out.append(UnsafeRawBufferPointer(rebasing: line[exptime!])) }
                for index in 0..<keyCount where servers[index] == server.index {
                    fragment.keyIndexes.append(index)
                    out.append(" ")
                    out.append(UnsafeRawBufferPointer(rebasing: line[parent.keys[index]]))
                }
            }
            out.append("\r\n")
            send(fragment, on: connection, bytes: out.count - before)
        }
    }

    /// A fragment of `parent` for `server` (a multiget's or a split Redis command's).
    func makeFragment(of parent: Request, for server: ServerRuntime) -> Request {
        let fragment = worker.makeRequest(role: .fragment, client: nil)
        fragment.parent = parent
        fragment.serverIndex = server.index
        return fragment
    }

    /// Queues `fragment`, whose `bytes` the caller has just appended to the output of
    /// `connection`, and counts it.
    func send(_ fragment: Request, on connection: ServerConnection, bytes: Int) {
        fragment.requestBytes = bytes
        connection.server.stats.requests.bump()
        connection.server.stats.requestBytes.bump(bytes)
        noteBacklog(connection)
        pool.stats.fragments.bump()
        connection.enqueue(fragment)
    }

    /// The servers of `count` keys (-1 where no server is live), in the worker's
    /// reusable array: the caller hands it back (`worker.keyServers = servers`).
    func routeKeys(_ count: Int, _ server: (Int) -> Int?) -> [Int] {
        // Take the array rather than copy it: a copy would make removeAll reallocate.
        var servers: [Int] = []
        swap(&servers, &worker.keyServers)
        servers.removeAll(keepingCapacity: true)
        for index in 0..<count { servers.append(server(index) ?? -1) }
        return servers
    }

    /// A multi-key request whose keys all live on one server goes there whole; one with
    /// a key on no live server is answered with the connection-refused error. Returns
    /// false when the request has to be split.
    func forwardUnsplit(_ servers: [Int], bytes: Int, retrieval: Bool) -> Bool {
        if !servers.contains(where: { $0 != servers[0] }) {
            forward(to: servers[0] < 0 ? nil : servers[0], bytes: bytes, literal: nil, expectsReply: true, retrieval: retrieval)
            return true
        }
        guard servers.contains(-1) else { return false }
        input.drain(bytes)
        pool.stats.forwardError.bump()
        answerLocally(pool.isRedis ? "-ERR Connection refused\r\n" : "SERVER_ERROR Connection refused\r\n")
        return true
    }

    /// flush_all and verbosity go to every server; one merged reply comes back.
    private func broadcast(lineLength: Int) {
        let line = input.withContiguousBytes(lineLength) { Array($0) }
        input.drain(lineLength)
        let parent: Request? = request.noreply ? nil : worker.makeRequest(role: .broadcast, client: self)
        if let parent {
            parent.pending = pool.servers.count
            awaitReply(parent)
        }
        for server in pool.servers {
            let connection = server.connection(slot: slot)
            connection.output.append(line)
            noteBacklog(connection)
            server.stats.requests.bump()
            server.stats.requestBytes.bump(line.count)
            if let parent {
                let part = worker.makeRequest(role: .broadcastPart, client: nil)
                part.parent = parent
                part.requestBytes = line.count
                connection.enqueue(part)
            } else {
                connection.enqueue(nil)
            }
        }
    }

    /// Queues `request` for its reply, in order, marked with the read it came in.
    @inline(__always)
    func awaitReply(_ request: Request) {
        request.batch = readCount
        queue.append(request)
    }

    /// Some request finished: write every finished reply at the head of the queue.
    func requestFinished() {
        guard !closed else { return }
        var lastBatch = -1
        while let head = queue.first, head.isDone {
            queue.removeFirst()
            head.reply.moveAll(to: output)
            lastBatch = head.batch
            worker.recycle(head)
        }
        if !output.isEmpty {
            // The next reply due belongs to a request sent together with the ones just
            // answered (a pipelined burst): hold these replies so that one write (and
            // one packet) carries the burst's replies, unless enough are queued to fill
            // a packet anyway. A request sent later is not waited for. The worker's
            // timer bounds the hold.
            let sameBurst = queue.first.map { $0.batch == lastBatch } ?? false
            if !sameBurst || output.count >= Self.holdBytes || draining {
                worker.markDirty(self)
            } else {
                worker.hold(self)
            }
        }
        resumeIfDrained()
        if queue.isEmpty && output.isEmpty { closeIfDone() }
    }

    private func pause() {
        paused = true
        readWatcher.stop()
    }

    /// Reads again once neither the reply queue nor the output is over half its limit.
    /// Server connections call this when their backlog drains.
    func resumeIfDrained() {
        if paused && !closed && queue.count < Self.maxQueued / 2 && output.count < Self.maxOutputBytes / 2 {
            resume()
        }
    }

    private func resume() {
        paused = false
        if !inputClosed {
            readWatcher.start()
            processInput()
            // A graceful stop that began while this client was paused ends its drain
            // here: when the socket holds nothing more, no read event would come to
            // notice that, and the client would stay open until the grace deadline.
            if draining && !paused && !closed { readAvailable() }
        }
    }

    /// Writes queued replies; arms the write watcher only when the socket is full.
    func flush() {
        guard !closed else { return }
        switch output.writeAll(to: fd) {
        case .done:
            break
        case .blocked:
            writeWatcher.start()
            return
        case .failed:
            closedWithError = true
            close()
            return
        }
        resumeIfDrained()
        closeIfDone()
    }

    /// Graceful stop: read nothing more, answer what was read, then close.
    /// Everything the client sent before the stop is in the socket already: read it all
    /// (until the socket has nothing more), answer it, then close. A client that goes
    /// on sending is cut off by the worker's grace deadline.
    func drain() {
        guard !closed else { return }
        draining = true
        stopLinger = true
        if inputClosed {
            closeIfDone()
        } else if !paused {
            readAvailable()
        }
    }

    private var draining = false

    private func finishDrain() {
        stopReading()
        closeAfterReplies = true
        closeIfDone()
    }

    /// Set by `drain`: close through the lingering path, so replies are not reset away.
    private var stopLinger = false

    func closeIfDone() {
        guard closeAfterReplies && queue.isEmpty && output.isEmpty && !closed && !lingering else { return }
        if (closedWithError || stopLinger) && inputClosed {
            startLinger()
        } else {
            close()
        }
    }

    /// Closes the socket. Requests still out at servers are detached: their replies,
    /// when they come, are dropped.
    func close() {
        guard !closed else { return }
        closed = true
        readWatcher.stop()
        writeWatcher.stop()
        lingerTimer?.stop()
        lingerTimer = nil
        Socket.close(fd)
        for case let request? in queue.all { request.client = nil }
        queue = RequestQueue()
        if closedWithError { pool.stats.clientErr.bump() } else { pool.stats.clientEOF.bump() }
        pool.stats.clientConnections.bump(-1)
        pool.shared.releaseClient()
        worker.removeClient(self)
    }
}
