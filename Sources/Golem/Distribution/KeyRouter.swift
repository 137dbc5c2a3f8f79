/// Picks the server for a key: hash_tag, then the pool's hash function, then the
/// continuum. This is nutcracker's `server_pool_idx`, bit for bit.
///
/// A router is an immutable value; ejection builds a new one around a new `Continuum`.
public struct KeyRouter: Sendable {
    public let hash: HashFunction
    public let hashTag: HashTag?
    public let continuum: Continuum
    /// Servers in the pool, live or not (a one-server pool never hashes).
    public let serverCount: Int

    public init(hash: HashFunction, hashTag: HashTag?, continuum: Continuum, serverCount: Int) {
        self.hash = hash
        self.hashTag = hashTag
        self.continuum = continuum
        self.serverCount = serverCount
    }

    /// The router for a pool with every server live.
    public init(pool: PoolConfig) {
        let members = pool.servers.map { Continuum.Member(name: $0.name, weight: $0.weight) }
        self.init(
            hash: pool.hash,
            hashTag: pool.hashTag.flatMap(HashTag.init),
            continuum: Continuum(distribution: pool.distribution, members: members),
            serverCount: pool.servers.count)
    }

    /// The hash nutcracker computes for `key`: 0 for an empty key (after hash_tag) and in
    /// a one-server pool, else the pool's hash of the tagged part.
    @inline(__always)
    public func keyHash(_ key: UnsafeRawBufferPointer) -> UInt32 {
        let hashed = hashTag?.select(key) ?? key
        if serverCount == 1 || hashed.isEmpty { return 0 }
        return hash.hash(hashed)
    }

    /// The server index for `key`, or nil when no server is live.
    /// `random` is used only by the `random` distribution.
    @inline(__always)
    public func server(forKey key: UnsafeRawBufferPointer, random: UInt32 = 0) -> Int? {
        if continuum.distribution == .random {
            return continuum.server(forHash: 0, random: random)
        }
        return continuum.server(forHash: keyHash(key), random: random)
    }

    /// Convenience for tests and tools: the server index for a key given as bytes.
    public func server(forKey key: [UInt8], random: UInt32 = 0) -> Int? {
        key.withUnsafeBytes { server(forKey: $0, random: random) }
    }
}
