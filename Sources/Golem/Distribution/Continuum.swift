/// One pool's server selection table, built from the servers that are live right now.
///
/// This is the Swift counterpart of twemproxy's `pool->continuum`: for `ketama` a sorted
/// ring of md5 points, for `modula` each live server repeated `weight` times, for `random`
/// one slot per live server. It is an immutable value: when servers are ejected or come
/// back, a new continuum is built and published whole (see DESIGN.md, Threads).
///
/// Server indexes are positions in the pool's server list, which is in nutcracker's
/// sorted-name order (`PoolConfig.servers`).
public struct Continuum: Sendable {
    /// A server as the continuum sees it: the name its ketama points are derived from,
    /// and its weight.
    public struct Member: Sendable {
        public var name: [UInt8]
        public var weight: Int

        public init(name: [UInt8], weight: Int) {
            self.name = name
            self.weight = weight
        }

        public init(name: String, weight: Int) {
            self.init(name: Array(name.utf8), weight: weight)
        }
    }

    /// Points on the ring, ascending (ketama only; empty otherwise).
    public let points: [UInt32]
    /// `servers[i]` is the server index that slot `i` dispatches to.
    public let servers: [UInt32]
    public let distribution: Distribution
    /// How many servers contributed to this continuum.
    public let liveCount: Int

    /// Builds the continuum of `members` for `distribution`, counting only the members
    /// whose `live` flag is set (all of them when `live` is nil).
    public init(distribution: Distribution, members: [Member], live: [Bool]? = nil) {
        precondition(live == nil || live!.count == members.count, "live flags must match members")
        self.distribution = distribution
        let isLive: (Int) -> Bool = { live?[$0] ?? true }
        let liveIndexes = members.indices.filter(isLive)
        liveCount = liveIndexes.count
        switch distribution {
        case .ketama:
            (points, servers) = Continuum.ketamaRing(members: members, liveIndexes: liveIndexes)
        case .modula:
            points = []
            servers = liveIndexes.flatMap { index in
                repeatElement(UInt32(index), count: members[index].weight)
            }
        case .random:
            points = []
            servers = liveIndexes.map { UInt32($0) }
        }
    }

    /// The server index for a key hash, or nil when no server is live.
    ///
    /// `random` is a caller-supplied random number; only the `random` distribution uses it
    /// (twemproxy uses `random() % ncontinuum` there and ignores the key).
    @inline(__always)
    public func server(forHash hash: UInt32, random: UInt32 = 0) -> Int? {
        guard !servers.isEmpty else { return nil }
        switch distribution {
        case .ketama:
            return Int(servers[Continuum.ketamaSlot(points, hash)])
        case .modula:
            return Int(servers[Int(hash % UInt32(servers.count))])
        case .random:
            return Int(servers[Int(random % UInt32(servers.count))])
        }
    }

    /// The first slot whose point is `>= hash`, wrapping to slot 0 past the end
    /// (a lower bound search, exactly as twemproxy's `ketama_dispatch`).
    @inline(__always)
    static func ketamaSlot(_ points: [UInt32], _ hash: UInt32) -> Int {
        var low = 0
        var high = points.count
        while low < high {
            let middle = low + (high - low) / 2
            if points[middle] < hash {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return high == points.count ? 0 : high
    }

    /// The number of ketama points a server of `weight` gets among `liveCount` live
    /// servers of total weight `totalWeight`.
    ///
    /// Why single precision: nutcracker computes this in C `float` arithmetic, and the
    /// rounding makes some pools give 156 points instead of 160 (25 equal servers, for
    /// one), or 0 points to a very light server. Keys only land where nutcracker puts
    /// them if the same rounding happens here, step by step:
    /// `(uint32_t)(floorf((float)(pct * 160 / 4 * (float)n + 1e-10)) * 4)`, where the
    /// `+ 1e-10` is done in double and cast back to float.
    public static func ketamaPointCount(weight: Int, totalWeight: Int, liveCount: Int) -> Int {
        let pct: Float = Float(weight) / Float(totalWeight)
        let scaled: Float = pct * Float(160) / Float(4) * Float(liveCount)
        let nudged = Float(Double(scaled) + 0.0000000001)
        return Int(UInt32(nudged.rounded(.down) * 4))
    }

    /// Builds the sorted ketama ring: for each live server, `points / 4` md5 digests of
    /// `"<name>-<i>"`, each giving 4 little-endian 32-bit points.
    private static func ketamaRing(members: [Member], liveIndexes: [Int]) -> ([UInt32], [UInt32]) {
        let totalWeight = liveIndexes.reduce(0) { $0 + members[$1].weight }
        var ring: [(point: UInt32, server: UInt32)] = []
        ring.reserveCapacity(liveIndexes.count * 160)
        var host: [UInt8] = []
        for index in liveIndexes {
            let count = ketamaPointCount(
                weight: members[index].weight, totalWeight: totalWeight, liveCount: liveIndexes.count)
            for digestIndex in 0..<(count / 4) {
                host.removeAll(keepingCapacity: true)
                host.append(contentsOf: members[index].name)
                host.append(UInt8(ascii: "-"))
                appendDecimal(UInt32(digestIndex), to: &host)
                // nutcracker formats into a 273-byte buffer: at most 272 bytes are hashed.
                if host.count > maxHostLength { host.removeLast(host.count - maxHostLength) }
                let words = host.withUnsafeBytes { MD5.words($0) }
                for point in [words.0, words.1, words.2, words.3] {
                    ring.append((point, UInt32(index)))
                }
            }
        }
        // Why a stable sort: nutcracker's qsort on glibc is a merge sort, so equal points
        // keep the order they were generated in, and the first generated one wins.
        // Swift's `sort` is stable today but not documented to be: break ties by position.
        let order = ring.indices.sorted { a, b in
            ring[a].point != ring[b].point ? ring[a].point < ring[b].point : a < b
        }
        return (order.map { ring[$0].point }, order.map { ring[$0].server })
    }

    /// The longest `"<name>-<i>"` string nutcracker hashes (`KETAMA_MAX_HOSTLEN - 1`).
    static let maxHostLength = 272

    /// Appends `value` in decimal, as `%u` prints it.
    private static func appendDecimal(_ value: UInt32, to bytes: inout [UInt8]) {
        var digits: [UInt8] = []
        var rest = value
        repeat {
            digits.append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        bytes.append(contentsOf: digits.reversed())
    }
}
