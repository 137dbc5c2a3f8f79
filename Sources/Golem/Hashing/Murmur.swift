/// Austin Appleby's MurmurHash2, nutcracker's `hash_murmur`.
enum Murmur {
    /// The mixing multiplier `m`.
    static let multiplier: UInt32 = 0x5bd1_e995

    /// MurmurHash2 of `key` with nutcracker's seed, `0xdeadbeef * length` (mod 2^32), so the
    /// starting value is `seed ^ length`; 4-byte blocks are read little-endian.
    static func hash(_ key: UnsafeRawBufferPointer) -> UInt32 {
        let m = multiplier
        let length = UInt32(truncatingIfNeeded: key.count)
        var h = (0xdead_beef &* length) ^ length
        let blocks = key.count / 4
        if let base = key.baseAddress {
            for block in 0..<blocks {
                // Why a raw load: `4 * block + 3 < 4 * blocks <= count`, inside the key.
                var k = HashFunction.loadLittleEndian32(base, 4 * block)
                k &*= m
                k ^= k >> 24
                k &*= m
                h &*= m
                h ^= k
            }
        }
        let tail = 4 * blocks
        switch key.count & 3 {
        case 3:
            h ^= UInt32(key[tail + 2]) << 16
            fallthrough
        case 2:
            h ^= UInt32(key[tail + 1]) << 8
            fallthrough
        case 1:
            h ^= UInt32(key[tail])
            h &*= m
        default:
            break
        }
        h ^= h >> 13
        h &*= m
        h ^= h >> 15
        return h
    }
}
