import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension ServerProcess {
    /// A redis-server on 127.0.0.1 with persistence off, optionally with a password.
    static func redis(requirepass: String? = nil) throws -> ServerProcess {
        try ServerProcess("/usr/bin/redis-server") { port in
            ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"]
                + (requirepass.map { ["--requirepass", $0] } ?? [])
        }
    }
}

/// One RESP (v2) value, as a redis server or proxy sends it.
indirect enum RedisReply: Equatable, Sendable, CustomStringConvertible {
    case simple(String)
    case error(String)
    case integer(Int)
    /// `$-1` is `.bulk(nil)`.
    case bulk([UInt8]?)
    /// `*-1` is `.array(nil)`.
    case array([RedisReply]?)

    static let ok = RedisReply.simple("OK")
    static let null = RedisReply.bulk(nil)

    /// A bulk string holding the UTF-8 bytes of `text`.
    static func string(_ text: String) -> RedisReply { .bulk(Array(text.utf8)) }

    /// An array of bulk strings (`nil` for a null bulk), as MGET answers.
    static func strings(_ items: [String?]) -> RedisReply { .array(items.map { $0.map { .string($0) } ?? .null }) }

    /// The bytes that encode this value.
    var encoded: [UInt8] {
        switch self {
        case .simple(let text): return Array("+\(text)\r\n".utf8)
        case .error(let text): return Array("-\(text)\r\n".utf8)
        case .integer(let value): return Array(":\(value)\r\n".utf8)
        case .bulk(nil): return Array("$-1\r\n".utf8)
        case .bulk(let bytes?): return Array("$\(bytes.count)\r\n".utf8) + bytes + [13, 10]
        case .array(nil): return Array("*-1\r\n".utf8)
        case .array(let items?): return Array("*\(items.count)\r\n".utf8) + items.flatMap(\.encoded)
        }
    }

    var description: String {
        switch self {
        case .simple(let text): return "+\(text)"
        case .error(let text): return "-\(text)"
        case .integer(let value): return ":\(value)"
        case .bulk(nil): return "(nil)"
        case .bulk(let bytes?):
            if bytes.count > 80 { return "\"\(String(decoding: bytes.prefix(40), as: UTF8.self))...\" (\(bytes.count) bytes)" }
            return String(decoding: bytes, as: UTF8.self).debugDescription
        case .array(nil): return "(nil array)"
        case .array(let items?): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        }
    }

    /// The text of a bulk or simple string, for short checks.
    var text: String? {
        switch self {
        case .simple(let text): return text
        case .bulk(let bytes?): return String(decoding: bytes, as: UTF8.self)
        default: return nil
        }
    }
}

/// Encodes one command as a RESP multibulk request.
func multibulk(_ arguments: [[UInt8]]) -> [UInt8] {
    var bytes = Array("*\(arguments.count)\r\n".utf8)
    for argument in arguments {
        bytes += Array("$\(argument.count)\r\n".utf8) + argument + [13, 10]
    }
    return bytes
}

func multibulk(_ arguments: [String]) -> [UInt8] { multibulk(arguments.map { Array($0.utf8) }) }

func multibulk(_ arguments: String...) -> [UInt8] { multibulk(arguments) }

extension TestSocket {
    /// Reads one whole reply (nested arrays and bulk strings of any size included);
    /// returns the value and the exact bytes it arrived as.
    func readReplyWithBytes() throws -> (value: RedisReply, raw: [UInt8]) {
        let line = try readLine()
        var raw = line + [13, 10]
        guard let type = line.first else { throw HarnessError("empty RESP line") }
        let rest = String(decoding: line.dropFirst(), as: UTF8.self)
        switch type {
        case UInt8(ascii: "+"): return (.simple(rest), raw)
        case UInt8(ascii: "-"): return (.error(rest), raw)
        case UInt8(ascii: ":"):
            guard let value = Int(rest) else { throw HarnessError("bad integer reply \(rest.debugDescription)") }
            return (.integer(value), raw)
        case UInt8(ascii: "$"):
            guard let length = Int(rest), length >= -1 else { throw HarnessError("bad bulk length \(rest.debugDescription)") }
            if length == -1 { return (.null, raw) }
            let body = try read(count: length + 2)
            guard body.suffix(2) == [13, 10] else { throw HarnessError("bulk of \(length) bytes not ended by CRLF") }
            raw += body
            return (.bulk(Array(body.prefix(length))), raw)
        case UInt8(ascii: "*"):
            guard let count = Int(rest), count >= -1 else { throw HarnessError("bad array length \(rest.debugDescription)") }
            if count == -1 { return (.array(nil), raw) }
            var items: [RedisReply] = []
            items.reserveCapacity(count)
            for _ in 0..<count {
                let (item, itemRaw) = try readReplyWithBytes()
                items.append(item)
                raw += itemRaw
            }
            return (.array(items), raw)
        default:
            throw HarnessError("not a RESP reply: \(String(decoding: line, as: UTF8.self).debugDescription)")
        }
    }

    /// Reads one whole reply.
    func readReply() throws -> RedisReply { try readReplyWithBytes().value }

    /// The exact bytes of one whole reply.
    func readReplyBytes() throws -> [UInt8] { try readReplyWithBytes().raw }

    /// Sends one command and reads its reply.
    func command(_ arguments: String...) throws -> RedisReply {
        try send(multibulk(arguments))
        return try readReply()
    }

    func command(_ arguments: [String]) throws -> RedisReply {
        try send(multibulk(arguments))
        return try readReply()
    }

    func command(bytes arguments: [[UInt8]]) throws -> RedisReply {
        try send(multibulk(arguments))
        return try readReply()
    }

    /// Sends the commands in one write and reads one reply for each.
    func pipeline(_ commands: [[String]]) throws -> [RedisReply] {
        try send(commands.flatMap { multibulk($0) })
        return try commands.map { _ in try readReply() }
    }
}

/// Where keys live on a set of redis backends, asked directly.
struct RedisBackends {
    let ports: [Int]
    var password: String? = nil
    var db = 0

    /// A direct client to backend `index`, authenticated and on `db`.
    func client(_ index: Int) throws -> TestSocket {
        let socket = try TestSocket(port: ports[index])
        if let password {
            let reply = try socket.command("AUTH", password)
            guard reply == .ok else { throw HarnessError("AUTH on backend \(index): \(reply)") }
        }
        if db != 0 {
            let reply = try socket.command("SELECT", "\(db)")
            guard reply == .ok else { throw HarnessError("SELECT on backend \(index): \(reply)") }
        }
        return socket
    }

    /// For each key, the indexes of the backends that hold it (pipelined EXISTS).
    func holders(_ keys: [[UInt8]]) throws -> [[Int]] {
        var result = Array(repeating: [Int](), count: keys.count)
        for index in ports.indices {
            let socket = try client(index)
            var start = 0
            while start < keys.count {
                let slice = Array(keys[start..<min(start + 200, keys.count)])
                try socket.send(slice.flatMap { multibulk([Array("EXISTS".utf8), $0]) })
                for offset in slice.indices {
                    let reply = try socket.readReply()
                    if reply == .integer(1) {
                        result[start + offset].append(index)
                    } else if reply != .integer(0) {
                        throw HarnessError("EXISTS on backend \(index) answered \(reply)")
                    }
                }
                start += slice.count
            }
        }
        return result
    }

    func holders(_ keys: [String]) throws -> [[Int]] { try holders(keys.map { Array($0.utf8) }) }

    /// The one backend that holds each key; fails if a key is on none or several.
    func owners(_ keys: [String]) throws -> [Int] {
        try zip(keys, holders(keys)).map { key, holders in
            guard holders.count == 1 else { throw HarnessError("\(key.debugDescription) is held by backends \(holders)") }
            return holders[0]
        }
    }
}
