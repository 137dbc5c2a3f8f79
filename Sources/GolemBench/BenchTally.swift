/// A request golem-bench sends, as far as counting its reply goes.
public enum BenchRequest: Equatable, Sendable {
    /// `get` of `keys` keys (a multiget when more than one).
    case get(keys: Int)
    /// `set` of one key.
    case set

    /// The compact form kept per outstanding request: the key count of a get, 0 for a set.
    @inline(__always)
    var code: Int32 {
        switch self {
        case .get(let keys): Int32(keys)
        case .set: 0
        }
    }

    @inline(__always)
    init(code: Int32) {
        self = code == 0 ? .set : .get(keys: Int(code))
    }
}

/// What the measured requests came to: each request is counted exactly once, when its
/// whole reply has arrived (or when its connection was lost first).
public struct BenchTally: Sendable, Equatable {
    /// Requests finished: answered, or lost with their connection.
    public var requests = 0
    public var gets = 0
    public var sets = 0
    /// Keys found (`VALUE` blocks) and not found over all gets.
    public var hits = 0
    public var misses = 0
    public var serverErrors = 0
    public var clientErrors = 0
    /// `ERROR` replies.
    public var errorReplies = 0
    /// Replies that do not answer the request they came for (`NOT_STORED` to a set,
    /// `STORED` to a get, a garbled line).
    public var unexpected = 0
    /// Requests whose connection closed (or stalled) before they were answered.
    public var lost = 0

    public init() {}

    /// Every failed request, whatever went wrong.
    public var errors: Int { serverErrors + clientErrors + errorReplies + unexpected + lost }

    /// Counts `request`, answered by `reply`.
    @inline(__always)
    public mutating func count(_ reply: BenchReply, for request: BenchRequest) {
        requests += 1
        switch request {
        case .get(let keys):
            gets += 1
            if case .end(let found) = reply {
                hits += found
                misses += max(0, keys - found)
                return
            }
        case .set:
            sets += 1
            if reply == .stored { return }
        }
        switch reply {
        case .serverError: serverErrors += 1
        case .clientError: clientErrors += 1
        case .error: errorReplies += 1
        default: unexpected += 1
        }
    }

    /// Counts `request` as lost: its connection went away before the reply.
    public mutating func countLost(_ request: BenchRequest) {
        requests += 1
        if case .get = request { gets += 1 } else { sets += 1 }
        lost += 1
    }

    /// Adds `other`'s counts.
    public mutating func merge(_ other: BenchTally) {
        requests += other.requests
        gets += other.gets
        sets += other.sets
        hits += other.hits
        misses += other.misses
        serverErrors += other.serverErrors
        clientErrors += other.clientErrors
        errorReplies += other.errorReplies
        unexpected += other.unexpected
        lost += other.lost
    }
}
