/// The keys a pool may have: nutcracker 0.5.0's directives plus `reuseport` (from
/// twemproxy's master branch).
enum Directive: String, CaseIterable, Sendable {
    case listen
    case hash
    case hashTag = "hash_tag"
    case distribution
    case timeout
    case backlog
    case clientConnections = "client_connections"
    case redis
    case tcpKeepalive = "tcpkeepalive"
    case redisAuth = "redis_auth"
    case redisDB = "redis_db"
    case preconnect
    case autoEjectHosts = "auto_eject_hosts"
    case serverConnections = "server_connections"
    case serverRetryTimeout = "server_retry_timeout"
    case serverFailureLimit = "server_failure_limit"
    case servers
    case reuseport

    /// nutcracker's `nc_atoi`: one or more ASCII digits, nothing else (no sign, no
    /// spaces). Unlike nutcracker, whose `int` silently wraps, a value above `Int32.max`
    /// is refused.
    static func number(_ bytes: some Collection<UInt8>) -> Int? {
        guard !bytes.isEmpty else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            guard value <= Int(Int32.max) else { return nil }
        }
        return value
    }

    /// nutcracker's booleans: exactly `true` or `false`.
    static func boolean(_ bytes: [UInt8]) -> Bool? {
        switch bytes {
        case Array("true".utf8): true
        case Array("false".utf8): false
        default: nil
        }
    }
}
