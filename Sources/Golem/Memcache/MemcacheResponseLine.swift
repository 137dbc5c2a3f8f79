/// What one line from a memcached server is, as far as framing replies goes.
public enum MemcacheResponseLine: Equatable, Sendable {
    /// `VALUE <key> <flags> <bytes>[ <cas>]`: `key` is the key's byte range in the line;
    /// `valueLength + 2` more bytes (the data and its `\r\n`) follow the line.
    case value(key: Range<Int>, valueLength: Int)
    /// `END`: the end of a retrieval (or stats) reply.
    case end
    /// A complete one-line reply that is not an error: `STORED`, `NOT_STORED`, `EXISTS`,
    /// `NOT_FOUND`, `DELETED`, `TOUCHED`, `OK`, `RESET`, `VERSION <x>`, or an
    /// incr/decr result (decimal digits).
    case simple
    /// A complete one-line error reply: `ERROR`, `CLIENT_ERROR <text>`,
    /// `SERVER_ERROR <text>`.
    case error
    /// One line of a multi-line stats reply, which ends with `END`: `STAT <name> <value>`
    /// (and `ITEM ...` from `stats cachedump`, `PREFIX ...` from `stats detail dump`,
    /// which frame the same way).
    case stat
    /// Anything else: the proxy treats the server connection as broken (nutcracker
    /// answers the request `SERVER_ERROR Invalid argument`).
    case invalid
}
