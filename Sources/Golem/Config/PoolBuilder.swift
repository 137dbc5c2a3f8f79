/// Turns one pool of a `ConfigTree` into a `PoolConfig`, with nutcracker's checks in
/// nutcracker's order: each directive as it comes (`conf_parse`), then the pool as a whole
/// (`conf_validate_pool`) once every pool has been read.
struct PoolBuilder {
    /// A pool whose directives were all read, with what the cross-pool checks need.
    struct Built {
        /// The pool, servers sorted.
        var config: PoolConfig
        /// Where the `listen:` value is, for the duplicate listen check.
        var listenLocation: SourceLocation
    }

    /// The pool's name node.
    let name: ConfigTree.Scalar

    private var seen: Set<Directive> = []
    private var listen: (address: ListenAddress, spec: String, location: SourceLocation)?
    private var hash: HashFunction?
    private var hashTag: [UInt8]?
    private var distribution: Distribution?
    private var timeout: Int?
    private var backlog: Int?
    private var clientConnections: Int?
    private var redis: Bool?
    private var redisAuth: (value: String, location: SourceLocation)?
    private var redisDB: Int?
    private var preconnect: Bool?
    private var autoEjectHosts: Bool?
    private var serverConnections: (value: Int, location: SourceLocation)?
    private var serverRetryTimeout: Int?
    private var serverFailureLimit: Int?
    private var tcpKeepalive: Bool?
    private var reuseport: Bool?
    private var servers: [ServerConfig] = []

    /// Starts a pool; its name must not be empty.
    init(name: ConfigTree.Scalar) throws(ConfigIssue) {
        try Self.checkScalar(name, what: "pool name")
        self.name = name
    }

    /// Reads one entry: every element of a sequence is applied under the same key, as
    /// nutcracker does (so a second element of a non-`servers` key is a duplicate).
    mutating func apply(_ entry: ConfigTree.Entry) throws(ConfigIssue) {
        try Self.checkScalar(entry.key, what: "directive name")
        for value in entry.values {
            try apply(key: entry.key, value: value)
        }
    }

    /// Reads one `key: value`.
    private mutating func apply(key: ConfigTree.Scalar, value: ConfigTree.Scalar) throws(ConfigIssue) {
        try Self.checkScalar(value, what: "directive \(key.quoted) value")
        guard let directive = Directive(rawValue: key.string) else {
            throw ConfigIssue(key.location, "directive \(key.quoted) is unknown")
        }
        if directive != .servers {
            guard seen.insert(directive).inserted else {
                throw ConfigIssue(key.location, "directive \(key.quoted) is a duplicate")
            }
        }
        let prefix = "directive \(key.quoted)"

        /// A number (digits only), or nutcracker's error.
        func number() throws(ConfigIssue) -> Int {
            guard let number = Directive.number(value.bytes) else {
                throw ConfigIssue(value.location, "\(prefix) is not a number (\(value.quoted))")
            }
            return number
        }
        /// `true` or `false`, or nutcracker's error.
        func boolean() throws(ConfigIssue) -> Bool {
            guard let boolean = Directive.boolean(value.bytes) else {
                throw ConfigIssue(value.location, "\(prefix) is not \"true\" or \"false\" (\(value.quoted))")
            }
            return boolean
        }

        switch directive {
        case .listen:
            listen = (try ListenAddress.parse(value), value.string, value.location)
        case .hash:
            guard let function = HashFunction(rawValue: value.string) else {
                throw ConfigIssue(value.location, "\(prefix) is not a valid hash (\(value.quoted))")
            }
            hash = function
        case .hashTag:
            guard value.bytes.count == 2 else {
                throw ConfigIssue(
                    value.location,
                    "\(prefix) is not a valid hash tag string with two characters (\(value.quoted))")
            }
            hashTag = value.bytes
        case .distribution:
            guard let kind = Distribution(rawValue: value.string) else {
                throw ConfigIssue(value.location, "\(prefix) is not a valid distribution (\(value.quoted))")
            }
            distribution = kind
        case .timeout: timeout = try number()
        case .backlog: backlog = try number()
        case .clientConnections: clientConnections = try number()
        case .redis: redis = try boolean()
        case .tcpKeepalive: tcpKeepalive = try boolean()
        case .redisAuth: redisAuth = (value.string, key.location)
        case .redisDB: redisDB = try number()
        case .preconnect: preconnect = try boolean()
        case .autoEjectHosts: autoEjectHosts = try boolean()
        case .serverConnections: serverConnections = (try number(), value.location)
        case .serverRetryTimeout: serverRetryTimeout = try number()
        case .serverFailureLimit: serverFailureLimit = try number()
        case .reuseport: reuseport = try boolean()
        case .servers: servers.append(try ServerConfig.parse(value))
        }
    }

    /// nutcracker refuses empty scalars (without saying why); golemproxy says why. A NUL
    /// byte (possible in a double-quoted scalar) is refused too: C code would cut the
    /// value short there.
    private static func checkScalar(_ scalar: ConfigTree.Scalar, what: String) throws(ConfigIssue) {
        if scalar.bytes.isEmpty {
            throw ConfigIssue(scalar.location, "\(what) is empty")
        }
        if scalar.bytes.contains(0) {
            throw ConfigIssue(scalar.location, "\(what) contains a NUL byte")
        }
    }

    /// The pool checks nutcracker makes after reading the whole file, in its order:
    /// `listen` present, `server_connections` not 0, `redis_auth` only with `redis`, at
    /// least one server, no two servers with the same name. Fills in the defaults and
    /// sorts the servers.
    func build() throws(ConfigIssue) -> Built {
        let poolName = name.string
        guard let listen else {
            throw ConfigIssue(name.location, "directive \"listen:\" is missing in pool '\(poolName)'")
        }
        if let serverConnections, serverConnections.value == 0 {
            throw ConfigIssue(serverConnections.location, "directive \"server_connections:\" cannot be 0")
        }
        if let redisAuth, redis != true {
            throw ConfigIssue(redisAuth.location, "directive \"redis_auth:\" is only valid for a redis pool")
        }
        guard !servers.isEmpty else {
            throw ConfigIssue(name.location, "pool '\(poolName)' has no servers")
        }
        let sorted = NameOrder.sorted(servers) { Array($0.name.utf8) }
        for (first, second) in zip(sorted, sorted.dropFirst()) where first.name == second.name {
            // The sort keeps file order among equal names: `second` is the later line.
            throw ConfigIssue(
                second.location, "pool '\(poolName)' has servers with same name '\(second.name)'")
        }

        var config = PoolConfig(
            name: poolName, location: name.location, listen: listen.address, listenSpec: listen.spec,
            servers: sorted)
        if let hash { config.hash = hash }
        config.hashTag = hashTag
        if let distribution { config.distribution = distribution }
        if let timeout { config.timeout = timeout }
        if let backlog { config.backlog = backlog }
        if let clientConnections { config.clientConnections = clientConnections }
        if let redis { config.redis = redis }
        config.redisAuth = redisAuth?.value
        if let redisDB { config.redisDB = redisDB }
        if let preconnect { config.preconnect = preconnect }
        if let autoEjectHosts { config.autoEjectHosts = autoEjectHosts }
        if let serverConnections { config.serverConnections = serverConnections.value }
        if let serverRetryTimeout { config.serverRetryTimeout = serverRetryTimeout }
        if let serverFailureLimit { config.serverFailureLimit = serverFailureLimit }
        if let tcpKeepalive { config.tcpKeepalive = tcpKeepalive }
        if let reuseport { config.reuseport = reuseport }
        return Built(config: config, listenLocation: listen.location)
    }
}
