import Golem

/// The fuzz targets: each takes arbitrary bytes and must neither crash nor break its
/// invariant. libFuzzer drives them through `golem-fuzz` (see scripts/fuzz.sh); the
/// test suite replays the committed corpus through them.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// The memcache request framer: any bytes frame without crashing, and framing the
    /// stream whole gives the same units as feeding it in pieces (split points taken
    /// from the input itself).
    case request
    /// The memcache reply line parser: any line parses to some `MemcacheResponseLine`,
    /// and a `VALUE` line's key range lies inside the line.
    case response
    /// The config loader: any bytes either load or give a `ConfigError` with a position
    /// inside the text.
    case config
    /// The RESP request framer: any bytes frame without crashing, into the same
    /// requests whether they arrive whole, in pieces, or spread over one-byte chunks.
    case redisRequest = "redis-request"
    /// The RESP reply framer: the same reply boundaries whole, in pieces and in
    /// one-byte chunks, each inside the stream.
    case redisReply = "redis-reply"

    /// Runs the target on `data`; a broken invariant stops the process (`fatalError`),
    /// which libFuzzer reports as a crash with the input that caused it.
    public func run(_ data: [UInt8]) {
        switch self {
        case .request: Self.request(data)
        case .response: Self.response(data)
        case .config: Self.config(data)
        case .redisRequest: Self.redisRequest(data)
        case .redisReply: Self.redisReply(data)
        }
    }

    /// Feeds `data` into a buffer `piece` bytes at a time (each piece its own chunk when
    /// `chunked`), calling `frame` until it wants more; returns what it framed.
    private static func feed<Unit>(
        _ data: [UInt8], piece: Int, chunked: Bool, frame: (Buffer) -> (unit: Unit?, more: Bool)
    ) -> [Unit] {
        let buffer = Buffer()
        var units: [Unit] = []
        var offset = 0
        while true {
            let (unit, more) = frame(buffer)
            if let unit { units.append(unit) }
            if !more { return units }
            if unit != nil { continue }
            guard offset < data.count else { return units }
            let end = min(data.count, offset + piece)
            if chunked {
                for index in offset..<end {
                    let single = Buffer()
                    single.append([data[index]])
                    single.moveAll(to: buffer)
                }
            } else {
                buffer.append(Array(data[offset..<end]))
            }
            offset = end
        }
    }

    private static func redisRequest(_ data: [UInt8]) {
        func frameAll(piece: Int, chunked: Bool) -> [[[UInt8]]] {
            var framer = RedisRequestFramer()
            return feed(data, piece: piece, chunked: chunked) { buffer -> ([[UInt8]]?, Bool) in
                switch framer.frame(buffer) {
                case .incomplete:
                    return (nil, true)
                case .empty(let length), .inline(let length):
                    guard length > 0 && length <= buffer.count else { fatalError("framed \(length) of \(buffer.count) bytes") }
                    let unit = [Array("skip".utf8), buffer.copyBytes(length)]
                    buffer.drain(length)
                    return (unit, true)
                case .request:
                    guard framer.total <= buffer.count, !framer.arguments.isEmpty else { fatalError("request past the buffer") }
                    let unit = framer.arguments.map { range in
                        buffer.withBytes(at: range.lowerBound, length: range.count) { Array($0) }
                    }
                    buffer.drain(framer.total)
                    return (unit, true)
                case .error(let message):
                    return ([Array("error".utf8), Array(message.utf8)], false)
                }
            }
        }
        let whole = frameAll(piece: data.count + 1, chunked: false)
        let chunk = max(1, Int(data.first ?? 1))
        if frameAll(piece: chunk, chunked: false) != whole || frameAll(piece: data.count + 1, chunked: true) != whole {
            fatalError("RESP request framing depends on segmentation")
        }
    }

    private static func redisReply(_ data: [UInt8]) {
        func frameAll(piece: Int, chunked: Bool) -> [Int] {
            var framer = RedisReplyFramer()
            return feed(data, piece: piece, chunked: chunked) { buffer -> (Int?, Bool) in
                switch framer.frame(buffer) {
                case .incomplete:
                    return (nil, true)
                case .complete(let length):
                    guard length > 0 && length <= buffer.count else { fatalError("reply of \(length) in \(buffer.count) bytes") }
                    buffer.drain(length)
                    return (length, true)
                case .invalid:
                    return (-1, false)
                }
            }
        }
        let whole = frameAll(piece: data.count + 1, chunked: false)
        let chunk = max(1, Int(data.first ?? 1))
        if frameAll(piece: chunk, chunked: false) != whole || frameAll(piece: data.count + 1, chunked: true) != whole {
            fatalError("RESP reply framing depends on segmentation")
        }
    }

    private static func request(_ data: [UInt8]) {
        let whole = MemcacheFramer.frameRequests(data)
        // Split points: the first byte picks a chunk size from 1 to 256.
        let chunk = max(1, Int(data.first ?? 1))
        var framer = MemcacheFramer()
        var pieces: [MemcacheFramer.Framed] = []
        var offset = 0
        while offset < data.count {
            let end = min(data.count, offset + chunk)
            pieces += framer.feed(Array(data[offset..<end]))
            offset = end
        }
        if pieces != whole {
            fatalError("framing depends on segmentation: \(whole.count) units whole, \(pieces.count) in chunks of \(chunk)")
        }
    }

    private static func response(_ data: [UInt8]) {
        // Each LF-separated piece is a line, as the proxy hands them over.
        for line in data.split(separator: 10, omittingEmptySubsequences: false) {
            let bytes = Array(line)
            let parsed = bytes.withUnsafeBytes { MemcacheResponseParser.parse(line: $0) }
            if case .value(let key, let length) = parsed {
                if key.lowerBound < 0 || key.upperBound > bytes.count || key.isEmpty || length < 0 {
                    fatalError("VALUE line parsed to key \(key), length \(length) in a \(bytes.count)-byte line")
                }
            }
        }
    }

    private static func config(_ data: [UInt8]) {
        do {
            let pools = try ConfigLoader.parse(data, file: "fuzz.yml")
            if pools.isEmpty { fatalError("a config loaded with no pools") }
            for pool in pools where pool.servers.isEmpty { fatalError("pool '\(pool.name)' loaded with no servers") }
        } catch {
            // YAML breaks lines at LF, CR and CRLF (and at NEL, LS, PS, whose UTF-8
            // forms contain 0x85, 0xA8 or 0xA9): count every such byte as an upper bound.
            let breaks = data.reduce(0) { $0 + ([10, 13, 0x85, 0xA8, 0xA9].contains($1) ? 1 : 0) }
            if error.line > breaks + 2 || error.line < 0 || error.column < 0 {
                fatalError("error position \(error.line):\(error.column) past the \(breaks) line breaks: \(error)")
            }
        }
    }
}
