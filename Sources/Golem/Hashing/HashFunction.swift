/// The twemproxy hash functions, by the names its `hash:` directive takes.
///
/// Each returns exactly the `uint32_t` that x86-64 nutcracker 0.5.0 returns for the same
/// bytes, quirks included (see `hash(_:)`).
public enum HashFunction: String, CaseIterable, Sendable {
    case oneAtATime = "one_at_a_time"
    case md5
    case crc16
    case crc32
    case crc32a
    case fnv1_64
    case fnv1a_64
    case fnv1_32
    case fnv1a_32
    case hsieh
    case murmur
    case jenkins

    /// The hash of `key`'s raw bytes, as nutcracker computes it.
    ///
    /// The quirks of nutcracker 0.5.0 on x86-64 are kept, because a proxy must send each key
    /// to the server nutcracker would pick:
    /// - keys are C `char`, signed on x86, so `one_at_a_time`, the four `fnv` functions and
    ///   the third tail byte of `hsieh` see bytes >= 0x80 sign-extended;
    /// - `fnv1a_64` is really 32-bit, with the 64-bit offset basis and prime truncated;
    /// - `crc16` is never masked to 16 bits, and `crc32` keeps only 15 bits;
    /// - `murmur` seeds with `0xdeadbeef * length`, `jenkins` is lookup3 `hashlittle`
    ///   with initial value 13;
    /// - `md5` is the first 4 digest bytes read little-endian.
    public func hash(_ key: UnsafeRawBufferPointer) -> UInt32 {
        switch self {
        case .oneAtATime: OneAtATime.hash(key)
        case .md5: MD5.words(key).0
        case .crc16: CRC.crc16(key)
        case .crc32: CRC.crc32(key)
        case .crc32a: CRC.crc32a(key)
        case .fnv1_64: FNV.fnv1Bits64(key)
        case .fnv1a_64: FNV.fnv1aBits64(key)
        case .fnv1_32: FNV.fnv1Bits32(key)
        case .fnv1a_32: FNV.fnv1aBits32(key)
        case .hsieh: Hsieh.hash(key)
        case .murmur: Murmur.hash(key)
        case .jenkins: Jenkins.hash(key)
        }
    }

    /// `byte` as the C expression `(uint32_t)(char)byte` evaluates on x86-64, where `char`
    /// is signed: 0x80...0xff become 0xffffff80...0xffffffff.
    @inline(__always)
    static func signExtended(_ byte: UInt8) -> UInt32 {
        UInt32(bitPattern: Int32(Int8(bitPattern: byte)))
    }

    /// The 32-bit little-endian word at `offset` bytes past `base`.
    ///
    /// The caller guarantees that the 4 bytes lie inside the key.
    @inline(__always)
    static func loadLittleEndian32(_ base: UnsafeRawPointer, _ offset: Int) -> UInt32 {
        // Why unaligned: keys sit anywhere in a network buffer.
        UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
}
