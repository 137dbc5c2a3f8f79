import Testing

@testable import Golem

/// RESP framing: requests (multibulk and inline), replies of any nesting, the command
/// table. Streams are fed split at every offset and spread over many buffer chunks, so
/// both the contiguous fast path and the chunked path frame them.
@Suite struct RedisFramerTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// A buffer holding `bytes` in chunks of `chunk` bytes each (moved in, so libevent
    /// keeps them as separate chunks), or in one piece when `chunk` is 0.
    static func buffer(_ bytes: [UInt8], chunk: Int = 0) -> Buffer {
        let buffer = Buffer()
        append(bytes, to: buffer, chunk: chunk)
        return buffer
    }

    static func append(_ bytes: [UInt8], to buffer: Buffer, chunk: Int) {
        guard chunk > 0 else {
            buffer.append(bytes)
            return
        }
        var start = 0
        while start < bytes.count {
            let piece = Buffer()
            piece.append(Array(bytes[start..<min(bytes.count, start + chunk)]))
            piece.moveAll(to: buffer)
            start += chunk
        }
    }

    /// Frames every request in `stream`, delivered in pieces of `piece` bytes, and
    /// returns each as its arguments (inline lines as their split words, prefixed "I").
    static func frameRequests(_ stream: [UInt8], piece: Int, chunk: Int = 0) -> [[[UInt8]]] {
        let buffer = Buffer()
        var framer = RedisRequestFramer()
        var framed: [[[UInt8]]] = []
        var delivered = 0
        while true {
            switch framer.frame(buffer) {
            case .incomplete:
                guard delivered < stream.count else { return framed }
                let end = min(stream.count, delivered + piece)
                append(Array(stream[delivered..<end]), to: buffer, chunk: chunk)
                delivered = end
            case .empty(let length):
                buffer.drain(length)
            case .inline(let length):
                var line = buffer.copyBytes(length)
                buffer.drain(length)
                line.removeLast()
                if line.last == 13 { line.removeLast() }
                let words = line.withUnsafeBytes { RedisRequestFramer.splitInline($0) } ?? [bytes("unbalanced")]
                if !words.isEmpty { framed.append([bytes("I")] + words) }
            case .request:
                framed.append(framer.arguments.map { range in buffer.withBytes(at: range.lowerBound, length: range.count) { Array($0) } })
                buffer.drain(framer.total)
            case .error(let message):
                framed.append([bytes("E"), bytes(message)])
                return framed
            }
        }
    }

    static let bigValue = (0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7 + 1) }

    static var requestStream: (bytes: [UInt8], expected: [[[UInt8]]]) {
        let commands: [[[UInt8]]] = [
            [bytes("GET"), bytes("foo")],
            [bytes("SET"), bytes("k\r\n"), Self.bigValue],
            [bytes("MGET"), bytes("a"), bytes(""), bytes("c")],
            [bytes("PING")],
        ]
        var stream: [UInt8] = []
        var expected: [[[UInt8]]] = []
        for command in commands {
            stream += RedisRequestFramer.multibulk(command)
            expected.append(command)
        }
        stream += bytes("*0\r\n*-1\r\nset a \"b c\"\r\n\r\nGET x\n")
        expected.append([bytes("I"), bytes("set"), bytes("a"), bytes("b c")])
        expected.append([bytes("I"), bytes("GET"), bytes("x")])
        stream += RedisRequestFramer.multibulk([bytes("DEL"), bytes("z")])
        expected.append([bytes("DEL"), bytes("z")])
        return (stream, expected)
    }

    @Test(arguments: [1, 2, 3, 7, 100, 1023, 1024, 1025, 4096, 1 << 20])
    func requestsSplitAnywhere(piece: Int) {
        let (stream, expected) = Self.requestStream
        #expect(Self.frameRequests(stream, piece: piece) == expected)
    }

    @Test(arguments: [1, 2, 5, 64])
    func requestsOverManyChunks(chunk: Int) {
        let (stream, expected) = Self.requestStream
        #expect(Self.frameRequests(stream, piece: stream.count, chunk: chunk) == expected)
    }

    @Test func requestAtEveryOffset() {
        let stream = RedisRequestFramer.multibulk([Self.bytes("HSET"), Self.bytes("h"), Self.bytes("f"), Self.bytes("vvvv")])
            + RedisRequestFramer.multibulk([Self.bytes("GET"), Self.bytes("k")])
        for split in 1..<stream.count {
            let buffer = Buffer()
            var framer = RedisRequestFramer()
            buffer.append(Array(stream[0..<split]))
            var outcome = framer.frame(buffer)
            if outcome == .incomplete {
                buffer.append(Array(stream[split...]))
                outcome = framer.frame(buffer)
            }
            #expect(outcome == .request)
            #expect(framer.arguments.count == 4)
            #expect(framer.total == stream.count - 20)
        }
    }

    @Test(arguments: [
        ("*abc\r\n", "invalid multibulk length"),
        ("*2000000\r\n", "invalid multibulk length"),
        ("*1\r\n+GET\r\n", "expected '$', got '+'"),
        ("*1\r\n$-3\r\n", "invalid bulk length"),
        ("*1\r\n$x\r\n", "invalid bulk length"),
        ("*1\r\n$999999999999\r\n", "invalid bulk length"),
        ("*1\r\n$3\r\nGETXX", "expected CRLF after bulk data"),
    ])
    func protocolErrors(input: String, message: String) {
        for chunk in [0, 1] {
            var framer = RedisRequestFramer()
            #expect(framer.frame(Self.buffer(Self.bytes(input), chunk: chunk)) == .error(message), "chunk \(chunk)")
        }
    }

    @Test func endlessLinesAreBounded() {
        var framer = RedisRequestFramer()
        let inline = Self.buffer([UInt8](repeating: UInt8(ascii: "a"), count: RedisRequestFramer.maxInlineLength + 1))
        #expect(framer.frame(inline) == .error("too big inline request"))
        let header = Self.buffer(Self.bytes("*1") + [UInt8](repeating: UInt8(ascii: "1"), count: RedisRequestFramer.maxInlineLength))
        #expect(framer.frame(header) == .error("too big mbulk count string"))
        let bulk = Self.buffer(Self.bytes("*1\r\n$1") + [UInt8](repeating: UInt8(ascii: "1"), count: RedisRequestFramer.maxInlineLength))
        #expect(framer.frame(bulk) == .error("too big bulk count string"))
    }

    @Test(arguments: [
        ("set a b", ["set", "a", "b"]),
        ("  get   key  ", ["get", "key"]),
        ("set k \"a b\\n\\x41\\\"\"", ["set", "k", "a b\nA\""]),
        ("set k 'it\\'s'", ["set", "k", "it's"]),
        ("set k \"\"", ["set", "k", ""]),
        ("", []),
        ("get a\u{0}b c", ["get", "a"]),
        ("\u{0}get", []),
    ])
    func inlineSplitting(line: String, words: [String]) {
        let split = Self.bytes(line).withUnsafeBytes { RedisRequestFramer.splitInline($0) }
        #expect(split == words.map { Self.bytes($0) })
    }

    @Test(arguments: ["set k \"abc", "set k \"a\"b", "set k 'x"])
    func unbalancedQuotes(line: String) {
        #expect(Self.bytes(line).withUnsafeBytes { RedisRequestFramer.splitInline($0) } == nil)
    }

    // MARK: Replies

    static let replies: [String] = [
        "+OK\r\n",
        "-ERR wrong\r\n",
        ":-42\r\n",
        "$-1\r\n",
        "$0\r\n\r\n",
        "$5\r\na\r\nbc\r\n",
        "*-1\r\n",
        "*0\r\n",
        "*3\r\n$1\r\na\r\n$-1\r\n:7\r\n",
        "*2\r\n*2\r\n+a\r\n*1\r\n:1\r\n$2\r\nxy\r\n",
        "*2\r\n*0\r\n*0\r\n",
    ]

    static func frameReplies(_ stream: [UInt8], piece: Int, chunk: Int = 0) -> [Int] {
        let buffer = Buffer()
        var framer = RedisReplyFramer()
        var lengths: [Int] = []
        var delivered = 0
        while true {
            switch framer.frame(buffer) {
            case .incomplete:
                guard delivered < stream.count else { return lengths }
                let end = min(stream.count, delivered + piece)
                append(Array(stream[delivered..<end]), to: buffer, chunk: chunk)
                delivered = end
            case .complete(let length):
                lengths.append(length)
                buffer.drain(length)
            case .invalid:
                lengths.append(-1)
                return lengths
            }
        }
    }

    @Test(arguments: [1, 2, 3, 10, 1023, 1025, 100_000])
    func repliesSplitAnywhere(piece: Int) {
        let big = "$5000\r\n" + String(repeating: "v", count: 5000) + "\r\n"
        let all = Self.replies + [big, "*2\r\n" + big + big] + Self.replies
        let stream = all.flatMap { Self.bytes($0) }
        #expect(Self.frameReplies(stream, piece: piece) == all.map { $0.utf8.count })
        #expect(Self.frameReplies(stream, piece: stream.count, chunk: piece) == all.map { $0.utf8.count })
    }

    @Test(arguments: ["!x\r\n", "$abc\r\n", "$3\r\nabcde\r\n", "*-2\r\n", "*1\r\n?\r\n"])
    func invalidReplies(reply: String) {
        for chunk in [0, 1] {
            var framer = RedisReplyFramer()
            #expect(framer.frame(Self.buffer(Self.bytes(reply), chunk: chunk)) == .invalid)
        }
    }

    // MARK: Commands

    @Test func commandLookup() {
        func look(_ name: String) -> RedisCommand? { Self.bytes(name).withUnsafeBytes { RedisCommand.lookup($0) } }
        #expect(look("get")?.name == "get")
        #expect(look("GeT")?.kind == .keyed(extra: .exactly(0)))
        #expect(look("mget")?.kind == .splitArray)
        #expect(look("EXISTS")?.kind == .splitSum)
        #expect(look("mset")?.upperName == Self.bytes("MSET"))
        #expect(look("keys") == nil)
        #expect(look("ge") == nil)
        #expect(look("gett") == nil)
        #expect(look(String(repeating: "g", count: 100)) == nil)
        #expect(look("get")!.accepts(argumentCount: 1))
        #expect(!look("get")!.accepts(argumentCount: 0))
        #expect(!look("get")!.accepts(argumentCount: 2))
        #expect(look("set")!.accepts(argumentCount: 5))
        #expect(!look("mset")!.accepts(argumentCount: 3))
        #expect(look("eval")!.accepts(argumentCount: 3))
        #expect(!look("eval")!.accepts(argumentCount: 2))
        #expect(look("ping")!.accepts(argumentCount: 1))
        #expect(!look("ping")!.accepts(argumentCount: 2))
    }

    @Test func appendHeaderWritesDecimal() {
        let buffer = Buffer()
        buffer.appendHeader(UInt8(ascii: "*"), 0)
        buffer.appendHeader(UInt8(ascii: ":"), -1234567890123)
        buffer.appendHeader(UInt8(ascii: "$"), Int.max)
        #expect(buffer.copyBytes() == Self.bytes("*0\r\n:-1234567890123\r\n$\(Int.max)\r\n"))
    }
}
