/// twemproxy's `hash_tag`: two delimiter bytes that pick the part of a key that is hashed.
///
/// With tag `"{}"`, `user:{42}:name` and `user:{42}:mail` both hash `42`. The rule is
/// nutcracker's: find the first open byte; find the first close byte after it; if both
/// exist and enclose at least one byte, hash the bytes between them, else the whole key.
/// So `{}x` hashes the whole key, `}a{b}` hashes `b` and `{{x}}` hashes `{x`.
public struct HashTag: Sendable, Equatable {
    public let open: UInt8
    public let close: UInt8

    public init(open: UInt8, close: UInt8) {
        self.open = open
        self.close = close
    }

    /// A tag from the config's two bytes; nil unless there are exactly two.
    public init?(_ bytes: [UInt8]) {
        guard bytes.count == 2 else { return nil }
        self.init(open: bytes[0], close: bytes[1])
    }

    /// The part of `key` to hash.
    @inline(__always)
    public func select(_ key: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        guard let start = key.firstIndex(of: open) else { return key }
        guard let end = key[(start + 1)...].firstIndex(of: close), end - start > 1 else { return key }
        return UnsafeRawBufferPointer(rebasing: key[(start + 1)..<end])
    }
}
