/// Parses one memcached text-protocol request line in place, answering bad input the
/// way memcached 1.6.18's `process_command_ascii` does.
///
/// The caller finds the line end itself and passes the bytes before it: memcached
/// ends a line at LF and drops one CR before it, so `EVBUFFER_EOL_CRLF` (optional CR,
/// then LF) frames exactly as it does; the strict CRLF search misses `get k\n`, which
/// memcached answers. Nothing here allocates except `keys` growing past its largest
/// size so far, and no `String` is made from client bytes.
///
/// Rules, each checked against memcached 1.6.18 (replies in `MemcacheParseError`):
/// - tokens are separated by runs of spaces; leading and trailing spaces are fine;
///   a tab is part of a token; the line ends at its first NUL (`strlen`);
/// - commands are lower case and match whole (`SET` and `gett` are `ERROR`);
/// - the token count is checked before anything else (`ERROR`): get/gets/gat/gats take
///   1 or more arguments (`gat 10` with no key is answered `END`), set/add/replace/
///   append/prepend 4 or 5, cas 5 or 6, incr/decr/touch 2 or 3, delete 1 to 3,
///   verbosity 1 or 2, flush_all 0 to 2; stats, version and quit take anything;
/// - `noreply` is the last token, wherever that is: on a storage line with 5
///   arguments any fifth token is accepted and ignored (`set k 0 0 1 junk` stores),
///   and on one with 4 a last token `noreply` silences the error its bad `bytes` causes;
/// - an error on a request whose last token is `noreply` is silent (on the commands
///   that take it, see `MemcacheCommand.allowsNoreply`), except `ERROR` for a wrong
///   token count, which comes first;
/// - keys are 1 to 250 bytes of anything but space and NUL (bytes ≥ 0x80 included);
/// - numbers follow `MemcacheNumber` (glibc `strtol` semantics, 32-bit truncation);
/// - a rejected storage line does **not** swallow its data block: memcached reads the
///   block as the next command line, and so does a caller that takes `swallow` (0) at
///   its word.
///
/// Deviations: memcached's meta commands (`mg`, `ms`, `md`, `ma`, `mn`, `me`) and admin
/// commands (`shutdown`, `slabs`, `lru_crawler`, `lru`, `watch`, `cache_memlimit`,
/// `extstore`, `refresh_certs`) are answered `ERROR` rather than served, and a first
/// byte 0x80 (memcached's cue for the binary protocol) is just an unknown command. The
/// ancient `bget` is parsed as `get`, as memcached does.
public enum MemcacheRequestParser {
    /// The longest key memcached accepts (`KEY_MAX_LENGTH`).
    public static let maxKeyLength = 250

    /// The longest non-retrieval request line, not counting its line end: memcached
    /// closes a connection (silently) when more than 2048 bytes are buffered without an
    /// LF, unless the line starts, after at most 100 spaces, with `get ` or `gets `.
    /// (memcached only notices when the LF comes in a later read; golemproxy applies
    /// the limit however the bytes arrive, so the outcome does not depend on TCP
    /// segmentation.)
    public static let maxCommandLineLength = 2048

    /// The longest request line of any kind, not counting its line end: the cap on
    /// `get `/`gets ` lines. memcached grows its buffer without bound for those;
    /// golemproxy stops at 1 MiB, room for 4,000 keys of the maximal 250 bytes, and
    /// closes the connection silently, as memcached does for other long lines.
    public static let maxLineLength = 1 << 20

    /// The line length limit for a line that starts with `prefix` (at least its first
    /// 106 bytes, or everything buffered): `maxLineLength` for a `get `/`gets ` line
    /// (after at most 100 leading spaces), else `maxCommandLineLength`. When `prefix`
    /// is too short to tell, `maxLineLength`. The caller closes the connection with
    /// `MemcacheParseError.lineTooLong` when a line is longer, or when more than
    /// limit + 1 bytes (the line and a possible CR) are buffered without an LF.
    public static func lineLengthLimit(startingWith prefix: UnsafeRawBufferPointer) -> Int {
        var index = 0
        while index < prefix.count && prefix[index] == 0x20 { index += 1 }
        if index > 100 { return maxCommandLineLength }
        // memcached: strncmp(ptr, "get ", 4) && strncmp(ptr, "gets ", 5). `get` plus
        // a space or `gets` plus a space; a prefix that ends first could still be one.
        let word: StaticString = "gets "
        var offset = 0
        while offset < 5 {
            guard index + offset < prefix.count else { return maxLineLength }
            let byte = prefix[index + offset]
            if offset == 3 && byte == 0x20 { return maxLineLength }  // "get "
            guard byte == word.utf8Start[offset] else { return maxCommandLineLength }
            offset += 1
        }
        return maxLineLength
    }

    /// The answer to a storage request once its data block has arrived, given the last
    /// two of its `valueLength + 2` bytes: nil when they are `\r\n`, else
    /// `CLIENT_ERROR bad data chunk` (silenced by `noreply`, as memcached does). Either
    /// way memcached has consumed all `valueLength + 2` bytes and reads on after them.
    public static func dataBlockError(last: UInt8, beforeLast: UInt8, noreply: Bool) -> MemcacheParseError? {
        if beforeLast == 13 && last == 10 { return nil }
        return noreply ? .silenced : .badDataChunk
    }

    /// What a command word means to memcached's dispatcher.
    enum Verb {
        /// A command golemproxy serves.
        case command(MemcacheCommand)
        /// `ERROR`, whatever the arguments: a word in one of memcached's first-letter
        /// branches (g s a c i d t, two-letter m) that it does not match, or a
        /// command memcached has and golemproxy does not serve.
        case error
        /// A word memcached does not know at all: `ERROR`, unless the last token starts
        /// with `HTTP/`, which closes the connection.
        case unknown
    }

    /// Classifies the command word at `word` like `process_command_ascii`, which
    /// branches on the first letter before comparing whole words.
    static func verb(_ tokens: MemcacheTokenizer, _ word: Range<Int>) -> Verb {
        // `if` chains rather than arrays of candidates: no allocation per request.
        /// Whether the word is `command`'s keyword.
        func match(_ command: MemcacheCommand) -> Bool { tokens.token(word, is: command.keyword) }
        switch tokens.bytes[word.lowerBound] {
        case UInt8(ascii: "m") where word.count == 2:
            return .error  // meta commands
        case UInt8(ascii: "g"):
            if match(.get) { return .command(.get) }
            if match(.gets) { return .command(.gets) }
            if match(.gat) { return .command(.gat) }
            if match(.gats) { return .command(.gats) }
            return .error
        case UInt8(ascii: "s"):
            if match(.set) { return .command(.set) }
            if match(.stats) { return .command(.stats) }
            return .error  // shutdown, slabs, anything else
        case UInt8(ascii: "a"):
            if match(.add) { return .command(.add) }
            if match(.append) { return .command(.append) }
            return .error
        case UInt8(ascii: "c"):
            return match(.cas) ? .command(.cas) : .error  // cache_memlimit
        case UInt8(ascii: "i"):
            return match(.incr) ? .command(.incr) : .error
        case UInt8(ascii: "d"):
            if match(.delete) { return .command(.delete) }
            if match(.decr) { return .command(.decr) }
            return .error
        case UInt8(ascii: "t"):
            return match(.touch) ? .command(.touch) : .error
        default:
            if match(.replace) { return .command(.replace) }
            if match(.prepend) { return .command(.prepend) }
            if tokens.token(word, is: "bget") { return .command(.get) }
            if match(.flushAll) { return .command(.flushAll) }
            if match(.version) { return .command(.version) }
            if match(.quit) { return .command(.quit) }
            if match(.verbosity) { return .command(.verbosity) }
            if tokens.token(word, is: "lru_crawler") || tokens.token(word, is: "watch")
                || tokens.token(word, is: "lru") || tokens.token(word, is: "extstore")
                || tokens.token(word, is: "refresh_certs")
            {
                return .error
            }
            return .unknown
        }
    }

    /// Parses `line` (without its line end) into `request`.
    ///
    /// On `.request`, `request` describes the line; on `.error`, its fields are
    /// unspecified. Key ranges are offsets into `line`.
    public static func parse(line: UnsafeRawBufferPointer, into request: inout MemcacheRequest) -> MemcacheLineResult {
        request.reset()
        var tokens = MemcacheTokenizer(line)
        guard let word = tokens.next(), word.count >= 2 else { return .error(.unknownCommand) }
        let command: MemcacheCommand
        switch verb(tokens, word) {
        case .command(let found): command = found
        case .error: return .error(.unknownCommand)
        case .unknown: return .error(replyToUnknownWord(&tokens, word))
        }
        request.command = command
        if command.isRetrieval {
            return parseRetrieval(&tokens, into: &request)
        }
        // The first five arguments are all any command looks at; the rest only count
        // (and make the count wrong), and the last may be `noreply`.
        var count = 0
        var a0 = 0..<0, a1 = 0..<0, a2 = 0..<0, a3 = 0..<0, a4 = 0..<0
        var last = 0..<0
        while let token = tokens.next() {
            switch count {
            case 0: a0 = token
            case 1: a1 = token
            case 2: a2 = token
            case 3: a3 = token
            case 4: a4 = token
            default: break
            }
            last = token
            count += 1
        }
        if count > 0 { request.arguments = a0.lowerBound..<last.upperBound }
        // memcached's set_noreply_maybe: the last token, whatever its position.
        let noreply = count > 0 && tokens.token(last, is: "noreply")
        let bytes = tokens.bytes
        switch command {
        case .set, .add, .replace, .append, .prepend, .cas:
            let base = command == .cas ? 5 : 4
            guard count == base || count == base + 1 else { return .error(.unknownCommand) }
            request.noreply = noreply
            guard a0.count <= maxKeyLength,
                MemcacheNumber.unsigned32(bytes, a1) != nil,
                MemcacheNumber.signed32(bytes, a2) != nil,
                let length = MemcacheNumber.signed32(bytes, a3),
                command != .cas || MemcacheNumber.unsigned64(bytes, a4) != nil,
                length >= 0, length <= Int32.max - 2
            else { return .error(.unlessNoreply(noreply, .badCommandLineFormat)) }
            request.valueLength = Int(length)
        case .incr, .decr:
            guard count == 2 || count == 3 else { return .error(.unknownCommand) }
            request.noreply = noreply
            guard a0.count <= maxKeyLength else { return .error(.unlessNoreply(noreply, .badCommandLineFormat)) }
            guard MemcacheNumber.unsigned64(bytes, a1) != nil else {
                return .error(.unlessNoreply(noreply, .invalidDelta))
            }
        case .touch:
            guard count == 2 || count == 3 else { return .error(.unknownCommand) }
            request.noreply = noreply
            guard a0.count <= maxKeyLength else { return .error(.unlessNoreply(noreply, .badCommandLineFormat)) }
            guard MemcacheNumber.signed32(bytes, a1) != nil else {
                return .error(.unlessNoreply(noreply, .invalidExptime))
            }
        case .delete:
            guard (1...3).contains(count) else { return .error(.unknownCommand) }
            if count > 1 {
                // memcached accepts `delete k 0`, `delete k noreply`, `delete k 0 noreply`.
                let holdIsZero = tokens.token(a1, is: "0")
                let valid = (count == 2 && (holdIsZero || noreply)) || (count == 3 && holdIsZero && noreply)
                request.noreply = noreply
                guard valid else { return .error(.unlessNoreply(noreply, .deleteUsage)) }
            }
            guard a0.count <= maxKeyLength else {
                return .error(.unlessNoreply(request.noreply, .badCommandLineFormat))
            }
        case .verbosity:
            guard count == 1 || count == 2 else { return .error(.unknownCommand) }
            request.noreply = noreply
            guard MemcacheNumber.unsigned32(bytes, a0) != nil else {
                return .error(.unlessNoreply(noreply, .badCommandLineFormat))
            }
        case .flushAll:
            guard count <= 2 else { return .error(.unknownCommand) }
            request.noreply = noreply
            // A delay is parsed unless the only argument is `noreply`.
            if count != (noreply ? 1 : 0) && MemcacheNumber.signed32(bytes, a0) == nil {
                return .error(.unlessNoreply(noreply, .invalidExptime))
            }
        case .stats, .version, .quit, .get, .gets, .gat, .gats:
            break
        }
        if command.hasSingleKey { request.keys.append(a0) }
        return .request
    }

    /// get, gets, gat, gats (after the command word): every argument is a key, except
    /// gat's and gats's first, the exptime.
    static func parseRetrieval(_ tokens: inout MemcacheTokenizer, into request: inout MemcacheRequest) -> MemcacheLineResult {
        guard let first = tokens.next() else { return .error(.unknownCommand) }
        var start = first
        if request.command.touchesOnRetrieval {
            guard MemcacheNumber.signed32(tokens.bytes, first) != nil else { return .error(.invalidExptime) }
            request.exptimeRange = first
            guard let key = tokens.next() else {
                request.arguments = first
                return .error(.emptyRetrieval)
            }
            start = key
        }
        var key = start
        var last = start
        while true {
            // memcached answers only the error, even for the keys before the long one.
            guard key.count <= maxKeyLength else { return .error(.badCommandLineFormat) }
            request.keys.append(key)
            last = key
            guard let next = tokens.next() else { break }
            key = next
        }
        request.arguments = first.lowerBound..<last.upperBound
        return .request
    }

    /// The reply to a command word memcached does not know: `ERROR`, or a silent close
    /// when its last token (of the first 23, memcached's `MAX_TOKENS` - 1) starts with
    /// `HTTP/`.
    static func replyToUnknownWord(_ tokens: inout MemcacheTokenizer, _ word: Range<Int>) -> MemcacheParseError {
        var last = word
        var count = 1
        while count < 23, let token = tokens.next() {
            last = token
            count += 1
        }
        let prefix: StaticString = "HTTP/"
        guard last.count >= prefix.utf8CodeUnitCount else { return .unknownCommand }
        let http = tokens.token(last.lowerBound..<(last.lowerBound + prefix.utf8CodeUnitCount), is: prefix)
        return http ? .httpRequest : .unknownCommand
    }
}
