/// Where a pool accepts clients, from its `listen:` directive.
public enum ListenAddress: Sendable, Equatable {
    /// `host:port`, split at the last colon (so `::1:22121` is IPv6 loopback). The host was
    /// resolved with getaddrinfo (and found) when the configuration was loaded.
    case tcp(host: String, port: Int)
    /// `/path/to/socket [octal-permissions]`. `permissions` is nil when the socket's mode
    /// must be left alone: no permission field, or one that reads as 0 (nutcracker only
    /// calls chmod for a non-zero value).
    case unix(path: String, permissions: UInt32?)
}
