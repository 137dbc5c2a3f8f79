/// A request memcached would not run, and what memcached 1.6.18 does about it.
///
/// Every case below was sent to Debian's memcached 1.6.18 while this was written; the
/// doc comment of each constant records what came back.
public struct MemcacheParseError: Error, Equatable, Sendable {
    /// The exact bytes memcached answers, `\r\n` included. Empty when memcached sends
    /// nothing: an error on a request whose last token is `noreply` is silenced (its
    /// `out_string` honours `noreply`), and the connection-closing cases say nothing.
    public var reply: String
    /// After the line (or, for `badDataChunk`, after the data block), how many more bytes
    /// of the stream belong to the bad request and must be dropped. memcached 1.6.18
    /// never swallows on a malformed request: a storage line it rejects leaves its data
    /// block in the stream, where it is read as the next command (usually `ERROR`). It
    /// swallows only after accepting a line it cannot store (`SERVER_ERROR object too
    /// large for cache`, out of memory), which is the server's business, not the
    /// parser's. So this is 0 for every error the parser returns.
    public var swallow: Int
    /// Whether the connection must be closed (after writing `reply` and the replies of
    /// earlier requests): memcached closes silently on an HTTP request line and on an
    /// over-long line.
    public var closeConnection: Bool

    /// An error with the given reply, swallow count and close flag.
    public init(reply: String, swallow: Int = 0, closeConnection: Bool = false) {
        self.reply = reply
        self.swallow = swallow
        self.closeConnection = closeConnection
    }

    /// Unknown command, wrong number of tokens, empty line, one-byte command,
    /// upper case, `get` with no key: `ERROR`. Sent even with `noreply`: memcached
    /// counts tokens before it looks for `noreply` (`set k 0 0 1 noreply x` → `ERROR`).
    public static let unknownCommand = MemcacheParseError(reply: "ERROR\r\n")
    /// A key over 250 bytes, or a bad flags/exptime/bytes/cas number on a storage
    /// command, a bad `verbosity` level: `CLIENT_ERROR bad command line format`.
    public static let badCommandLineFormat = MemcacheParseError(reply: "CLIENT_ERROR bad command line format\r\n")
    /// A bad exptime on `touch`, `gat`, `gats`, `flush_all`:
    /// `CLIENT_ERROR invalid exptime argument`.
    public static let invalidExptime = MemcacheParseError(reply: "CLIENT_ERROR invalid exptime argument\r\n")
    /// A bad `incr`/`decr` delta (not a u64, or negative):
    /// `CLIENT_ERROR invalid numeric delta argument`.
    public static let invalidDelta = MemcacheParseError(reply: "CLIENT_ERROR invalid numeric delta argument\r\n")
    /// `delete <key> <x>` where `<x>` is neither `0` nor `noreply` (and the three-argument
    /// forms other than `delete <key> 0 noreply`). Two spaces after the period, as sent.
    public static let deleteUsage = MemcacheParseError(
        reply: "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n")
    /// A data block whose `bytes + 2` bytes do not end in `\r\n`: memcached has already
    /// consumed those `bytes + 2` bytes and goes on reading right after them
    /// (`set k 0 0 1\r\nxy\r\n` → `CLIENT_ERROR bad data chunk`, then `ERROR` for the
    /// left-over `\n`).
    public static let badDataChunk = MemcacheParseError(reply: "CLIENT_ERROR bad data chunk\r\n")
    /// An error on a request ending in `noreply`: memcached sends nothing and reads on.
    public static let silenced = MemcacheParseError(reply: "")
    /// `gat <exptime>` / `gats <exptime>` with no key: not an error to memcached, which
    /// answers an empty retrieval, `END`. Returned as an error so the caller answers it
    /// locally like the others.
    public static let emptyRetrieval = MemcacheParseError(reply: "END\r\n")
    /// An unknown command whose last token starts with `HTTP/` (`GET / HTTP/1.1`):
    /// memcached closes the connection without a word.
    public static let httpRequest = MemcacheParseError(reply: "", closeConnection: true)
    /// A line longer than `MemcacheRequestParser.lineLengthLimit(startingWith:)`:
    /// memcached closes the connection without a word.
    public static let lineTooLong = MemcacheParseError(reply: "", closeConnection: true)

    /// `error`, or `silenced` when the request asked for `noreply`.
    static func unlessNoreply(_ noreply: Bool, _ error: MemcacheParseError) -> MemcacheParseError {
        noreply ? .silenced : error
    }
}
