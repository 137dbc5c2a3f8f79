/// Bob Jenkins' lookup3 `hashlittle`, nutcracker's `hash_jenkins`.
///
/// lookup3 reads a little-endian key by 32-bit words, 16-bit halves or bytes depending on
/// its alignment, and all three give the same value; this reads whole 12-byte blocks as
/// unaligned little-endian words and the last block byte by byte.
enum Jenkins {
    /// The initial value nutcracker passes to `hashlittle`.
    static let initialValue: UInt32 = 13

    /// lookup3 `hashlittle(key, count, 13)`; the empty key returns the start value
    /// `0xdeadbeef + 13` unmixed.
    static func hash(_ key: UnsafeRawBufferPointer) -> UInt32 {
        let start = 0xdead_beef &+ UInt32(truncatingIfNeeded: key.count) &+ initialValue
        guard let base = key.baseAddress, key.count > 0 else { return start }
        var a = start
        var b = start
        var c = start
        var offset = 0
        var remaining = key.count
        while remaining > 12 {
            // Why raw loads: `offset + 12 < count`, so all three words are inside the key.
            a &+= HashFunction.loadLittleEndian32(base, offset)
            b &+= HashFunction.loadLittleEndian32(base, offset + 4)
            c &+= HashFunction.loadLittleEndian32(base, offset + 8)
            mix(&a, &b, &c)
            offset += 12
            remaining -= 12
        }
        // The last block, 1...12 bytes; every case falls through to the ones below it.
        switch remaining {
        case 12:
            c &+= UInt32(key[offset + 11]) << 24
            fallthrough
        case 11:
            c &+= UInt32(key[offset + 10]) << 16
            fallthrough
        case 10:
            c &+= UInt32(key[offset + 9]) << 8
            fallthrough
        case 9:
            c &+= UInt32(key[offset + 8])
            fallthrough
        case 8:
            b &+= UInt32(key[offset + 7]) << 24
            fallthrough
        case 7:
            b &+= UInt32(key[offset + 6]) << 16
            fallthrough
        case 6:
            b &+= UInt32(key[offset + 5]) << 8
            fallthrough
        case 5:
            b &+= UInt32(key[offset + 4])
            fallthrough
        case 4:
            a &+= UInt32(key[offset + 3]) << 24
            fallthrough
        case 3:
            a &+= UInt32(key[offset + 2]) << 16
            fallthrough
        case 2:
            a &+= UInt32(key[offset + 1]) << 8
            fallthrough
        default:
            a &+= UInt32(key[offset])
        }
        finalMix(&a, &b, &c)
        return c
    }

    /// lookup3 `mix`: reversibly mixes three words between 12-byte blocks.
    @inline(__always)
    private static func mix(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32) {
        a &-= c
        a ^= c.rotatedLeft(4)
        c &+= b
        b &-= a
        b ^= a.rotatedLeft(6)
        a &+= c
        c &-= b
        c ^= b.rotatedLeft(8)
        b &+= a
        a &-= c
        a ^= c.rotatedLeft(16)
        c &+= b
        b &-= a
        b ^= a.rotatedLeft(19)
        a &+= c
        c &-= b
        c ^= b.rotatedLeft(4)
        b &+= a
    }

    /// lookup3 `final`: the last avalanche of the three words into `c`.
    @inline(__always)
    private static func finalMix(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32) {
        c ^= b
        c &-= b.rotatedLeft(14)
        a ^= c
        a &-= c.rotatedLeft(11)
        b ^= a
        b &-= a.rotatedLeft(25)
        c ^= b
        c &-= b.rotatedLeft(16)
        a ^= c
        a &-= c.rotatedLeft(4)
        b ^= a
        b &-= a.rotatedLeft(14)
        c ^= b
        c &-= b.rotatedLeft(24)
    }
}

extension UInt32 {
    /// `self` rotated left by `count` bits (0 < count < 32).
    @inline(__always)
    fileprivate func rotatedLeft(_ count: UInt32) -> UInt32 {
        (self << count) | (self >> (32 - count))
    }
}
