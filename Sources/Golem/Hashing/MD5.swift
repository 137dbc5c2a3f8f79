/// MD5 (RFC 1321), written for golemproxy: the `md5` hash function and the ketama ring
/// both need it, and the package depends on nothing but libevent and libyaml.
///
/// `digest` returns the usual 16 bytes. `words` returns the same digest as four
/// little-endian 32-bit words without touching the heap, which is what both of
/// nutcracker's users want: `hash_md5` is word 0, and `ketama_hash(key, i)` is word `i`.
public enum MD5 {
    /// The 16-byte MD5 digest of `bytes`.
    public static func digest(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        let (a, b, c, d) = words(bytes)
        return [UInt8](unsafeUninitializedCapacity: 16) { buffer, initializedCount in
            // Why raw stores: the four words go out little-endian, as RFC 1321 orders them.
            let raw = UnsafeMutableRawBufferPointer(buffer)
            raw.storeBytes(of: a.littleEndian, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: b.littleEndian, toByteOffset: 4, as: UInt32.self)
            raw.storeBytes(of: c.littleEndian, toByteOffset: 8, as: UInt32.self)
            raw.storeBytes(of: d.littleEndian, toByteOffset: 12, as: UInt32.self)
            initializedCount = 16
        }
    }

    /// The 16-byte MD5 digest of `bytes`.
    public static func digest(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { digest($0) }
    }

    /// The MD5 digest of `bytes` as four 32-bit words, each read little-endian from the
    /// digest bytes `[4i ..< 4i+4]`: word `i` is nutcracker's `ketama_hash(key, len, i)`,
    /// and word 0 is its `hash_md5`. Allocates nothing.
    public static func words(_ bytes: UnsafeRawBufferPointer) -> (UInt32, UInt32, UInt32, UInt32) {
        var state = State()
        let count = bytes.count
        let wholeBlocks = count / 64
        if let base = bytes.baseAddress {
            // Why raw pointers: whole blocks are read in place, without a copy; each one
            // lies inside `bytes` because `i < wholeBlocks = count / 64`.
            for i in 0..<wholeBlocks {
                state.compress(base + i * 64)
            }
        }
        // The last partial block, the 0x80 marker, zero padding and the bit length go into
        // one or two blocks of scratch space on the stack.
        let rest = UnsafeRawBufferPointer(rebasing: bytes[(wholeBlocks * 64)...])
        let padded = rest.count < 56 ? 64 : 128
        withUnsafeTemporaryAllocation(byteCount: 128, alignment: 8) { scratch in
            // Why temporary allocation: 128 bytes of stack, so hashing a key never mallocs.
            scratch.initializeMemory(as: UInt8.self, repeating: 0)
            scratch.copyMemory(from: rest)
            scratch[rest.count] = 0x80
            let bitLength = UInt64(truncatingIfNeeded: count) &* 8
            scratch.storeBytes(of: bitLength.littleEndian, toByteOffset: padded - 8, as: UInt64.self)
            // Why force-unwrap: a 128-byte allocation always has a base address.
            let base = UnsafeRawPointer(scratch.baseAddress!)
            state.compress(base)
            if padded == 128 { state.compress(base + 64) }
        }
        return (state.a, state.b, state.c, state.d)
    }

    /// The four chaining variables, starting at the RFC 1321 initial values.
    private struct State {
        var a: UInt32 = 0x6745_2301
        var b: UInt32 = 0xefcd_ab89
        var c: UInt32 = 0x98ba_dcfe
        var d: UInt32 = 0x1032_5476

        /// Folds one 64-byte block into the state (RFC 1321 section 3.4, unrolled).
        ///
        /// `block` must point at 64 readable bytes; it need not be aligned.
        @inline(__always)
        mutating func compress(_ block: UnsafeRawPointer) {
            let m0 = MD5.word(block, 0)
            let m1 = MD5.word(block, 1)
            let m2 = MD5.word(block, 2)
            let m3 = MD5.word(block, 3)
            let m4 = MD5.word(block, 4)
            let m5 = MD5.word(block, 5)
            let m6 = MD5.word(block, 6)
            let m7 = MD5.word(block, 7)
            let m8 = MD5.word(block, 8)
            let m9 = MD5.word(block, 9)
            let m10 = MD5.word(block, 10)
            let m11 = MD5.word(block, 11)
            let m12 = MD5.word(block, 12)
            let m13 = MD5.word(block, 13)
            let m14 = MD5.word(block, 14)
            let m15 = MD5.word(block, 15)
            var a = self.a
            var b = self.b
            var c = self.c
            var d = self.d
            // Round 1.
            a = MD5.f(a, b, c, d, m0, 0xd76a_a478, 7)
            d = MD5.f(d, a, b, c, m1, 0xe8c7_b756, 12)
            c = MD5.f(c, d, a, b, m2, 0x2420_70db, 17)
            b = MD5.f(b, c, d, a, m3, 0xc1bd_ceee, 22)
            a = MD5.f(a, b, c, d, m4, 0xf57c_0faf, 7)
            d = MD5.f(d, a, b, c, m5, 0x4787_c62a, 12)
            c = MD5.f(c, d, a, b, m6, 0xa830_4613, 17)
            b = MD5.f(b, c, d, a, m7, 0xfd46_9501, 22)
            a = MD5.f(a, b, c, d, m8, 0x6980_98d8, 7)
            d = MD5.f(d, a, b, c, m9, 0x8b44_f7af, 12)
            c = MD5.f(c, d, a, b, m10, 0xffff_5bb1, 17)
            b = MD5.f(b, c, d, a, m11, 0x895c_d7be, 22)
            a = MD5.f(a, b, c, d, m12, 0x6b90_1122, 7)
            d = MD5.f(d, a, b, c, m13, 0xfd98_7193, 12)
            c = MD5.f(c, d, a, b, m14, 0xa679_438e, 17)
            b = MD5.f(b, c, d, a, m15, 0x49b4_0821, 22)
            // Round 2.
            a = MD5.g(a, b, c, d, m1, 0xf61e_2562, 5)
            d = MD5.g(d, a, b, c, m6, 0xc040_b340, 9)
            c = MD5.g(c, d, a, b, m11, 0x265e_5a51, 14)
            b = MD5.g(b, c, d, a, m0, 0xe9b6_c7aa, 20)
            a = MD5.g(a, b, c, d, m5, 0xd62f_105d, 5)
            d = MD5.g(d, a, b, c, m10, 0x0244_1453, 9)
            c = MD5.g(c, d, a, b, m15, 0xd8a1_e681, 14)
            b = MD5.g(b, c, d, a, m4, 0xe7d3_fbc8, 20)
            a = MD5.g(a, b, c, d, m9, 0x21e1_cde6, 5)
            d = MD5.g(d, a, b, c, m14, 0xc337_07d6, 9)
            c = MD5.g(c, d, a, b, m3, 0xf4d5_0d87, 14)
            b = MD5.g(b, c, d, a, m8, 0x455a_14ed, 20)
            a = MD5.g(a, b, c, d, m13, 0xa9e3_e905, 5)
            d = MD5.g(d, a, b, c, m2, 0xfcef_a3f8, 9)
            c = MD5.g(c, d, a, b, m7, 0x676f_02d9, 14)
            b = MD5.g(b, c, d, a, m12, 0x8d2a_4c8a, 20)
            // Round 3.
            a = MD5.h(a, b, c, d, m5, 0xfffa_3942, 4)
            d = MD5.h(d, a, b, c, m8, 0x8771_f681, 11)
            c = MD5.h(c, d, a, b, m11, 0x6d9d_6122, 16)
            b = MD5.h(b, c, d, a, m14, 0xfde5_380c, 23)
            a = MD5.h(a, b, c, d, m1, 0xa4be_ea44, 4)
            d = MD5.h(d, a, b, c, m4, 0x4bde_cfa9, 11)
            c = MD5.h(c, d, a, b, m7, 0xf6bb_4b60, 16)
            b = MD5.h(b, c, d, a, m10, 0xbebf_bc70, 23)
            a = MD5.h(a, b, c, d, m13, 0x289b_7ec6, 4)
            d = MD5.h(d, a, b, c, m0, 0xeaa1_27fa, 11)
            c = MD5.h(c, d, a, b, m3, 0xd4ef_3085, 16)
            b = MD5.h(b, c, d, a, m6, 0x0488_1d05, 23)
            a = MD5.h(a, b, c, d, m9, 0xd9d4_d039, 4)
            d = MD5.h(d, a, b, c, m12, 0xe6db_99e5, 11)
            c = MD5.h(c, d, a, b, m15, 0x1fa2_7cf8, 16)
            b = MD5.h(b, c, d, a, m2, 0xc4ac_5665, 23)
            // Round 4.
            a = MD5.i(a, b, c, d, m0, 0xf429_2244, 6)
            d = MD5.i(d, a, b, c, m7, 0x432a_ff97, 10)
            c = MD5.i(c, d, a, b, m14, 0xab94_23a7, 15)
            b = MD5.i(b, c, d, a, m5, 0xfc93_a039, 21)
            a = MD5.i(a, b, c, d, m12, 0x655b_59c3, 6)
            d = MD5.i(d, a, b, c, m3, 0x8f0c_cc92, 10)
            c = MD5.i(c, d, a, b, m10, 0xffef_f47d, 15)
            b = MD5.i(b, c, d, a, m1, 0x8584_5dd1, 21)
            a = MD5.i(a, b, c, d, m8, 0x6fa8_7e4f, 6)
            d = MD5.i(d, a, b, c, m15, 0xfe2c_e6e0, 10)
            c = MD5.i(c, d, a, b, m6, 0xa301_4314, 15)
            b = MD5.i(b, c, d, a, m13, 0x4e08_11a1, 21)
            a = MD5.i(a, b, c, d, m4, 0xf753_7e82, 6)
            d = MD5.i(d, a, b, c, m11, 0xbd3a_f235, 10)
            c = MD5.i(c, d, a, b, m2, 0x2ad7_d2bb, 15)
            b = MD5.i(b, c, d, a, m9, 0xeb86_d391, 21)
            self.a = self.a &+ a
            self.b = self.b &+ b
            self.c = self.c &+ c
            self.d = self.d &+ d
        }
    }

    /// Word `index` of a block, little-endian.
    @inline(__always)
    private static func word(_ block: UnsafeRawPointer, _ index: Int) -> UInt32 {
        // Why unaligned: blocks are read straight out of the caller's key bytes.
        UInt32(littleEndian: block.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))
    }

    /// Round 1 step: `a = b + ((a + F(b,c,d) + m + k) <<< s)`, `F = (b & c) | (~b & d)`.
    @inline(__always)
    private static func f(
        _ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ m: UInt32, _ k: UInt32, _ s: UInt32
    ) -> UInt32 {
        b &+ rotate(a &+ ((b & c) | (~b & d)) &+ m &+ k, s)
    }

    /// Round 2 step, with `G = (b & d) | (c & ~d)`.
    @inline(__always)
    private static func g(
        _ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ m: UInt32, _ k: UInt32, _ s: UInt32
    ) -> UInt32 {
        b &+ rotate(a &+ ((b & d) | (c & ~d)) &+ m &+ k, s)
    }

    /// Round 3 step, with `H = b ^ c ^ d`.
    @inline(__always)
    private static func h(
        _ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ m: UInt32, _ k: UInt32, _ s: UInt32
    ) -> UInt32 {
        b &+ rotate(a &+ (b ^ c ^ d) &+ m &+ k, s)
    }

    /// Round 4 step, with `I = c ^ (b | ~d)`.
    @inline(__always)
    private static func i(
        _ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ m: UInt32, _ k: UInt32, _ s: UInt32
    ) -> UInt32 {
        b &+ rotate(a &+ (c ^ (b | ~d)) &+ m &+ k, s)
    }

    /// `x` rotated left by `s` bits (0 < s < 32).
    @inline(__always)
    private static func rotate(_ x: UInt32, _ s: UInt32) -> UInt32 {
        (x << s) | (x >> (32 &- s))
    }
}
