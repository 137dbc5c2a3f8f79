/// One parsed request line, described by byte offsets into the line it came from.
///
/// One value lives per client connection and is refilled by every
/// `MemcacheRequestParser.parse(line:into:)`: `keys` keeps its capacity, so parsing does
/// not allocate once the longest key list a client sends has been seen.
public struct MemcacheRequest: Sendable {
    /// The command word.
    public var command: MemcacheCommand
    /// Each key's bytes within the line, in request order; duplicates are kept.
    /// Storage, delete, incr, decr and touch have exactly one; retrievals one or more;
    /// the other commands none.
    public var keys: [Range<Int>]
    /// Storage commands: the data block's length, without its `\r\n` (0...2_147_483_645).
    /// Other commands: 0.
    public var valueLength: Int
    /// Whether memcached would send no reply (the last token is `noreply` on a command
    /// that takes it).
    public var noreply: Bool
    /// `gat`/`gats`: the exptime token, which a multiget fragment repeats
    /// (`gat <exptime> k1 k2\r\n`). Other commands: nil.
    public var exptimeRange: Range<Int>?
    /// Everything after the command word, from the first to the last byte of its
    /// arguments (empty range when there are none). Useful for `stats <args>`,
    /// `flush_all <delay>` and `verbosity <level>`.
    public var arguments: Range<Int>

    /// An empty request (`version`, no keys), ready to be filled by the parser.
    public init() {
        command = .version
        keys = []
        valueLength = 0
        noreply = false
        exptimeRange = nil
        arguments = 0..<0
    }

    /// Clears every field but keeps the key array's storage.
    mutating func reset() {
        keys.removeAll(keepingCapacity: true)
        valueLength = 0
        noreply = false
        exptimeRange = nil
        arguments = 0..<0
    }
}
