/// Where a backend server lives, from a `servers:` line.
///
/// Host names are kept as written: nutcracker resolves backends lazily, on every new
/// connection, so a name that does not resolve is not a configuration error.
public enum ServerAddress: Sendable, Equatable {
    /// `host:port:weight [name]`; `host` may be a name, an IPv4 or a bare IPv6 address
    /// (`::1:11211:1`: the line is split at its last colons).
    case tcp(host: String, port: Int)
    /// `/path/to/socket:weight [name]`.
    case unix(path: String)
}
