/// One pool: a listening address and the servers its keys are spread over.
///
/// The defaults are nutcracker 0.5.0's. A configuration file gives the pools as a mapping
/// from pool name to directives; `ConfigLoader` returns them sorted by name the way
/// nutcracker sorts them (length first, then bytes).
public struct PoolConfig: Sendable, Equatable {
    /// The pool's name (its key at the top of the file).
    public var name: String
    /// Where the pool's name is in the file.
    public var location: SourceLocation
    /// `listen:`, required.
    public var listen: ListenAddress
    /// `listen:` exactly as written, e.g. `127.0.0.1:22121`; two pools may not share it.
    public var listenSpec: String
    /// `hash:`, default `fnv1a_64`.
    public var hash: HashFunction
    /// `hash_tag:`, exactly two bytes, e.g. `{}`; nil when not set.
    public var hashTag: [UInt8]?
    /// `distribution:`, default `ketama`.
    public var distribution: Distribution
    /// `timeout:` in milliseconds; -1 (the default) waits forever.
    public var timeout: Int
    /// `backlog:`, the listen(2) backlog, default 512.
    public var backlog: Int
    /// `client_connections:`, default 0 (unlimited). nutcracker 0.5.0 parses it and then
    /// ignores it; golemproxy keeps the configured value.
    public var clientConnections: Int
    /// `redis:`, default false (memcache).
    public var redis: Bool
    /// `redis_auth:`, only allowed on redis pools; nil when not set.
    public var redisAuth: String?
    /// `redis_db:`, default 0.
    public var redisDB: Int
    /// `preconnect:`, default false.
    public var preconnect: Bool
    /// `auto_eject_hosts:`, default false.
    public var autoEjectHosts: Bool
    /// `server_connections:`, connections per server, default 1, at least 1.
    public var serverConnections: Int
    /// `server_retry_timeout:` in milliseconds, default 30000.
    public var serverRetryTimeout: Int
    /// `server_failure_limit:`, default 2.
    public var serverFailureLimit: Int
    /// `tcpkeepalive:`, default false.
    public var tcpKeepalive: Bool
    /// `reuseport:`, default false. Only twemproxy's master branch knows this key;
    /// golemproxy accepts it, nutcracker 0.5.0 rejects it as unknown.
    public var reuseport: Bool
    /// The servers, sorted by name as nutcracker sorts them (length first, then bytes):
    /// this order is the server index that distribution and stats use.
    public var servers: [ServerConfig]

    /// Creates a pool; every parameter with a default takes nutcracker's default.
    public init(
        name: String,
        location: SourceLocation = .wholeFile,
        listen: ListenAddress,
        listenSpec: String,
        hash: HashFunction = .fnv1a_64,
        hashTag: [UInt8]? = nil,
        distribution: Distribution = .ketama,
        timeout: Int = -1,
        backlog: Int = 512,
        clientConnections: Int = 0,
        redis: Bool = false,
        redisAuth: String? = nil,
        redisDB: Int = 0,
        preconnect: Bool = false,
        autoEjectHosts: Bool = false,
        serverConnections: Int = 1,
        serverRetryTimeout: Int = 30_000,
        serverFailureLimit: Int = 2,
        tcpKeepalive: Bool = false,
        reuseport: Bool = false,
        servers: [ServerConfig]
    ) {
        self.name = name
        self.location = location
        self.listen = listen
        self.listenSpec = listenSpec
        self.hash = hash
        self.hashTag = hashTag
        self.distribution = distribution
        self.timeout = timeout
        self.backlog = backlog
        self.clientConnections = clientConnections
        self.redis = redis
        self.redisAuth = redisAuth
        self.redisDB = redisDB
        self.preconnect = preconnect
        self.autoEjectHosts = autoEjectHosts
        self.serverConnections = serverConnections
        self.serverRetryTimeout = serverRetryTimeout
        self.serverFailureLimit = serverFailureLimit
        self.tcpKeepalive = tcpKeepalive
        self.reuseport = reuseport
        self.servers = servers
    }
}
