import Testing

@testable import Golem

/// The memcached text-protocol framing: request lines, reply lines and whole streams.
///
/// Every expected error reply in these tables was first observed from Debian's
/// memcached 1.6.18 (`liveRepliesMatchMemcached` checks them again against the real
/// server), so the proxy answers bad input exactly as a memcached behind it would.
@Suite struct MemcacheParserTests {
    // MARK: Helpers

    /// The bytes of `text` (ASCII in these tables).
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// A key of `length` bytes.
    static func key(_ length: Int) -> String { String(repeating: "k", count: length) }

    /// What parsing `line` gave: the result and the request's fields as byte arrays.
    struct Parsed {
        var result: MemcacheLineResult
        var command: MemcacheCommand
        var keys: [[UInt8]]
        var valueLength: Int
        var noreply: Bool
        var exptime: [UInt8]?
        var arguments: [UInt8]
    }

    /// Parses `line` with a fresh request.
    static func parse(_ line: [UInt8]) -> Parsed {
        var request = MemcacheRequest()
        return parse(line, into: &request)
    }

    /// Parses `line` into `request` and copies out what it says.
    static func parse(_ line: [UInt8], into request: inout MemcacheRequest) -> Parsed {
        let result = line.withUnsafeBytes { MemcacheRequestParser.parse(line: $0, into: &request) }
        return Parsed(
            result: result, command: request.command,
            keys: request.keys.map { Array(line[$0]) }, valueLength: request.valueLength,
            noreply: request.noreply, exptime: request.exptimeRange.map { Array(line[$0]) },
            arguments: Array(line[request.arguments]))
    }

    // MARK: Valid requests

    /// A line that must parse, and what it must parse to.
    struct Valid: Sendable, CustomTestStringConvertible {
        var line: [UInt8]
        var command: MemcacheCommand
        var keys: [[UInt8]]
        var valueLength = 0
        var noreply = false
        var exptime: String? = nil
        var arguments: String? = nil
        var testDescription: String { String(decoding: line, as: UTF8.self) }

        init(
            _ line: String, _ command: MemcacheCommand, _ keys: [String], value: Int = 0, noreply: Bool = false,
            exptime: String? = nil, arguments: String? = nil
        ) {
            self.init(bytes: Array(line.utf8), command, keys.map { Array($0.utf8) }, value: value, noreply: noreply)
            self.exptime = exptime
            self.arguments = arguments
        }

        init(bytes: [UInt8], _ command: MemcacheCommand, _ keys: [[UInt8]], value: Int = 0, noreply: Bool = false) {
            self.line = bytes
            self.command = command
            self.keys = keys
            self.valueLength = value
            self.noreply = noreply
        }
    }

    static let valid: [Valid] = [
        // Retrieval: 1+ keys, duplicates kept, `noreply` is just a key.
        Valid("get k", .get, ["k"]),
        Valid("get a b a", .get, ["a", "b", "a"]),
        Valid("gets k1 k2", .gets, ["k1", "k2"]),
        Valid("get k noreply", .get, ["k", "noreply"]),
        Valid("   get    a   b   ", .get, ["a", "b"], arguments: "a   b"),
        Valid("get " + key(250), .get, [key(250)]),
        Valid("get " + (0..<30).map { "k\($0)" }.joined(separator: " "), .get, (0..<30).map { "k\($0)" }),
        Valid("gat 10 k", .gat, ["k"], exptime: "10"),
        Valid("gats -1 a b", .gats, ["a", "b"], exptime: "-1"),
        Valid("gat 4294967296 k", .gat, ["k"], exptime: "4294967296"),  // truncated to 0
        Valid("bget k", .get, ["k"]),  // memcached's ancient alias
        Valid(bytes: Array("get a".utf8) + [0] + Array("b c".utf8), .get, [Array("a".utf8)]),  // strlen
        // Storage.
        Valid("set k 0 0 5", .set, ["k"], value: 5),
        Valid("set k 0 0 5 noreply", .set, ["k"], value: 5, noreply: true),
        Valid("set k 0 0 5 junk", .set, ["k"], value: 5),  // memcached ignores a 5th token
        Valid("set   k   0   0   1  ", .set, ["k"], value: 1),
        Valid("add k 1 2 3", .add, ["k"], value: 3),
        Valid("replace k 0 0 3 noreply", .replace, ["k"], value: 3, noreply: true),
        Valid("append k 0 0 3", .append, ["k"], value: 3),
        Valid("prepend k 0 0 3", .prepend, ["k"], value: 3),
        Valid("cas k 0 0 5 123", .cas, ["k"], value: 5),
        Valid("cas k 0 0 5 18446744073709551615 noreply", .cas, ["k"], value: 5, noreply: true),
        Valid("cas k 0 0 5 123 junk", .cas, ["k"], value: 5),
        Valid("set " + key(250) + " 0 0 1", .set, [key(250)], value: 1),
        Valid("set k 0 0 0", .set, ["k"], value: 0),
        Valid("set k 4294967295 0 1", .set, ["k"], value: 1),
        Valid("set k 4294967296 0 1", .set, ["k"], value: 1),  // flags truncated to 0
        Valid("set k -18446744073709551615 0 1", .set, ["k"], value: 1),  // flags 1
        Valid("set k 0 0 4294967301", .set, ["k"], value: 5),  // 32-bit truncation
        Valid("set k 0 0 +1", .set, ["k"], value: 1),
        Valid("set k 0 0 \t1", .set, ["k"], value: 1),
        Valid("set k 0 0 1\t", .set, ["k"], value: 1),
        Valid("set k 0 0 1\r", .set, ["k"], value: 1),
        Valid("set k 0 0 00001", .set, ["k"], value: 1),
        Valid("set k 0 -5 1", .set, ["k"], value: 1),
        Valid("set k 0 0 2147483645", .set, ["k"], value: 2_147_483_645),
        // Delete.
        Valid("delete k", .delete, ["k"]),
        Valid("delete k 0", .delete, ["k"]),
        Valid("delete k noreply", .delete, ["k"], noreply: true),
        Valid("delete k 0 noreply", .delete, ["k"], noreply: true),
        Valid("delete noreply", .delete, ["noreply"]),  // one token: a key
        Valid("delete " + key(250), .delete, [key(250)]),
        // Arithmetic.
        Valid("incr k 1", .incr, ["k"]),
        Valid("decr k 18446744073709551615", .decr, ["k"]),
        Valid("incr k -0", .incr, ["k"]),
        Valid("incr k 1 noreply", .incr, ["k"], noreply: true),
        Valid("incr k 1 foo", .incr, ["k"]),
        Valid("incr " + key(250) + " 1", .incr, [key(250)]),
        // Touch.
        Valid("touch k 10", .touch, ["k"]),
        Valid("touch k -1 noreply", .touch, ["k"], noreply: true),
        Valid("touch k 10 foo", .touch, ["k"]),
        Valid("touch " + key(250) + " 10", .touch, [key(250)]),
        // The rest.
        Valid("version", .version, []),
        Valid("version foo bar", .version, [], arguments: "foo bar"),
        Valid("version noreply", .version, []),  // answered: version takes no noreply
        Valid("quit", .quit, []),
        Valid("quit foo bar", .quit, []),
        Valid("flush_all", .flushAll, []),
        Valid("flush_all 0", .flushAll, [], arguments: "0"),
        Valid("flush_all noreply", .flushAll, [], noreply: true),
        Valid("flush_all 10 noreply", .flushAll, [], noreply: true, arguments: "10 noreply"),
        Valid("flush_all 10 foo", .flushAll, []),
        Valid("flush_all -1", .flushAll, []),
        Valid("flush_all 99999999999", .flushAll, []),
        Valid("verbosity 1", .verbosity, []),
        Valid("verbosity 1 noreply", .verbosity, [], noreply: true),
        Valid("verbosity 1 foo", .verbosity, []),
        Valid("verbosity 4294967296", .verbosity, []),
        Valid("stats", .stats, []),
        Valid("stats slabs", .stats, [], arguments: "slabs"),
        Valid("stats detail dump", .stats, [], arguments: "detail dump"),
        Valid("stats noreply", .stats, []),  // memcached: ERROR, from the stats code
    ]

    /// Every command's valid forms, with noreply wherever it may stand.
    @Test(arguments: Self.valid)
    func validRequest(_ case: Valid) {
        let parsed = Self.parse(`case`.line)
        #expect(parsed.result == .request)
        #expect(parsed.command == `case`.command)
        #expect(parsed.keys == `case`.keys)
        #expect(parsed.valueLength == `case`.valueLength)
        #expect(parsed.noreply == `case`.noreply)
        #expect(parsed.exptime == `case`.exptime.map(Self.bytes))
        if let arguments = `case`.arguments {
            #expect(parsed.arguments == Self.bytes(arguments))
        }
    }

    /// Keys are any bytes but space and NUL; bytes ≥ 0x80 included.
    @Test func highBytesInKeys() {
        let key: [UInt8] = [0x80, 0xff, 0xc3, 0x28, 0x09, 0x7f]
        let get = Self.parse(Self.bytes("get ") + key + Self.bytes(" k"))
        #expect(get.result == .request)
        #expect(get.keys == [key, Self.bytes("k")])
        let set = Self.parse(Self.bytes("set ") + key + Self.bytes(" 0 0 1 noreply"))
        #expect(set.result == .request)
        #expect(set.keys == [key])
        #expect(set.noreply)
    }

    /// A reused request forgets the previous line and keeps its key storage.
    @Test func requestIsReusedWithoutReallocating() {
        var request = MemcacheRequest()
        let many = Self.bytes("get " + (0..<40).map { "k\($0)" }.joined(separator: " "))
        _ = Self.parse(many, into: &request)
        let storage = request.keys.withUnsafeBufferPointer { $0.baseAddress }
        let set = Self.parse(Self.bytes("set k 0 0 5 noreply"), into: &request)
        #expect(set.keys == [Self.bytes("k")] && set.valueLength == 5 && set.noreply)
        let gat = Self.parse(Self.bytes("gat 1 a b"), into: &request)
        #expect(gat.keys == [Self.bytes("a"), Self.bytes("b")] && gat.valueLength == 0 && !gat.noreply)
        _ = Self.parse(many, into: &request)
        #expect(request.keys.withUnsafeBufferPointer { $0.baseAddress } == storage)
        let version = Self.parse(Self.bytes("version"), into: &request)
        #expect(version.keys.isEmpty && version.exptime == nil && version.arguments.isEmpty)
    }

    // MARK: Bad requests

    /// A line that must be refused, and memcached 1.6.18's exact answer.
    struct Bad: Sendable, CustomTestStringConvertible {
        var line: [UInt8]
        var reply: String
        var close = false
        /// Commands memcached serves and golemproxy answers with `ERROR` (meta and admin
        /// commands): left out of the live comparison.
        var deviates = false
        var testDescription: String {
            let text = String(decoding: line.prefix(60), as: UTF8.self)
            return line.count > 60 ? text + "…(\(line.count) bytes)" : text
        }

        init(_ line: String, _ reply: String, close: Bool = false, deviates: Bool = false) {
            self.init(bytes: Array(line.utf8), reply, close: close)
            self.deviates = deviates
        }

        init(bytes: [UInt8], _ reply: String, close: Bool = false) {
            self.line = bytes
            self.reply = reply
            self.close = close
        }
    }

    static let error = "ERROR\r\n"
    static let format = "CLIENT_ERROR bad command line format\r\n"
    static let exptime = "CLIENT_ERROR invalid exptime argument\r\n"
    static let delta = "CLIENT_ERROR invalid numeric delta argument\r\n"
    static let usage = "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"
    static let silent = ""

    static let bad: [Bad] = [
        // Unknown, malformed, wrong token count: ERROR, even with noreply.
        Bad("", error), Bad(" ", error), Bad("x", error), Bad("foo", error), Bad("foo bar", error),
        Bad("get", error), Bad("get ", error), Bad("gets", error), Bad("gat", error), Bad("gats", error),
        Bad("SET k 0 0 1", error), Bad("Get k", error), Bad("gett k", error), Bad("get\tk", error),
        Bad("mn", error, deviates: true), Bad("mg k v", error, deviates: true), Bad("shutdown", error, deviates: true),
        Bad("slabs reassign 1 2", error, deviates: true), Bad("lru_crawler HTTP/1.1", error, deviates: true),
        Bad("extstore HTTP/1.1", error), Bad("gopher HTTP/1.1", error),
        Bad("set k", error), Bad("set k 0 0", error), Bad("set k 0 0 1 noreply extra", error),
        Bad("cas k 0 0 1", error), Bad("cas k 0 0 1 2 noreply x", error),
        Bad("incr k", error), Bad("incr k 1 noreply extra", error), Bad("decr", error),
        Bad("touch k", error), Bad("touch k 1 2 3", error),
        Bad("delete", error), Bad("delete a b c d e", error),
        Bad("verbosity", error), Bad("verbosity foo bar my", error),
        Bad("flush_all a b c", error),
        Bad(bytes: Array("set k".utf8) + [0] + Array("x 0 0 1".utf8), error),  // strlen: "set k"
        // gat/gats.
        Bad("gat 10", "END\r\n"), Bad("gats 0  ", "END\r\n"),
        Bad("gat abc k", exptime), Bad("gat abc", exptime), Bad("gat abc k noreply", exptime),
        Bad("gat 9999999999999999999 k", exptime), Bad("gats 1x k", exptime),
        // Keys over 250 bytes.
        Bad("get " + key(251), format), Bad("get a " + key(251), format), Bad("get " + key(251) + " a", format),
        Bad("gets a b " + key(300), format), Bad("gat 1 " + key(251), format),
        Bad("get " + (0..<30).map { "k\($0)" }.joined(separator: " ") + " " + key(251), format),
        Bad("set " + key(251) + " 0 0 5", format), Bad("set " + key(251) + " 0 0 5 noreply", silent),
        Bad("incr " + key(251) + " abc", format), Bad("touch " + key(251) + " abc", format),
        Bad("delete " + key(251), format), Bad("delete " + key(251) + " 5", usage),
        Bad("delete " + key(251) + " noreply", silent),
        // Storage numbers.
        Bad("set k 0 0 -1", format), Bad("set k 0 0 abc", format), Bad("set k -1 0 1", format),
        Bad("set k 0 0 2147483646", format), Bad("set k 0 0 2147483647", format),
        Bad("set k 0 0 0x10", format), Bad("set k 0 0 1a", format), Bad("set k 0 abc 1", format),
        Bad("set k 0 0 -", format), Bad("set k 0 0 +", format), Bad("set k 0 0 \t", format),
        Bad("set k 0 0 9223372036854775808", format), Bad("set k 18446744073709551616 0 1", format),
        Bad("set k 0 9223372036854775808 1", format), Bad("add k 0 0 -2", format),
        Bad("set k 0 0 noreply", silent), Bad("set k abc 0 1 noreply", silent), Bad("prepend k 0 0 -1 noreply", silent),
        Bad("cas k 0 0 1 abc", format), Bad("cas k 0 0 1 -1", format), Bad("cas k 0 0 1 abc noreply", silent),
        // Arithmetic.
        Bad("incr k abc", delta), Bad("incr k -1", delta), Bad("decr k 18446744073709551616", delta),
        Bad("incr k abc noreply", silent),
        // Delete.
        Bad("delete k 5", usage), Bad("delete k 0 0", usage), Bad("delete k noreply 0", usage),
        Bad("delete k foo noreply", silent), Bad("delete k noreply noreply", silent),
        // Touch.
        Bad("touch k abc", exptime), Bad("touch k abc noreply", silent), Bad("touch k 9999999999999999999", exptime),
        // verbosity, flush_all.
        Bad("verbosity foo", format), Bad("verbosity -1", format), Bad("verbosity noreply", silent),
        Bad("verbosity foo noreply", silent),
        Bad("flush_all foo", exptime), Bad("flush_all noreply 10", exptime), Bad("flush_all foo noreply", silent),
        // An HTTP request: closed without a word.
        Bad("GET / HTTP/1.1", silent, close: true), Bad("meh HTTP/1.1", silent, close: true),
        Bad("HTTP/1.0", silent, close: true), Bad("misbehave HTTP/1.0", silent, close: true),
        Bad("xx " + (2...22).map { "t\($0)" }.joined(separator: " ") + " HTTP/1.1 t24", silent, close: true),
        Bad("xx " + (2...23).map { "t\($0)" }.joined(separator: " ") + " HTTP/1.1", error),
    ]

    /// Every error class with its exact reply; nothing is ever swallowed.
    @Test(arguments: Self.bad)
    func badRequest(_ case: Bad) {
        let parsed = Self.parse(`case`.line)
        #expect(parsed.result == .error(MemcacheParseError(reply: `case`.reply, closeConnection: `case`.close)))
    }

    /// The named constants carry the replies the tables expect.
    @Test func namedErrors() {
        #expect(MemcacheParseError.unknownCommand.reply == Self.error)
        #expect(MemcacheParseError.badCommandLineFormat.reply == Self.format)
        #expect(MemcacheParseError.invalidExptime.reply == Self.exptime)
        #expect(MemcacheParseError.invalidDelta.reply == Self.delta)
        #expect(MemcacheParseError.deleteUsage.reply == Self.usage)
        #expect(MemcacheParseError.badDataChunk.reply == "CLIENT_ERROR bad data chunk\r\n")
        #expect(MemcacheParseError.lineTooLong == MemcacheParseError(reply: "", closeConnection: true))
    }

    /// A data block must end in `\r\n`; if not, `CLIENT_ERROR bad data chunk`, or nothing
    /// with `noreply`.
    @Test func dataBlockEnd() {
        #expect(MemcacheRequestParser.dataBlockError(last: 10, beforeLast: 13, noreply: false) == nil)
        #expect(MemcacheRequestParser.dataBlockError(last: 10, beforeLast: 13, noreply: true) == nil)
        #expect(MemcacheRequestParser.dataBlockError(last: 13, beforeLast: 10, noreply: false) == .badDataChunk)
        #expect(MemcacheRequestParser.dataBlockError(last: 13, beforeLast: 121, noreply: true) == .silenced)
    }

    // MARK: Numbers

    /// glibc `strtol`/`strtoul` semantics with memcached's 32-bit truncation. The expected
    /// values were printed by memcached's own `safe_strtoul`/`safe_strtol`/`safe_strtoull`
    /// compiled with gcc on x86-64 glibc.
    @Test(arguments: [
        ("0", UInt32?(0), Int32?(0), UInt64?(0)),
        ("4294967295", 4_294_967_295, -1, 4_294_967_295),
        ("4294967296", 0, 0, 4_294_967_296),
        ("-1", nil, -1, nil),
        ("-0", 0, 0, 0),
        ("+7", 7, 7, 7),
        (" \t7", 7, 7, 7),
        ("7\u{0B}", 7, 7, 7),
        ("-18446744073709551615", 1, nil, 1),
        ("18446744073709551615", 4_294_967_295, nil, 18_446_744_073_709_551_615),
        ("18446744073709551616", nil, nil, nil),
        ("9223372036854775807", 4_294_967_295, -1, 9_223_372_036_854_775_807),
        ("-9223372036854775808", nil, 0, nil),
        ("-9223372036854775809", 4_294_967_295, nil, 9_223_372_036_854_775_807),
        ("2147483648", 2_147_483_648, Int32.min, 2_147_483_648),
        ("", nil, nil, nil), ("-", nil, nil, nil), ("1-", nil, nil, nil), ("x1", nil, nil, nil),
        ("+-1", nil, nil, nil), ("0x10", nil, nil, nil), ("1\t-", 1, 1, 1),
    ] as [(String, UInt32?, Int32?, UInt64?)])
    func numbers(text: String, u32: UInt32?, s32: Int32?, u64: UInt64?) {
        let bytes = Self.bytes(text)
        bytes.withUnsafeBytes { buffer in
            #expect(MemcacheNumber.unsigned32(buffer, 0..<bytes.count) == u32)
            #expect(MemcacheNumber.signed32(buffer, 0..<bytes.count) == s32)
            #expect(MemcacheNumber.unsigned64(buffer, 0..<bytes.count) == u64)
        }
    }

    // MARK: Line length

    /// `get `/`gets ` lines may be long; other lines stop at 2048 bytes.
    @Test(arguments: [
        ("get k", MemcacheRequestParser.maxLineLength),
        ("gets k", MemcacheRequestParser.maxLineLength),
        ("   get k", MemcacheRequestParser.maxLineLength),
        (String(repeating: " ", count: 100) + "get k", MemcacheRequestParser.maxLineLength),
        (String(repeating: " ", count: 101) + "get k", MemcacheRequestParser.maxCommandLineLength),
        ("set k 0 0 1", MemcacheRequestParser.maxCommandLineLength),
        ("getx", MemcacheRequestParser.maxCommandLineLength),
        ("get\tk", MemcacheRequestParser.maxCommandLineLength),
        ("gat 1 k", MemcacheRequestParser.maxCommandLineLength),
        ("ge", MemcacheRequestParser.maxLineLength),  // could still become "get "
        ("gets", MemcacheRequestParser.maxLineLength),
        ("", MemcacheRequestParser.maxLineLength),
    ])
    func lineLengthLimit(prefix: String, limit: Int) {
        let bytes = Self.bytes(prefix)
        #expect(bytes.withUnsafeBytes { MemcacheRequestParser.lineLengthLimit(startingWith: $0) } == limit)
    }

    // MARK: Reply lines

    /// A server line and what it must be classified as.
    struct Reply: Sendable, CustomTestStringConvertible {
        var line: [UInt8]
        var expected: MemcacheResponseLine
        var testDescription: String { String(decoding: line.prefix(60), as: UTF8.self) }
        init(_ line: String, _ expected: MemcacheResponseLine) { self.init(bytes: Array(line.utf8), expected) }
        init(bytes: [UInt8], _ expected: MemcacheResponseLine) {
            self.line = bytes
            self.expected = expected
        }
    }

    static let replies: [Reply] = [
        Reply("VALUE k 0 5", .value(key: 6..<7, valueLength: 5)),
        Reply("VALUE key 4294967295 0 123", .value(key: 6..<9, valueLength: 0)),
        Reply("VALUE k 0 2147483647", .value(key: 6..<7, valueLength: 2_147_483_647)),
        Reply("VALUE k 0 5 18446744073709551615", .value(key: 6..<7, valueLength: 5)),
        Reply("VALUE " + key(250) + " 0 1", .value(key: 6..<256, valueLength: 1)),
        Reply(bytes: Array("VALUE ".utf8) + [0x80, 0xff] + Array(" 1 2".utf8), .value(key: 6..<8, valueLength: 2)),
        Reply("VALUE k 0 5 1 extra", .invalid), Reply("VALUE k 0", .invalid), Reply("VALUE k x 5", .invalid),
        Reply("VALUE k 4294967296 5", .invalid), Reply("VALUE k 0 -5", .invalid),
        Reply("VALUE k 0 2147483648", .invalid), Reply("VALUE " + key(251) + " 0 1", .invalid),
        Reply("VALUE k 0 5 x", .invalid), Reply("VALUE", .invalid), Reply("VALUEk 0 1", .invalid),
        Reply("END", .end), Reply("END ", .end), Reply("ENDX", .invalid), Reply("END x", .invalid),
        Reply("STORED", .simple), Reply("NOT_STORED", .simple), Reply("EXISTS", .simple),
        Reply("NOT_FOUND", .simple), Reply("DELETED", .simple), Reply("TOUCHED", .simple),
        Reply("OK", .simple), Reply("RESET", .simple), Reply("STORED  ", .simple),
        Reply("VERSION 1.6.18", .simple), Reply("VERSION", .invalid),
        Reply("0", .simple), Reply("15", .simple), Reply("18446744073709551615", .simple),
        Reply("18446744073709551616", .invalid), Reply("12a", .invalid), Reply("-1", .invalid),
        Reply("ERROR", .error), Reply("ERROR unknown command", .error), Reply("ERRORS", .invalid),
        Reply("CLIENT_ERROR bad data chunk", .error), Reply("CLIENT_ERROR", .error),
        Reply("SERVER_ERROR out of memory storing object", .error), Reply("SERVER_ERROR object too large for cache", .error),
        Reply("STAT pid 1234", .stat), Reply("STAT", .invalid), Reply("ITEM k [1 b; 0 s]", .stat),
        Reply("PREFIX foo get 1 hit 0 set 0 del 0", .stat),
        Reply("", .invalid), Reply("stored", .invalid), Reply("HD", .invalid), Reply("MN", .invalid),
        Reply("Error TLS not enabled", .invalid), Reply("OKAY", .invalid), Reply(" STORED", .invalid),
        Reply("STORED x", .invalid), Reply("DELETED\r", .invalid),
    ]

    /// Every kind of reply line a memcached sends, and lines it never sends.
    @Test(arguments: Self.replies)
    func replyLine(_ case: Reply) {
        #expect(`case`.line.withUnsafeBytes { MemcacheResponseParser.parse(line: $0) } == `case`.expected)
    }

    // MARK: Streams

    /// A pipelined stream with every kind of unit, and what it frames to.
    static let stream: [UInt8] = bytes(
        "get a b\r\n"
            + "set k 0 0 5\r\nhello\r\n"
            + "set k 0 0 -1\r\nhello\r\n"  // rejected line; the block is read as a command
            + "set n 0 0 2 noreply\r\n10\r\n"
            + "set k 0 0 1\r\nxy\r\n"  // bad data chunk, then "\n" is an empty line
            + "set k 0 0 1 noreply\r\nxy\r\n"  // silenced, then ERROR for "\n"
            + "incr n 5\n"  // bare LF ends a line too
            + "delete k 0 noreply\r\n"
            + "gat 10\r\n"
            + "set e 0 0 0\r\n\r\n"
            + "delete k 5\r\n"
            + "version foo bar\r\n")

    static let framed: [MemcacheFramer.Framed] = [
        .request(command: .get, keys: [bytes("a"), bytes("b")], noreply: false, data: nil),
        .request(command: .set, keys: [bytes("k")], noreply: false, data: bytes("hello")),
        .answered(bytes(format)),
        .answered(bytes(error)),
        .request(command: .set, keys: [bytes("n")], noreply: true, data: bytes("10")),
        .answered(bytes("CLIENT_ERROR bad data chunk\r\n")),
        .answered(bytes(error)),
        .answered([]),
        .answered(bytes(error)),
        .request(command: .incr, keys: [bytes("n")], noreply: false, data: nil),
        .request(command: .delete, keys: [bytes("k")], noreply: true, data: nil),
        .answered(bytes("END\r\n")),
        .request(command: .set, keys: [bytes("e")], noreply: false, data: []),
        .answered(bytes(usage)),
        .request(command: .version, keys: [], noreply: false, data: nil),
    ]

    /// The whole stream at once.
    @Test func framesWholeStream() {
        #expect(MemcacheFramer.frameRequests(Self.stream) == Self.framed)
    }

    /// Streams that end the connection, and what comes before the end.
    static let closingStreams: [([UInt8], [MemcacheFramer.Framed])] = [
        (
            bytes("get a\r\nquit\r\nget b\r\n"),
            [
                .request(command: .get, keys: [bytes("a")], noreply: false, data: nil),
                .request(command: .quit, keys: [], noreply: false, data: nil),
            ]
        ),
        (bytes("version\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"), [
            .request(command: .version, keys: [], noreply: false, data: nil), .closed([]),
        ]),
        (bytes("set k 0 0 1 " + String(repeating: " ", count: 2040) + "\r\nx\r\nversion\r\n"), [.closed([])]),
        (bytes(String(repeating: "x", count: 2050)), [.closed([])]),
        (bytes(String(repeating: "x", count: 2048) + "\r\nversion\r\n"), [
            .answered(bytes(error)), .request(command: .version, keys: [], noreply: false, data: nil),
        ]),
        (bytes("get " + Array(repeating: key(250), count: 12).joined(separator: " ") + "\r\n"), [
            .request(command: .get, keys: Array(repeating: bytes(key(250)), count: 12), noreply: false, data: nil)
        ]),
    ]

    /// quit, an HTTP request and over-long lines end the stream; long gets do not.
    @Test func closingStreamsStopFraming() {
        for (stream, expected) in Self.closingStreams {
            #expect(MemcacheFramer.frameRequests(stream) == expected)
        }
    }

    /// Feeds `stream` in the given chunk sizes (the last chunk takes the rest).
    static func feed(_ stream: [UInt8], cuts: [Int]) -> [MemcacheFramer.Framed] {
        var framer = MemcacheFramer()
        var framed: [MemcacheFramer.Framed] = []
        var start = 0
        for cut in cuts + [stream.count] where cut >= start {
            framed += framer.feed(Array(stream[start..<cut]))
            start = cut
        }
        return framed
    }

    /// Split at every byte offset, or fed one byte at a time, a stream frames the same:
    /// evbuffer chains can cut a line, a number or a `\r\n` anywhere.
    @Test func framingDoesNotDependOnSplits() {
        let streams = [Self.stream] + Self.closingStreams.map(\.0)
        for stream in streams {
            let whole = MemcacheFramer.frameRequests(stream)
            for cut in 0...stream.count {
                #expect(Self.feed(stream, cuts: [cut]) == whole, "split at \(cut)")
            }
            #expect(Self.feed(stream, cuts: Array(0...stream.count)) == whole, "byte by byte")
        }
    }

    /// Every pair of split points in the mixed stream (two cuts: three chunks).
    @Test func framingDoesNotDependOnTwoSplits() {
        let stream = Self.stream
        for first in stride(from: 0, through: stream.count, by: 1) {
            for second in stride(from: first, through: stream.count, by: 7) {
                #expect(Self.feed(stream, cuts: [first, second]) == Self.framed)
            }
        }
    }

    // MARK: Against memcached itself

    /// A memcached on loopback. `-u nobody` lets it start when the tests run as root
    /// (memcached ignores `-u` otherwise).
    static func liveMemcached() throws -> ServerProcess {
        try ServerProcess("/usr/bin/memcached") { port in
            ["-l", "127.0.0.1", "-p", "\(port)", "-U", "0", "-m", "16", "-t", "1", "-u", "nobody"]
        }
    }

    /// Sends `bytes` then `version`, and returns everything memcached answered before its
    /// `VERSION` line: the reply to `bytes`, byte for byte.
    static func exchange(_ socket: TestSocket, _ bytes: [UInt8]) throws -> [UInt8] {
        try socket.send(bytes + Self.bytes("version\r\n"))
        var reply: [UInt8] = []
        while true {
            let line = try socket.readLine()
            if line.starts(with: Self.bytes("VERSION ")) { return reply }
            reply += line + [13, 10]
        }
    }

    /// Every bad line of the table, sent to a real memcached 1.6.18: it answers exactly
    /// the reply the parser gives (nothing for the silenced ones), and closes the
    /// connection, having said nothing, where the parser says to close.
    @Test func liveBadRepliesMatchMemcached() throws {
        let server = try Self.liveMemcached()
        defer { server.stop() }
        let socket = try TestSocket(port: server.port)
        for bad in Self.bad where !bad.deviates {
            if bad.close {
                let closing = try TestSocket(port: server.port)
                try closing.send(bad.line + [13, 10])
                #expect(throws: (any Error).self, "\(bad.testDescription) must close silently") {
                    _ = try closing.read(count: 1)
                }
            } else {
                let reply = try Self.exchange(socket, bad.line + [13, 10])
                #expect(String(decoding: reply, as: UTF8.self) == bad.reply, "\(bad.testDescription)")
            }
        }
    }

    /// Every valid line of the table (with a data block where one is due) is run by a
    /// real memcached without any of the parser's error replies.
    @Test func liveValidRequestsAreAccepted() throws {
        let server = try Self.liveMemcached()
        defer { server.stop() }
        let socket = try TestSocket(port: server.port)
        let parserErrors = [Self.error, Self.format, Self.exptime, Self.delta, Self.usage, "CLIENT_ERROR bad data chunk\r\n"]
        for valid in Self.valid where valid.command != .quit && valid.command != .stats && valid.valueLength < 100 {
            var request = valid.line + [13, 10]
            if valid.command.hasValue {
                request += Array(repeating: UInt8(ascii: "x"), count: valid.valueLength) + [13, 10]
            }
            let reply = String(decoding: try Self.exchange(socket, request), as: UTF8.self)
            for error in parserErrors {
                #expect(!reply.hasPrefix(error) && !reply.contains("\n" + error), "\(valid.testDescription): \(reply)")
            }
        }
    }

    /// The mixed stream, sent whole to memcached, gets the parser's local answers in the
    /// right places among the server's own replies.
    @Test func liveStreamMatchesMemcached() throws {
        let server = try Self.liveMemcached()
        defer { server.stop() }
        let socket = try TestSocket(port: server.port)
        let reply = String(decoding: try Self.exchange(socket, Self.stream), as: UTF8.self)
        #expect(
            reply
                == "END\r\n" + "STORED\r\n" + Self.format + Self.error + "CLIENT_ERROR bad data chunk\r\n" + Self.error
                + Self.error + "15\r\n" + "END\r\n" + "STORED\r\n" + Self.usage)
    }
}
