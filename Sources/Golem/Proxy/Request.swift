/// One client request on its way through the proxy, and the slot its reply fills.
///
/// A request sits in its client's queue from the moment it is parsed until its reply
/// has been written back, so replies leave in request order whatever order servers
/// answer in. A multi-key retrieval is a *parent* whose *fragments* (one per server)
/// travel to the servers; the parent's reply is assembled from theirs.
final class Request {
    /// What kind of work the request stands for.
    enum Role {
        /// Forwarded to one server as it came; the server's reply is passed back as is.
        case single
        /// A multi-key retrieval split into fragments; owns one reply slot per key.
        case multiget
        /// One server's share of a multiget.
        case fragment
        /// Sent to every server of the pool (flush_all, verbosity); one merged reply.
        case broadcast
        /// One server's copy of a broadcast.
        case broadcastPart
        /// Answered by the proxy itself; the reply is ready when it is queued.
        case local
        /// A Redis multi-key command split into fragments (one per server), merged as
        /// `merge` says.
        case split
        /// Sent by the proxy on its own behalf (AUTH, SELECT on a new Redis server
        /// connection); no client waits for it.
        case control
    }

    /// How a split Redis command's fragment replies become one reply.
    enum Merge {
        /// MGET: one array, elements in the client's key order.
        case array
        /// DEL, UNLINK, TOUCH, EXISTS: the integers summed.
        case sum
        /// MSET: `+OK` once every fragment said `+OK`.
        case ok
    }

    var role: Role = .single
    /// The client waiting for this request; nil once that client has gone.
    var client: ClientConnection?
    /// The parent of a fragment or broadcast part.
    var parent: Request?
    /// The reply, complete when `isDone`.
    let reply = Buffer()
    var isDone = false
    /// Whether the server's reply is a retrieval reply (`VALUE ...` blocks, then `END`).
    var isRetrieval = false
    /// Server index in the pool, for stats and error attribution.
    var serverIndex = 0
    /// When the request times out, in monotonic milliseconds (`Int.max`: never).
    var deadline = Int.max
    /// Bytes sent to the server (for stats).
    var requestBytes = 0
    /// When the request was queued for its server, monotonic µs (for latency).
    var startedAt = 0
    /// The client's read this request arrived in (see `ClientConnection.requestFinished`).
    var batch = 0

    // Multiget parent: a copy of the request line (keys are ranges into it), one reply
    // slot per key, how many fragments are still out, and the first failure.
    var line: [UInt8] = []
    var keys: [Range<Int>] = []
    var slots: [Buffer?] = []
    var pending = 0
    var failure: [UInt8]? = nil
    // Split Redis command: how to merge, and the running sum.
    var merge = Merge.ok
    var sum = 0

    // Fragment: the parent key indexes this fragment carries, and how far the reply has
    // matched them.
    var keyIndexes: [Int] = []
    var cursor = 0

    /// Fragment: the parent's buffer this fragment's values are gathered in.
    var gathered: Buffer?
    /// Parent: each key's value length; the value is at the front of `slots[index]`
    /// when the values before it in that buffer have been taken.
    var slotLengths: [Int] = []

    /// Buffers this object owns and lends to its fragments each time it is a parent:
    /// one per fragment, so a multi-key reply allocates no buffer objects once its
    /// request objects have served a few. At most `maxSpares` are kept across uses.
    private var spares: [Buffer] = []
    private var sparesLent = 0
    private static let maxSpares = 64

    /// Makes `count` empty reply slots (parents).
    func prepareSlots(_ count: Int) {
        slots.removeAll(keepingCapacity: true)
        slots.append(contentsOf: repeatElement(nil, count: count))
        slotLengths.removeAll(keepingCapacity: true)
        slotLengths.append(contentsOf: repeatElement(0, count: count))
    }

    /// Takes the `length` bytes at the front of `source` as the value of key `index`,
    /// gathered with `fragment`'s other values. A fragment's values arrive in its key
    /// order, which is the order the merge takes them in, so one buffer per fragment
    /// serves all its keys and the merge takes each from the front.
    func store(_ index: Int, from source: Buffer, length: Int, fragment: Request) {
        let buffer: Buffer
        if let gathered = fragment.gathered {
            buffer = gathered
        } else {
            if sparesLent == spares.count { spares.append(Buffer()) }
            buffer = spares[sparesLent]
            sparesLent += 1
            fragment.gathered = buffer
        }
        source.move(length, to: buffer)
        slots[index] = buffer
        slotLengths[index] = length
    }

    /// Clears every field for the next use of this object (the worker's free list).
    func reset() {
        role = .single
        client = nil
        parent = nil
        reply.drain(reply.count)
        isDone = false
        isRetrieval = false
        serverIndex = 0
        deadline = Int.max
        requestBytes = 0
        startedAt = 0
        line.removeAll(keepingCapacity: true)
        keys.removeAll(keepingCapacity: true)
        slots.removeAll(keepingCapacity: true)
        slotLengths.removeAll(keepingCapacity: true)
        gathered = nil
        for index in 0..<sparesLent where !spares[index].isEmpty { spares[index].drain(spares[index].count) }
        sparesLent = 0
        if spares.count > Self.maxSpares { spares.removeLast(spares.count - Self.maxSpares) }
        pending = 0
        failure = nil
        merge = .ok
        sum = 0
        keyIndexes.removeAll(keepingCapacity: true)
        cursor = 0
    }

    /// Marks the request answered and tells whoever waits for it.
    func finish() {
        isDone = true
        switch role {
        case .fragment, .broadcastPart:
            parent?.childFinished(self)
            parent = nil
        default:
            client?.requestFinished()
        }
    }

    /// Answers the request with a proxy-made error line (`SERVER_ERROR ...\r\n`).
    func fail(_ message: [UInt8]) {
        guard !isDone else { return }
        switch role {
        case .fragment, .broadcastPart:
            parent?.recordFailure(message)
        default:
            reply.drain(reply.count)
            reply.append(message)
        }
        finish()
    }

    /// Records the first failure among a parent's children.
    func recordFailure(_ message: [UInt8]) {
        if failure == nil { failure = message }
    }

    /// A fragment or broadcast part is done; when the last one is, assemble the reply.
    func childFinished(_ child: Request) {
        if child.role == .broadcastPart {
            // Any reply other than OK from one server becomes the whole reply.
            if failure == nil, child.reply.count > 0, child.reply.copyBytes(2) != Array("OK".utf8) {
                failure = child.reply.copyBytes()
            }
            if reply.isEmpty { child.reply.moveAll(to: reply) }
        }
        child.reply.drain(child.reply.count)
        guard pending > 0 else { return }
        pending -= 1
        guard pending == 0 else { return }
        if let failure {
            reply.drain(reply.count)
            reply.append(failure)
        } else if role == .multiget {
            for index in slots.indices {
                if let slot = slots[index] { slot.move(slotLengths[index], to: reply) }
            }
            reply.append("END\r\n")
        } else if role == .split {
            switch merge {
            case .array:
                reply.appendHeader(UInt8(ascii: "*"), slots.count)
                for index in slots.indices {
                    if let slot = slots[index] { slot.move(slotLengths[index], to: reply) } else { reply.append("$-1\r\n") }
                }
            case .sum:
                reply.appendHeader(UInt8(ascii: ":"), sum)
            case .ok:
                reply.append("+OK\r\n")
            }
        }
        slots.removeAll(keepingCapacity: true)
        finish()
    }
}
