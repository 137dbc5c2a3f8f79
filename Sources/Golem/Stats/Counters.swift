import Synchronization

extension Atomic where Value == Int {
    /// Adds `amount` when this thread is the only writer: a relaxed load and store
    /// (plain moves on x86), not a locked read-modify-write. Readers on other threads
    /// see some recent value, never a torn one.
    @inline(__always)
    func bump(_ amount: Int = 1) {
        store(load(ordering: .relaxed) &+ amount, ordering: .relaxed)
    }

    /// Sets a gauge owned by this thread.
    @inline(__always)
    func set(_ value: Int) {
        store(value, ordering: .relaxed)
    }

    /// The current value, for the stats reader.
    @inline(__always)
    var value: Int { load(ordering: .relaxed) }
}

/// nutcracker's per-server metrics as one worker counts them. Each worker owns one per
/// server and is its only writer; the stats thread sums them over workers.
public final class ServerStats: Sendable {
    let serverEOF = Atomic<Int>(0)
    let serverErr = Atomic<Int>(0)
    let serverTimedout = Atomic<Int>(0)
    let serverConnections = Atomic<Int>(0)
    let requests = Atomic<Int>(0)
    let requestBytes = Atomic<Int>(0)
    let responses = Atomic<Int>(0)
    let responseBytes = Atomic<Int>(0)
    let inQueue = Atomic<Int>(0)
    let inQueueBytes = Atomic<Int>(0)
    let outQueue = Atomic<Int>(0)
    let outQueueBytes = Atomic<Int>(0)
    /// Connections made to the server (for `total_connections`).
    let connectionsOpened = Atomic<Int>(0)
    /// Request latency, from the request being queued for the server to its reply.
    let latency = LatencyHistogram()

    init() {}

    /// The values in `StatsCatalog.server` order, except `server_ejected_at`, which is
    /// the pool's (shared) business: index 4 is left 0 here.
    var values: [Int] {
        [
            serverEOF.value, serverErr.value, serverTimedout.value, serverConnections.value, 0,
            requests.value, requestBytes.value, responses.value, responseBytes.value,
            inQueue.value, inQueueBytes.value, outQueue.value, outQueueBytes.value,
        ]
    }
}

/// nutcracker's per-pool metrics as one worker counts them (`server_ejects` is shared:
/// see `PoolHealth`).
public final class PoolStats: Sendable {
    let clientEOF = Atomic<Int>(0)
    let clientErr = Atomic<Int>(0)
    let clientConnections = Atomic<Int>(0)
    let forwardError = Atomic<Int>(0)
    let fragments = Atomic<Int>(0)

    init() {}

    /// The values in `StatsCatalog.pool` order; `server_ejects` (index 3) is left 0.
    var values: [Int] {
        [clientEOF.value, clientErr.value, clientConnections.value, 0, forwardError.value, fragments.value]
    }
}

/// Request latency counts in fixed buckets (upper bounds in microseconds), written by
/// one worker, summed by the stats reader: a Prometheus histogram.
public final class LatencyHistogram: Sendable {
    /// Bucket upper bounds in microseconds; the last bucket is +Inf.
    public static let bounds: [Int] = [
        50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
        2_500_000, 5_000_000,
    ]
    let b0 = Atomic<Int>(0), b1 = Atomic<Int>(0), b2 = Atomic<Int>(0), b3 = Atomic<Int>(0)
    let b4 = Atomic<Int>(0), b5 = Atomic<Int>(0), b6 = Atomic<Int>(0), b7 = Atomic<Int>(0)
    let b8 = Atomic<Int>(0), b9 = Atomic<Int>(0), b10 = Atomic<Int>(0), b11 = Atomic<Int>(0)
    let b12 = Atomic<Int>(0), b13 = Atomic<Int>(0), b14 = Atomic<Int>(0), b15 = Atomic<Int>(0)
    let overflow = Atomic<Int>(0)
    let count = Atomic<Int>(0)
    let sumMicroseconds = Atomic<Int>(0)

    init() {}

    /// Counts one observation of `microseconds`.
    @inline(__always)
    func record(_ microseconds: Int) {
        count.bump()
        sumMicroseconds.bump(microseconds)
        var index = 0
        while index < Self.bounds.count && microseconds > Self.bounds[index] { index += 1 }
        // Atomics cannot be stored in an array or returned, hence one field per bucket.
        switch index {
        case 0: b0.bump()
        case 1: b1.bump()
        case 2: b2.bump()
        case 3: b3.bump()
        case 4: b4.bump()
        case 5: b5.bump()
        case 6: b6.bump()
        case 7: b7.bump()
        case 8: b8.bump()
        case 9: b9.bump()
        case 10: b10.bump()
        case 11: b11.bump()
        case 12: b12.bump()
        case 13: b13.bump()
        case 14: b14.bump()
        case 15: b15.bump()
        default: overflow.bump()
        }
    }

    /// Non-cumulative counts per bucket (the last is +Inf).
    var bucketCounts: [Int] {
        [
            b0.value, b1.value, b2.value, b3.value, b4.value, b5.value, b6.value, b7.value, b8.value, b9.value,
            b10.value, b11.value, b12.value, b13.value, b14.value, b15.value, overflow.value,
        ]
    }
}
