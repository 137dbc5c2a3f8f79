/// One backend server of a pool, as a `servers:` line describes it.
public struct ServerConfig: Sendable, Equatable {
    /// The name used for hashing (ketama points), stats and the duplicate check: the
    /// explicit name if the line has one; otherwise `host:port` as written, or `host`
    /// alone when the port is 11211 (libmemcached compatibility), or `path:` (with the
    /// trailing colon) for a unix socket.
    public var name: String
    /// Where to connect.
    public var address: ServerAddress
    /// The weight (≥ 1); used by ketama and modula even when the server has a name.
    public var weight: Int
    /// The server line exactly as written.
    public var spec: String
    /// Where the server line starts in the file.
    public var location: SourceLocation

    /// Creates a server description.
    public init(
        name: String, address: ServerAddress, weight: Int, spec: String,
        location: SourceLocation = .wholeFile
    ) {
        self.name = name
        self.address = address
        self.weight = weight
        self.spec = spec
        self.location = location
    }
}
