/// A latency histogram in the layout of HdrHistogram with 2 significant digits, over
/// 1 µs to 60 s: values below 256 µs each get their own bucket; above, every power of
/// two is cut into 128 equal buckets, so a bucket is never wider than 1/128 (< 0.8%) of
/// the values in it.
///
/// Recording is one shift and one increment (no allocation); each bench thread keeps
/// its own histogram and the runner merges them at the end.
public struct BenchHistogram: Sendable, Equatable {
    /// log2 of the buckets per power of two (HdrHistogram's `subBucketHalfCountMagnitude`
    /// for 2 significant digits: 2 × 10² = 200 values need 256 sub-buckets).
    static let halfMagnitude = 7
    static let halfCount = 1 << halfMagnitude
    static let subBucketMask = (1 << (halfMagnitude + 1)) - 1
    /// The largest value tracked exactly enough: 60 s in µs. Larger values are counted in
    /// the last bucket (and still set `max`).
    public static let highestTrackable = 60_000_000
    static let countsLength = index(of: highestTrackable) + 1

    private var counts: [UInt64]
    /// Values recorded.
    public private(set) var count: UInt64 = 0
    /// The largest value recorded, in µs (0 when empty).
    public private(set) var max = 0
    /// The smallest value recorded, in µs (0 when empty).
    public private(set) var min = 0
    private var sum: UInt64 = 0

    public init() {
        counts = [UInt64](repeating: 0, count: Self.countsLength)
    }

    /// The bucket holding `value` (µs, clamped to 0...highestTrackable).
    @inline(__always)
    static func index(of value: Int) -> Int {
        let value = Swift.min(Swift.max(value, 0), highestTrackable)
        // The power of two above the first 256 values that `value` falls in (0 below).
        let bucket = (Int.bitWidth - 1 - (value | subBucketMask).leadingZeroBitCount) - halfMagnitude
        let subBucket = value >> bucket
        return (bucket << halfMagnitude) + subBucket
    }

    /// The smallest value that lands in `index`'s bucket.
    static func lowestValue(ofIndex index: Int) -> Int {
        var bucket = (index >> halfMagnitude) - 1
        var subBucket = (index & (halfCount - 1)) + halfCount
        if bucket < 0 {
            subBucket -= halfCount
            bucket = 0
        }
        return subBucket << bucket
    }

    /// The smallest value counted in the same bucket as `value`.
    public static func lowestEquivalentValue(_ value: Int) -> Int {
        lowestValue(ofIndex: index(of: value))
    }

    /// The largest value counted in the same bucket as `value`.
    public static func highestEquivalentValue(_ value: Int) -> Int {
        let index = index(of: value)
        return lowestValue(ofIndex: index + 1) - 1
    }

    /// Counts one latency of `microseconds`.
    @inline(__always)
    public mutating func record(microseconds value: Int) {
        counts[Self.index(of: value)] &+= 1
        if count == 0 || value < min { min = Swift.max(value, 0) }
        if value > max { max = value }
        count &+= 1
        sum &+= UInt64(Swift.max(value, 0))
    }

    /// Adds every value `other` recorded.
    public mutating func merge(_ other: BenchHistogram) {
        guard other.count > 0 else { return }
        for index in counts.indices { counts[index] &+= other.counts[index] }
        min = count == 0 ? other.min : Swift.min(min, other.min)
        max = Swift.max(max, other.max)
        count &+= other.count
        sum &+= other.sum
    }

    /// The mean in µs (0 when empty).
    public var mean: Double {
        count == 0 ? 0 : Double(sum) / Double(count)
    }

    /// The value at `percentile` (0...100) in µs: the highest value of the bucket that
    /// holds the ⌈count × percentile / 100⌉-th smallest value (HdrHistogram's
    /// `getValueAtPercentile`), never more than `max`. 0 when empty.
    public func percentile(_ percentile: Double) -> Int {
        guard count > 0 else { return 0 }
        let exact = Swift.min(Swift.max(percentile, 0), 100) * Double(count) / 100
        // Why the tiny shave: 99.9 × 1000 / 100 is 999.0000000000001 in binary floating
        // point, and its ceiling must still be 999.
        let rank = Swift.max(1, UInt64((exact - exact * 1e-12).rounded(.up)))
        var seen: UInt64 = 0
        for index in counts.indices {
            seen &+= counts[index]
            if seen >= rank {
                return Swift.min(Self.lowestValue(ofIndex: index + 1) - 1, max)
            }
        }
        return max
    }
}
