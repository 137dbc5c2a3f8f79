/// Paul Hsieh's SuperFastHash, nutcracker's `hash_hsieh`.
enum Hsieh {
    /// The SuperFastHash of `key`, with nutcracker's details: 16-bit halves are read
    /// little-endian, the empty key hashes to 0 (not to the avalanche of 0), and when
    /// `count % 4 == 3` the last byte is mixed in sign-extended (a signed C `char`).
    static func hash(_ key: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = key.baseAddress, key.count > 0 else { return 0 }
        var hash: UInt32 = 0
        let blocks = key.count / 4
        for block in 0..<blocks {
            // Why raw loads: `4 * block + 3 < 4 * blocks <= count`, so both halves are in the key.
            hash &+= half(base, 4 * block)
            let tmp = (half(base, 4 * block + 2) << 11) ^ hash
            hash = (hash << 16) ^ tmp
            hash &+= hash >> 11
        }
        let tail = 4 * blocks
        switch key.count & 3 {
        case 3:
            hash &+= half(base, tail)
            hash ^= hash << 16
            hash ^= HashFunction.signExtended(key[tail + 2]) << 18
            hash &+= hash >> 11
        case 2:
            hash &+= half(base, tail)
            hash ^= hash << 11
            hash &+= hash >> 17
        case 1:
            hash &+= UInt32(key[tail])
            hash ^= hash << 10
            hash &+= hash >> 1
        default:
            break
        }
        hash ^= hash << 3
        hash &+= hash >> 5
        hash ^= hash << 4
        hash &+= hash >> 17
        hash ^= hash << 25
        hash &+= hash >> 6
        return hash
    }

    /// The 16-bit little-endian value at `offset` bytes past `base`, as a `UInt32`.
    ///
    /// The caller guarantees that both bytes lie inside the key.
    @inline(__always)
    private static func half(_ base: UnsafeRawPointer, _ offset: Int) -> UInt32 {
        // Why unaligned: keys sit anywhere in a network buffer.
        UInt32(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }
}
