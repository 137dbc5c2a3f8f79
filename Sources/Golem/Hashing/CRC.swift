/// The CRC hashes of nutcracker's `nc_crc16.c` and `nc_crc32.c`.
enum CRC {
    /// CRC-16/XMODEM lookup table (polynomial 0x1021, most significant bit first), one
    /// entry per byte value; built once rather than written out.
    static let table16: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index) << 8
        for _ in 0..<8 {
            crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc & 0xffff
    }

    /// CRC-32 lookup table (reflected polynomial 0xedb88320, as zlib), one entry per byte
    /// value; built once rather than written out.
    static let table32: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 {
            crc = crc & 1 != 0 ? (crc >> 1) ^ 0xedb8_8320 : crc >> 1
        }
        return crc
    }

    /// nutcracker's `crc16`: XMODEM CRC kept in a 32-bit register that is never masked,
    /// so the bits shifted above bit 15 stay in the result (only the table index is
    /// masked, which also makes the sign extension of the C `char` harmless).
    static func crc16(_ key: UnsafeRawBufferPointer) -> UInt32 {
        table16.withUnsafeBufferPointer { table in
            // Why the buffer pointer: every index is masked to 0...255 and the table has 256
            // entries, so the array's bounds check would be pure overhead.
            var crc: UInt32 = 0
            for byte in key {
                crc = (crc << 8) ^ table[Int(((crc >> 8) ^ UInt32(byte)) & 0xff)]
            }
            return crc
        }
    }

    /// nutcracker's `crc32`, libmemcached's flavour: bits 16...30 of the standard CRC-32,
    /// so only 15 bits (0...32767).
    static func crc32(_ key: UnsafeRawBufferPointer) -> UInt32 {
        (standardCRC32(key) >> 16) & 0x7fff
    }

    /// nutcracker's `crc32a`: the standard CRC-32 (the value zlib's `crc32` returns).
    static func crc32a(_ key: UnsafeRawBufferPointer) -> UInt32 {
        standardCRC32(key)
    }

    /// The standard reflected CRC-32: register starts at all ones, result is inverted.
    @inline(__always)
    static func standardCRC32(_ key: UnsafeRawBufferPointer) -> UInt32 {
        table32.withUnsafeBufferPointer { table in
            // Why the buffer pointer: every index is masked to 0...255 and the table has 256
            // entries, so the array's bounds check would be pure overhead.
            var crc = UInt32.max
            for byte in key {
                crc = (crc >> 8) ^ table[Int((crc ^ UInt32(byte)) & 0xff)]
            }
            return ~crc
        }
    }
}
