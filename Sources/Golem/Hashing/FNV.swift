/// The four Fowler–Noll–Vo hashes of nutcracker's `nc_fnv.c`.
///
/// Every byte is combined sign-extended (the C code casts a signed `char` to an unsigned
/// integer), so bytes >= 0x80 differ from textbook FNV.
enum FNV {
    /// The 64-bit FNV offset basis.
    static let offset64: UInt64 = 0xcbf2_9ce4_8422_2325
    /// The 64-bit FNV prime.
    static let prime64: UInt64 = 0x0000_0100_0000_01b3
    /// The 32-bit FNV offset basis.
    static let offset32: UInt32 = 2_166_136_261
    /// The 32-bit FNV prime.
    static let prime32: UInt32 = 16_777_619

    /// 64-bit FNV-1 (multiply, then xor), truncated to its low 32 bits.
    static func fnv1Bits64(_ key: UnsafeRawBufferPointer) -> UInt32 {
        var hash = offset64
        for byte in key {
            hash &*= prime64
            hash ^= UInt64(bitPattern: Int64(Int8(bitPattern: byte)))
        }
        return UInt32(truncatingIfNeeded: hash)
    }

    /// nutcracker's "fnv1a_64", which is 32-bit FNV-1a run with the 64-bit offset basis
    /// and prime both truncated to 32 bits (0x84222325 and 0x1b3).
    static func fnv1aBits64(_ key: UnsafeRawBufferPointer) -> UInt32 {
        let prime = UInt32(truncatingIfNeeded: prime64)
        var hash = UInt32(truncatingIfNeeded: offset64)
        for byte in key {
            hash ^= HashFunction.signExtended(byte)
            hash &*= prime
        }
        return hash
    }

    /// 32-bit FNV-1 (multiply, then xor).
    static func fnv1Bits32(_ key: UnsafeRawBufferPointer) -> UInt32 {
        var hash = offset32
        for byte in key {
            hash &*= prime32
            hash ^= HashFunction.signExtended(byte)
        }
        return hash
    }

    /// 32-bit FNV-1a (xor, then multiply).
    static func fnv1aBits32(_ key: UnsafeRawBufferPointer) -> UInt32 {
        var hash = offset32
        for byte in key {
            hash ^= HashFunction.signExtended(byte)
            hash &*= prime32
        }
        return hash
    }
}
