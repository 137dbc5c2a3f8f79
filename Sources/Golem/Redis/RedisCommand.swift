/// How the proxy handles one Redis command: where its key is, how many arguments it
/// takes, and whether it is split over servers or answered locally.
///
/// The table is nutcracker 0.5.0's (src/proto/nc_redis.c), with EXISTS moved to the
/// split-and-sum group, and SELECT (of the pool's db), PING with an argument and
/// HELLO (RESP2 only) answered by the proxy.
public struct RedisCommand: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Routed by the first argument (the key); `extra` counts the arguments after it.
        case keyed(extra: Arity)
        /// EVAL/EVALSHA `script numkeys key [key ...] [arg ...]`: routed by the first key.
        case eval
        /// Split per server, replies merged into one array in key order (MGET).
        case splitArray
        /// Split per server, integer replies summed (DEL, UNLINK, TOUCH, EXISTS).
        case splitSum
        /// Split per server in key/value pairs, `+OK` once all answered (MSET).
        case splitPairs
        /// Sent to the server of the key "placeholder", as nutcracker does (COMMAND, LOLWUT).
        case placeholder
        case ping
        case quit
        case auth
        case select
        /// HELLO: answered by the proxy (RESP2 only).
        case hello
    }

    public enum Arity: Sendable, Equatable {
        case exactly(Int)
        case atLeast(Int)

        func allows(_ count: Int) -> Bool {
            switch self {
            case .exactly(let wanted): count == wanted
            case .atLeast(let minimum): count >= minimum
            }
        }
    }

    /// Lower-case name, as Redis prints it in errors.
    public let name: String
    /// Upper-case name, written at the head of split fragments.
    public let upperName: [UInt8]
    public let kind: Kind

    init(_ name: String, _ kind: Kind) {
        self.name = name
        self.upperName = Array(name.uppercased().utf8)
        self.kind = kind
    }

    /// Whether `argumentCount` arguments (the command name not counted) are accepted.
    public func accepts(argumentCount count: Int) -> Bool {
        switch kind {
        case .keyed(let extra): count >= 1 && extra.allows(count - 1)
        case .eval: count >= 3
        case .splitArray, .splitSum: count >= 1
        case .splitPairs: count >= 2 && count % 2 == 0
        case .placeholder, .hello: true
        case .ping: count <= 1
        case .quit: count == 0
        case .auth, .select: count == 1
        }
    }

    /// The command named by `name` (any case), or nil for a command the proxy does
    /// not forward. Does not allocate.
    public static func lookup(_ name: UnsafeRawBufferPointer) -> RedisCommand? {
        guard name.count <= longestName, let index = table.index[fold(name)] else { return nil }
        let command = table.commands[index]
        guard command.upperName.count == name.count else { return nil }
        for (offset, byte) in name.enumerated() where upper(byte) != command.upperName[offset] {
            return nil
        }
        return command
    }

    @inline(__always)
    private static func upper(_ byte: UInt8) -> UInt8 {
        byte >= 97 && byte <= 122 ? byte - 32 : byte
    }

    /// FNV-1a over the upper-cased name: the table's dictionary key.
    private static func fold(_ name: some Collection<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name {
            hash = (hash ^ UInt64(upper(byte))) &* 0x100_0000_01b3
        }
        return hash
    }

    private static let longestName = 24

    private struct Table: Sendable {
        let commands: [RedisCommand]
        let index: [UInt64: Int]
    }

    private static let table: Table = {
        var commands: [RedisCommand] = []
        func add(_ names: String, _ kind: Kind) {
            for name in names.split(separator: " ") { commands.append(RedisCommand(String(name), kind)) }
        }
        add("persist pttl ttl type dump decr get getdel incr strlen hgetall hkeys hlen hvals llen scard smembers zcard",
            .keyed(extra: .exactly(0)))
        add("expire expireat pexpire pexpireat append decrby getbit getset incrby incrbyfloat setnx hexists hget hstrlen "
            + "lindex rpoplpush sismember zrank zrevrank zscore", .keyed(extra: .exactly(1)))
        add("getrange psetex setbit setex setrange hincrby hincrbyfloat hsetnx lrange lrem lset ltrim smove zcount "
            + "zlexcount zincrby zremrangebylex zremrangebyrank zremrangebyscore", .keyed(extra: .exactly(2)))
        add("linsert lmove", .keyed(extra: .exactly(3)))
        add("sort copy bitcount bitpos bitfield getex set hdel hmget hmset hscan hset hrandfield lpush lpushx "
            + "rpush rpushx lpop rpop lpos sadd sdiff sdiffstore sinter sinterstore srem sunion sunionstore srandmember "
            + "sscan spop smismember pfadd pfmerge pfcount zadd zdiff zdiffstore zinter zinterstore zmscore zpopmax "
            + "zpopmin zrandmember zrange zrangebylex zrangebyscore zrangestore zrem zrevrange zrevrangebylex "
            + "zrevrangebyscore zscan zunion zunionstore geodist geopos geohash geoadd georadius georadiusbymember "
            + "geosearch geosearchstore restore", .keyed(extra: .atLeast(0)))
        add("eval evalsha", .eval)
        add("mget", .splitArray)
        add("del unlink touch exists", .splitSum)
        add("mset", .splitPairs)
        add("command lolwut", .placeholder)
        add("ping", .ping)
        add("quit", .quit)
        add("auth", .auth)
        add("select", .select)
        add("hello", .hello)
        var index: [UInt64: Int] = [:]
        for (position, command) in commands.enumerated() {
            let previous = index.updateValue(position, forKey: fold(command.upperName))
            precondition(previous == nil, "command hash collision: \(command.name)")
            precondition(command.upperName.count <= longestName)
        }
        return Table(commands: commands, index: index)
    }()
}
