/// Bob Jenkins' one-at-a-time hash, nutcracker's `hash_one_at_a_time`.
enum OneAtATime {
    /// The one-at-a-time hash of `key`; bytes >= 0x80 are added sign-extended, as the
    /// C code adds a signed `char`.
    static func hash(_ key: UnsafeRawBufferPointer) -> UInt32 {
        var value: UInt32 = 0
        for byte in key {
            value &+= HashFunction.signExtended(byte)
            value &+= value << 10
            value ^= value >> 6
        }
        value &+= value << 3
        value ^= value >> 11
        value &+= value << 15
        return value
    }
}
