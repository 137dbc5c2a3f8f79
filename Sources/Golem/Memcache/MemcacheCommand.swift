/// A memcached text-protocol command the proxy understands.
///
/// The raw values are stable and small so that per-command counters can be indexed by
/// them. Commands memcached 1.6.18 knows but the proxy does not serve (meta commands,
/// `shutdown`, `slabs`, `lru_crawler`, `watch`, `lru`, `cache_memlimit`, `extstore`,
/// `refresh_certs`) have no case: the parser answers them with `ERROR`.
public enum MemcacheCommand: UInt8, Sendable, CaseIterable {
    /// `get <key>*`
    case get
    /// `gets <key>*`: like `get`, with the cas unique in each `VALUE` line.
    case gets
    /// `gat <exptime> <key>*`: get and touch.
    case gat
    /// `gats <exptime> <key>*`: gets and touch.
    case gats
    /// `set <key> <flags> <exptime> <bytes> [noreply]` and a data block.
    case set
    /// `add`, same syntax as `set`.
    case add
    /// `replace`, same syntax as `set`.
    case replace
    /// `append`, same syntax as `set`.
    case append
    /// `prepend`, same syntax as `set`.
    case prepend
    /// `cas <key> <flags> <exptime> <bytes> <cas unique> [noreply]` and a data block.
    case cas
    /// `delete <key> [0] [noreply]`
    case delete
    /// `incr <key> <delta> [noreply]`
    case incr
    /// `decr <key> <delta> [noreply]`
    case decr
    /// `touch <key> <exptime> [noreply]`
    case touch
    /// `version [anything]`: memcached 1.6 ignores arguments.
    case version
    /// `quit [anything]`: close once earlier replies are written; no reply.
    case quit
    /// `flush_all [delay] [noreply]`
    case flushAll
    /// `verbosity <level> [noreply]`
    case verbosity
    /// `stats [arguments]`
    case stats

    /// get, gets, gat, gats: one or more keys, answered with `VALUE` blocks and `END`.
    public var isRetrieval: Bool {
        switch self {
        case .get, .gets, .gat, .gats: true
        default: false
        }
    }

    /// set, add, replace, append, prepend, cas: one key and a data block.
    public var isStorage: Bool {
        switch self {
        case .set, .add, .replace, .append, .prepend, .cas: true
        default: false
        }
    }

    /// Whether a data block of `valueLength` bytes plus `\r\n` follows the line.
    public var hasValue: Bool { isStorage }

    /// Whether `gat`/`gats`: the first argument is an exptime, not a key.
    public var touchesOnRetrieval: Bool { self == .gat || self == .gats }

    /// Whether the request names exactly one key (storage, delete, incr, decr, touch).
    public var hasSingleKey: Bool {
        switch self {
        case .set, .add, .replace, .append, .prepend, .cas, .delete, .incr, .decr, .touch: true
        default: false
        }
    }

    /// Whether a trailing `noreply` silences the reply (memcached's `set_noreply_maybe`
    /// callers). `get`, `version`, `stats` and `quit` never take it: `version noreply`
    /// is answered, `get k noreply` asks for the key "noreply" too.
    public var allowsNoreply: Bool {
        switch self {
        case .set, .add, .replace, .append, .prepend, .cas, .delete, .incr, .decr, .touch,
            .flushAll, .verbosity:
            true
        default: false
        }
    }

    /// The command word as sent on the wire, e.g. `flush_all`; used to rewrite multiget
    /// fragments (`get`, `gets`, `gat`, `gats`).
    public var keyword: StaticString {
        switch self {
        case .get: "get"
        case .gets: "gets"
        case .gat: "gat"
        case .gats: "gats"
        case .set: "set"
        case .add: "add"
        case .replace: "replace"
        case .append: "append"
        case .prepend: "prepend"
        case .cas: "cas"
        case .delete: "delete"
        case .incr: "incr"
        case .decr: "decr"
        case .touch: "touch"
        case .version: "version"
        case .quit: "quit"
        case .flushAll: "flush_all"
        case .verbosity: "verbosity"
        case .stats: "stats"
        }
    }
}
