import Foundation
import Testing

@testable import Golem

/// A configuration golemproxy must refuse, with the exact reason and position.
struct ConfigBadCase: Sendable, CustomTestStringConvertible {
    /// What the case shows.
    var name: String
    /// The file's text.
    var yaml: String
    /// Expected 1-based line and column of the offending node.
    var line: Int
    var column: Int
    /// Expected message (the part after `file:line:column: `).
    var message: String
    /// When true, only the start of the message is compared (the end comes from the
    /// system resolver and differs between machines).
    var messageIsPrefix = false

    var testDescription: String { name }
}

/// A configuration both golemproxy and nutcracker accept.
struct ConfigGoodCase: Sendable, CustomTestStringConvertible {
    var name: String
    var yaml: String
    /// Pool names expected, in the loader's (sorted) order.
    var pools: [String]

    var testDescription: String { name }
}

/// The pool used by most bad cases, with room for one more line (line 3) before servers.
private func poolYAML(_ line3: String) -> String {
    "a:\n  listen: 127.0.0.1:22121\n\(line3)\n  servers:\n   - 127.0.0.1:11211:1\n"
}

/// A pool whose only server line (line 4, column 6) is `server`.
private func serverYAML(_ server: String) -> String {
    "a:\n  listen: 127.0.0.1:22121\n  servers:\n   - \(server)\n"
}

/// A pool whose listen value (line 2, column 11) is `listen`.
private func listenYAML(_ listen: String) -> String {
    "a:\n  listen: \(listen)\n  servers:\n   - 127.0.0.1:11211:1\n"
}

private let configServerFormatError =
    "directive \"servers\" has an invalid \"hostname:port:weight [name]\" or \"/path/unix_socket:weight [name]\" format string"

/// One case per error class; every one of them is also refused by nutcracker 0.5.0.
let configBadCases: [ConfigBadCase] = [
    // YAML shape.
    ConfigBadCase(
        name: "empty file", yaml: "", line: 1, column: 1,
        message: "must contain only 1 document; found 0 documents"),
    ConfigBadCase(
        name: "only a comment", yaml: "# nothing\n", line: 1, column: 1,
        message: "must contain only 1 document; found 0 documents"),
    ConfigBadCase(
        name: "two documents", yaml: "a: 1\n---\nb: 2\n", line: 2, column: 1,
        message: "must contain only 1 document; found 2 documents"),
    ConfigBadCase(
        name: "YAML syntax error", yaml: "a:\n b: c\n  d: e\n", line: 3, column: 4,
        message: "invalid YAML: mapping values are not allowed in this context"),
    ConfigBadCase(
        name: "document start marker", yaml: "---\n" + poolYAML("  hash: md5"), line: 1, column: 1,
        message: "document start token (5) is disallowed"),
    ConfigBadCase(
        name: "document end marker", yaml: poolYAML("  hash: md5") + "...\n", line: 6, column: 1,
        message: "document end token (6) is disallowed"),
    ConfigBadCase(
        name: "version directive", yaml: "%YAML 1.1\n---\n" + poolYAML("  hash: md5"), line: 1, column: 1,
        message: "version directive token (3) is disallowed"),
    ConfigBadCase(
        name: "flow sequence",
        yaml: "a:\n  listen: 127.0.0.1:22121\n  servers: [127.0.0.1:11211:1]\n", line: 3, column: 12,
        message: "flow sequence start token (10) is disallowed"),
    ConfigBadCase(
        name: "flow mapping", yaml: "a: {listen: 127.0.0.1:22121}\n", line: 1, column: 4,
        message: "flow mapping start token (12) is disallowed"),
    ConfigBadCase(
        name: "anchor", yaml: poolYAML("  hash: &h md5"), line: 3, column: 9,
        message: "anchor token (19) is disallowed"),
    ConfigBadCase(
        name: "alias", yaml: poolYAML("  hash: *h"), line: 3, column: 9,
        message: "alias token (18) is disallowed"),
    ConfigBadCase(
        name: "tag", yaml: poolYAML("  hash: !!str md5"), line: 3, column: 9,
        message: "tag token (20) is disallowed"),
    ConfigBadCase(
        name: "document is a scalar", yaml: "hello\n", line: 1, column: 1,
        message: "has invalid empty \"key:\" at depth 0"),
    ConfigBadCase(
        name: "document is a sequence", yaml: "- a\n", line: 1, column: 1,
        message: "has sequence at depth 0 instead of 2"),
    ConfigBadCase(
        name: "pool is a scalar", yaml: "a: b\n", line: 1, column: 4,
        message: "has invalid mapping \"key:\" at depth 1"),
    ConfigBadCase(
        name: "pool is a sequence", yaml: "a:\n  - x\n", line: 2, column: 3,
        message: "has sequence at depth 1 instead of 2"),
    ConfigBadCase(
        name: "depth 3", yaml: poolYAML("  hash:\n    x: y"), line: 4, column: 5,
        message: "has a depth greater than 2"),
    ConfigBadCase(
        name: "mapping as a pool name", yaml: "? b: c\n: x\n", line: 1, column: 3,
        message: "has more than one \"key:value\" at depth 1"),
    ConfigBadCase(
        name: "sequence as a directive name", yaml: "a:\n  ? - x\n  : y\n", line: 2, column: 5,
        message: "has invalid \"key:value\" at depth 2"),
    ConfigBadCase(
        name: "no servers sequence", yaml: "a:\n  listen: 127.0.0.1:22121\n", line: 1, column: 1,
        message: "missing sequence directive at depth 2 (pool 'a' has no \"servers:\" list)"),
    ConfigBadCase(
        name: "two sequences",
        yaml: poolYAML("  hash: md5") + "  servers:\n   - 127.0.0.1:11212:1\n", line: 7, column: 4,
        message: "has more than one sequence directive"),
    // Empty and NUL scalars (nutcracker refuses them without a reason).
    ConfigBadCase(
        name: "empty value", yaml: poolYAML("  hash:"), line: 3, column: 8,
        message: "directive \"hash\" value is empty"),
    ConfigBadCase(
        name: "empty quoted value", yaml: poolYAML("  hash: ''"), line: 3, column: 9,
        message: "directive \"hash\" value is empty"),
    ConfigBadCase(
        name: "empty server line",
        yaml: "a:\n  listen: 127.0.0.1:22121\n  servers:\n   -\n   - 127.0.0.1:11211:1\n", line: 4, column: 5,
        message: "directive \"servers\" value is empty"),
    ConfigBadCase(
        name: "empty pool name", yaml: "'':\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:11211:1\n",
        line: 1, column: 1, message: "pool name is empty"),
    ConfigBadCase(
        name: "NUL byte", yaml: poolYAML("  hash: \"md\\0\""), line: 3, column: 9,
        message: "directive \"hash\" value contains a NUL byte"),
    // Keys.
    ConfigBadCase(
        name: "unknown key", yaml: poolYAML("  foo: bar"), line: 3, column: 3,
        message: "directive \"foo\" is unknown"),
    ConfigBadCase(
        name: "duplicate key", yaml: poolYAML("  timeout: 1\n  timeout: 2"), line: 4, column: 3,
        message: "directive \"timeout\" is a duplicate"),
    ConfigBadCase(
        name: "duplicate listen key", yaml: poolYAML("  listen: 127.0.0.1:22122"), line: 3, column: 3,
        message: "directive \"listen\" is a duplicate"),
    ConfigBadCase(
        name: "duplicate through a sequence",
        yaml: "a:\n  listen: 127.0.0.1:22121\n  hash:\n   - md5\n   - crc32\n  servers: 127.0.0.1:11211:1\n",
        line: 3, column: 3, message: "directive \"hash\" is a duplicate"),
    // Values.
    ConfigBadCase(
        name: "hash", yaml: poolYAML("  hash: fnv1a_65"), line: 3, column: 9,
        message: "directive \"hash\" is not a valid hash (\"fnv1a_65\")"),
    ConfigBadCase(
        name: "hash is case sensitive", yaml: poolYAML("  hash: MD5"), line: 3, column: 9,
        message: "directive \"hash\" is not a valid hash (\"MD5\")"),
    ConfigBadCase(
        name: "distribution", yaml: poolYAML("  distribution: consistent"), line: 3, column: 17,
        message: "directive \"distribution\" is not a valid distribution (\"consistent\")"),
    ConfigBadCase(
        name: "hash_tag of 3 bytes", yaml: poolYAML("  hash_tag: \"{}}\""), line: 3, column: 13,
        message: "directive \"hash_tag\" is not a valid hash tag string with two characters (\"{}}\")"),
    ConfigBadCase(
        name: "hash_tag of 1 byte", yaml: poolYAML("  hash_tag: x"), line: 3, column: 13,
        message: "directive \"hash_tag\" is not a valid hash tag string with two characters (\"x\")"),
    ConfigBadCase(
        name: "negative number", yaml: poolYAML("  timeout: -1"), line: 3, column: 12,
        message: "directive \"timeout\" is not a number (\"-1\")"),
    ConfigBadCase(
        name: "number with a sign", yaml: poolYAML("  backlog: +5"), line: 3, column: 12,
        message: "directive \"backlog\" is not a number (\"+5\")"),
    ConfigBadCase(
        name: "number with a unit", yaml: poolYAML("  server_retry_timeout: 30s"), line: 3, column: 25,
        message: "directive \"server_retry_timeout\" is not a number (\"30s\")"),
    ConfigBadCase(
        name: "number above INT_MAX", yaml: poolYAML("  redis_db: 2147483648"), line: 3, column: 13,
        message: "directive \"redis_db\" is not a number (\"2147483648\")"),
    ConfigBadCase(
        name: "boolean yes", yaml: poolYAML("  preconnect: yes"), line: 3, column: 15,
        message: "directive \"preconnect\" is not \"true\" or \"false\" (\"yes\")"),
    ConfigBadCase(
        name: "boolean True", yaml: poolYAML("  redis: True"), line: 3, column: 10,
        message: "directive \"redis\" is not \"true\" or \"false\" (\"True\")"),
    ConfigBadCase(
        name: "boolean 1", yaml: poolYAML("  auto_eject_hosts: 1"), line: 3, column: 21,
        message: "directive \"auto_eject_hosts\" is not \"true\" or \"false\" (\"1\")"),
    ConfigBadCase(
        name: "boolean tcpkeepalive", yaml: poolYAML("  tcpkeepalive: on"), line: 3, column: 17,
        message: "directive \"tcpkeepalive\" is not \"true\" or \"false\" (\"on\")"),
    // listen.
    ConfigBadCase(
        name: "listen without port", yaml: listenYAML("127.0.0.1"), line: 2, column: 11,
        message: "directive \"listen\" has an invalid \"hostname:port\" format string (\"127.0.0.1\")"),
    ConfigBadCase(
        name: "listen port 0", yaml: listenYAML("127.0.0.1:0"), line: 2, column: 11,
        message: "directive \"listen\" has an invalid port in \"hostname:port\" format string (\"127.0.0.1:0\")"),
    ConfigBadCase(
        name: "listen port 65536", yaml: listenYAML("127.0.0.1:65536"), line: 2, column: 11,
        message: "directive \"listen\" has an invalid port in \"hostname:port\" format string (\"127.0.0.1:65536\")"),
    ConfigBadCase(
        name: "listen port empty", yaml: listenYAML("'127.0.0.1:'"), line: 2, column: 11,
        message: "directive \"listen\" has an invalid port in \"hostname:port\" format string (\"127.0.0.1:\")"),
    ConfigBadCase(
        name: "listen host unresolvable", yaml: listenYAML("nosuchhost.invalid:1234"), line: 2, column: 11,
        message:
            "directive \"listen\" has an invalid value (\"nosuchhost.invalid:1234\"): address resolution of node 'nosuchhost.invalid' service '1234' failed: ",
        messageIsPrefix: true),
    ConfigBadCase(
        name: "listen without host", yaml: listenYAML(":22121"), line: 2, column: 11,
        message:
            "directive \"listen\" has an invalid value (\":22121\"): address resolution of node '' service '22121' failed: ",
        messageIsPrefix: true),
    ConfigBadCase(
        name: "unclosed quote", yaml: poolYAML("  hash: \"md5"), line: 6, column: 1,
        message:
            "invalid YAML: found unexpected end of stream (while scanning a quoted scalar at line 3 column 9)"),
    ConfigBadCase(
        name: "listen IPv6 in brackets", yaml: listenYAML("'[::1]:22121'"), line: 2, column: 11,
        message:
            "directive \"listen\" has an invalid value (\"[::1]:22121\"): address resolution of node '[::1]' service '22121' failed: ",
        messageIsPrefix: true),
    ConfigBadCase(
        name: "listen unix permission above 0777", yaml: listenYAML("/tmp/golem.sock 1777"), line: 2, column: 11,
        message:
            "directive \"listen\" has an invalid file permission in \"socket_path permission\" format string (\"/tmp/golem.sock 1777\")"
    ),
    ConfigBadCase(
        name: "listen unix negative permission", yaml: listenYAML("/tmp/golem.sock -1"), line: 2, column: 11,
        message:
            "directive \"listen\" has an invalid file permission in \"socket_path permission\" format string (\"/tmp/golem.sock -1\")"
    ),
    ConfigBadCase(
        name: "listen unix permission overflowing strtol", yaml: listenYAML("/tmp/golem.sock 777777777777777777777777"),
        line: 2, column: 11,
        message:
            "directive \"listen\" has an invalid file permission in \"socket_path permission\" format string (\"/tmp/golem.sock 777777777777777777777777\")"
    ),
    ConfigBadCase(
        name: "listen unix path too long", yaml: listenYAML("/tmp/" + String(repeating: "s", count: 103)),
        line: 2, column: 11,
        message:
            "directive \"listen\" has an invalid value (\"/tmp/\(String(repeating: "s", count: 103))\"): the socket path is longer than 107 bytes"
    ),
    // Server lines.
    ConfigBadCase(
        name: "server without weight", yaml: serverYAML("127.0.0.1:11211"), line: 4, column: 6,
        message: configServerFormatError + " (\"127.0.0.1:11211\")"),
    ConfigBadCase(
        name: "server without colon", yaml: serverYAML("localhost"), line: 4, column: 6,
        message: configServerFormatError + " (\"localhost\")"),
    ConfigBadCase(
        name: "unix server without weight", yaml: serverYAML("/tmp/mc.sock"), line: 4, column: 6,
        message: configServerFormatError + " (\"/tmp/mc.sock\")"),
    ConfigBadCase(
        name: "unix server with a port", yaml: serverYAML("/tmp/mc.sock:11211:1"), line: 4, column: 6,
        message: configServerFormatError + " (\"/tmp/mc.sock:11211:1\")"),
    ConfigBadCase(
        name: "server weight 0", yaml: serverYAML("127.0.0.1:11211:0"), line: 4, column: 6,
        message:
            "directive \"servers\" has a zero weight in \"hostname:port:weight [name]\" format string (\"127.0.0.1:11211:0\")"
    ),
    ConfigBadCase(
        name: "server weight not a number", yaml: serverYAML("127.0.0.1:11211:x"), line: 4, column: 6,
        message:
            "directive \"servers\" has an invalid weight in \"hostname:port:weight [name]\" format string (\"127.0.0.1:11211:x\")"
    ),
    ConfigBadCase(
        name: "server name with a space", yaml: serverYAML("127.0.0.1:11211:1 my name"), line: 4, column: 6,
        message:
            "directive \"servers\" has an invalid weight in \"hostname:port:weight [name]\" format string (\"127.0.0.1:11211:1 my name\")"
    ),
    ConfigBadCase(
        name: "server weight checked before port", yaml: serverYAML("127.0.0.1:0:0"), line: 4, column: 6,
        message:
            "directive \"servers\" has a zero weight in \"hostname:port:weight [name]\" format string (\"127.0.0.1:0:0\")"
    ),
    ConfigBadCase(
        name: "server port 0", yaml: serverYAML("127.0.0.1:0:1"), line: 4, column: 6,
        message:
            "directive \"servers\" has an invalid port in \"hostname:port:weight [name]\" format string (\"127.0.0.1:0:1\")"
    ),
    ConfigBadCase(
        name: "server port 65536", yaml: serverYAML("127.0.0.1:65536:1"), line: 4, column: 6,
        message:
            "directive \"servers\" has an invalid port in \"hostname:port:weight [name]\" format string (\"127.0.0.1:65536:1\")"
    ),
    ConfigBadCase(
        name: "duplicate server, weights differ",
        yaml:
            "a:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:11212:1\n   - 127.0.0.1:11213:1\n   - 127.0.0.1:11212:2\n",
        line: 6, column: 6, message: "pool 'a' has servers with same name '127.0.0.1:11212'"),
    ConfigBadCase(
        name: "duplicate server on port 11211",
        yaml: "a:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:11211:1\n   - 127.0.0.1:11211:1\n",
        line: 5, column: 6, message: "pool 'a' has servers with same name '127.0.0.1'"),
    ConfigBadCase(
        name: "duplicate server name",
        yaml: "a:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:11212:1 x\n   - 127.0.0.1:11213:1 x\n",
        line: 5, column: 6, message: "pool 'a' has servers with same name 'x'"),
    // Pool checks.
    ConfigBadCase(
        name: "listen missing", yaml: "a:\n  hash: md5\n  servers:\n   - 127.0.0.1:11211:1\n", line: 1, column: 1,
        message: "directive \"listen:\" is missing in pool 'a'"),
    ConfigBadCase(
        name: "server_connections 0", yaml: poolYAML("  server_connections: 0"), line: 3, column: 23,
        message: "directive \"server_connections:\" cannot be 0"),
    ConfigBadCase(
        name: "redis_auth without redis", yaml: poolYAML("  redis_auth: secret"), line: 3, column: 3,
        message: "directive \"redis_auth:\" is only valid for a redis pool"),
    ConfigBadCase(
        name: "redis_auth with redis false", yaml: poolYAML("  redis: false\n  redis_auth: secret"), line: 4, column: 3,
        message: "directive \"redis_auth:\" is only valid for a redis pool"),
    ConfigBadCase(
        name: "no servers",
        yaml: "a:\n  listen: 127.0.0.1:22121\n  hash:\n   - md5\n", line: 1, column: 1,
        message: "pool 'a' has no servers"),
    ConfigBadCase(
        name: "directive errors come before pool errors",
        yaml:
            "a:\n  servers:\n   - 127.0.0.1:11211:1\nb:\n  listen: 127.0.0.1:22122\n  hash: nope\n  servers:\n   - 127.0.0.1:11211:1\n",
        line: 6, column: 9, message: "directive \"hash\" is not a valid hash (\"nope\")"),
    // Pools together.
    ConfigBadCase(
        name: "duplicate listen",
        yaml:
            "a:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:11211:1\nb:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:11211:1\n",
        line: 6, column: 11, message: "pools 'a' and 'b' have the same listen address '127.0.0.1:22121'"),
    ConfigBadCase(
        name: "duplicate pool name",
        yaml:
            "a:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:11211:1\na:\n  listen: 127.0.0.1:22122\n  servers:\n   - 127.0.0.1:11211:1\n",
        line: 5, column: 1, message: "has pools with same name 'a'"),
    ConfigBadCase(
        name: "duplicate listen is reported before duplicate name",
        yaml:
            "a:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:11211:1\na:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:11211:1\n",
        line: 6, column: 11, message: "pools 'a' and 'a' have the same listen address '127.0.0.1:22121'"),
]

/// Configurations both golemproxy and nutcracker 0.5.0 accept.
let configGoodCases: [ConfigGoodCase] = [
    ConfigGoodCase(name: "minimal", yaml: poolYAML("  hash: fnv1a_64"), pools: ["a"]),
    ConfigGoodCase(name: "every key", yaml: configEveryKey, pools: ["full"]),
    ConfigGoodCase(name: "server naming", yaml: configNaming, pools: ["names"]),
    ConfigGoodCase(name: "sorting", yaml: configSorting, pools: ["a", "bb", "zeta", "alpha"]),
    ConfigGoodCase(
        name: "quoted values and comments",
        yaml:
            "# pools\n\"a\": # the pool\n  'listen': \"127.0.0.1:22121\"\n  redis: 'true'\n  servers:\n   - \"127.0.0.1:6379:1\"\n",
        pools: ["a"]),
    ConfigGoodCase(
        name: "servers as a scalar when another key holds the sequence",
        yaml: "a:\n  listen:\n   - 127.0.0.1:22121\n  servers: 127.0.0.1:11211:1\n", pools: ["a"]),
    ConfigGoodCase(name: "unix listen with permissions", yaml: listenYAML("/tmp/golem-test.sock 0660"), pools: ["a"]),
    ConfigGoodCase(
        name: "unix listen with unreadable permissions", yaml: listenYAML("/tmp/golem-test.sock rw"), pools: ["a"]),
    ConfigGoodCase(
        name: "unix listen, strtol reads a prefix", yaml: listenYAML("/tmp/golem-test.sock 64x"), pools: ["a"]),
    ConfigGoodCase(name: "unix listen path with a space", yaml: listenYAML("/tmp/golem test.sock 0600"), pools: ["a"]),
    ConfigGoodCase(name: "IPv6 listen", yaml: listenYAML("::1:22121"), pools: ["a"]),
    ConfigGoodCase(name: "localhost listen and port 65535", yaml: listenYAML("localhost:65535"), pools: ["a"]),
    ConfigGoodCase(
        name: "servers list not indented",
        yaml: "a:\n  listen: 127.0.0.1:22121\n  servers:\n  - 127.0.0.1:11211:1\n  - 127.0.0.1:11212:1\n  hash: md5\n",
        pools: ["a"]),
    ConfigGoodCase(
        name: "unix servers", yaml: serverYAML("/tmp/mc.sock:1") + "   - /tmp/mc2.sock:2 second\n", pools: ["a"]),
    ConfigGoodCase(name: "two-byte UTF-8 hash_tag", yaml: poolYAML("  hash_tag: \"é\""), pools: ["a"]),
    ConfigGoodCase(
        name: "same listen host, written differently",
        yaml:
            "a:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:11211:1\nb:\n  listen: localhost:22121\n  servers:\n   - 127.0.0.1:11211:1\n",
        pools: ["a", "b"]),
]

private let configEveryKey = """
    full:
      listen: 127.0.0.1:22121
      hash: murmur
      hash_tag: "{}"
      distribution: modula
      timeout: 400
      backlog: 1024
      client_connections: 100
      redis: true
      redis_auth: s3cret
      redis_db: 3
      preconnect: true
      auto_eject_hosts: true
      server_connections: 4
      server_retry_timeout: 2000
      server_failure_limit: 5
      tcpkeepalive: true
      servers:
       - 127.0.0.1:6379:1
       - 127.0.0.1:6380:3 second

    """

private let configNaming = """
    names:
      listen: 127.0.0.1:22121
      servers:
       - 127.0.0.1:30500:1
       - 127.0.0.1:11211:2
       - 10.0.0.1:11211:1 custom
       - /run/mc.sock:3
       - /run/other.sock:1 sock
       - ::1:30501:1
       - 10.0.0.2:011211:1

    """

private let configSorting = """
    zeta:
      listen: 127.0.0.1:22124
      servers:
       - 127.0.0.1:30504:1
       - 127.0.0.1:30500:1
       - 127.0.0.1:30502:1 bb
       - 127.0.0.1:30503:1 a
    alpha:
      listen: 127.0.0.1:22123
      servers:
       - 127.0.0.1:30500:1
    bb:
      listen: 127.0.0.1:22122
      servers:
       - 127.0.0.1:30500:1
    a:
      listen: 127.0.0.1:22121
      servers:
       - 127.0.0.1:30500:1

    """

@Suite("Config")
struct ConfigTests {
    /// Parses `yaml` as `nutcracker.yml`.
    private func parse(_ yaml: String) throws(ConfigError) -> [PoolConfig] {
        try ConfigLoader.parse(Array(yaml.utf8), file: "nutcracker.yml")
    }

    @Test("refuses with the right message and position", arguments: configBadCases)
    func refuses(_ bad: ConfigBadCase) {
        do {
            let pools = try parse(bad.yaml)
            Issue.record("accepted: \(pools.map(\.name))")
        } catch {
            #expect(error.file == "nutcracker.yml")
            if bad.messageIsPrefix {
                #expect(error.message.hasPrefix(bad.message), "\(error)")
            } else {
                #expect(error.message == bad.message)
            }
            #expect(
                SourceLocation(line: error.line, column: error.column)
                    == SourceLocation(line: bad.line, column: bad.column))
            #expect(error.description.hasPrefix("nutcracker.yml:\(bad.line):\(bad.column): "))
        }
    }

    @Test("nutcracker 0.5.0 refuses it too", arguments: configBadCases)
    func nutcrackerRefuses(_ bad: ConfigBadCase) throws {
        #expect(try NutcrackerConfigCheck.testConfig(bad.yaml) == 1)
    }

    @Test("accepts", arguments: configGoodCases)
    func accepts(_ good: ConfigGoodCase) throws {
        let pools = try parse(good.yaml)
        #expect(pools.map(\.name) == good.pools)
    }

    @Test("nutcracker 0.5.0 accepts it too", arguments: configGoodCases)
    func nutcrackerAccepts(_ good: ConfigGoodCase) throws {
        #expect(try NutcrackerConfigCheck.testConfig(good.yaml) == 0)
    }

    @Test func defaults() throws {
        let pools = try parse(poolYAML("  hash: fnv1a_64"))
        let expected = PoolConfig(
            name: "a", location: SourceLocation(line: 1, column: 1),
            listen: .tcp(host: "127.0.0.1", port: 22121), listenSpec: "127.0.0.1:22121",
            hash: .fnv1a_64, hashTag: nil, distribution: .ketama, timeout: -1, backlog: 512,
            clientConnections: 0, redis: false, redisAuth: nil, redisDB: 0, preconnect: false,
            autoEjectHosts: false, serverConnections: 1, serverRetryTimeout: 30000,
            serverFailureLimit: 2, tcpKeepalive: false, reuseport: false,
            servers: [
                ServerConfig(
                    name: "127.0.0.1", address: .tcp(host: "127.0.0.1", port: 11211), weight: 1,
                    spec: "127.0.0.1:11211:1", location: SourceLocation(line: 5, column: 6))
            ])
        #expect(pools == [expected])
        // Without the hash line, the default hash is the same.
        let bare = try parse("p:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:11211:1\n")
        #expect(bare.first?.hash == .fnv1a_64)
        #expect(bare.first?.distribution == .ketama)
    }

    @Test func everyKeyIsRead() throws {
        let pools = try parse(configEveryKey)
        #expect(pools.count == 1)
        let pool = try #require(pools.first)
        #expect(pool.name == "full")
        #expect(pool.listen == .tcp(host: "127.0.0.1", port: 22121))
        #expect(pool.listenSpec == "127.0.0.1:22121")
        #expect(pool.hash == .murmur)
        #expect(pool.hashTag == Array("{}".utf8))
        #expect(pool.distribution == .modula)
        #expect(pool.timeout == 400)
        #expect(pool.backlog == 1024)
        #expect(pool.clientConnections == 100)
        #expect(pool.redis)
        #expect(pool.redisAuth == "s3cret")
        #expect(pool.redisDB == 3)
        #expect(pool.preconnect)
        #expect(pool.autoEjectHosts)
        #expect(pool.serverConnections == 4)
        #expect(pool.serverRetryTimeout == 2000)
        #expect(pool.serverFailureLimit == 5)
        #expect(pool.tcpKeepalive)
        #expect(!pool.reuseport)
        #expect(pool.servers.map(\.name) == ["second", "127.0.0.1:6379"])
        #expect(pool.servers.map(\.weight) == [3, 1])
        #expect(
            pool.servers.map(\.address) == [.tcp(host: "127.0.0.1", port: 6380), .tcp(host: "127.0.0.1", port: 6379)])
        #expect(pool.servers.map(\.spec) == ["127.0.0.1:6380:3 second", "127.0.0.1:6379:1"])
        #expect(
            pool.servers.map(\.location) == [SourceLocation(line: 20, column: 6), SourceLocation(line: 19, column: 6)])
    }

    @Test func everyHashAndDistributionName() throws {
        for function in HashFunction.allCases {
            let pools = try parse(poolYAML("  hash: \(function.rawValue)"))
            #expect(pools.first?.hash == function)
        }
        for distribution in Distribution.allCases {
            let pools = try parse(poolYAML("  distribution: \(distribution.rawValue)"))
            #expect(pools.first?.distribution == distribution)
        }
    }

    /// `reuseport` comes from twemproxy's master branch: golemproxy accepts it, nutcracker
    /// 0.5.0 does not (`directive "reuseport" is unknown`), so it is not in `configGoodCases`.
    @Test func reuseportIsAccepted() throws {
        #expect(try parse(poolYAML("  reuseport: true")).first?.reuseport == true)
        #expect(try parse(poolYAML("  reuseport: false")).first?.reuseport == false)
        #expect(
            throws: ConfigError(
                file: "nutcracker.yml", line: 3, column: 14,
                message: "directive \"reuseport\" is not \"true\" or \"false\" (\"1\")")
        ) {
            try parse(poolYAML("  reuseport: 1"))
        }
    }

    /// nutcracker's `int` wraps: it reads `timeout: 4294967297` as 1. golemproxy refuses
    /// numbers above `Int32.max` instead, so this case is not checked against nutcracker.
    @Test func numbersThatWouldWrapAreRefused() {
        #expect(
            throws: ConfigError(
                file: "nutcracker.yml", line: 3, column: 12,
                message: "directive \"timeout\" is not a number (\"4294967297\")")
        ) {
            try parse(poolYAML("  timeout: 4294967297"))
        }
        #expect(
            throws: ConfigError(
                file: "nutcracker.yml", line: 4, column: 6,
                message:
                    "directive \"servers\" has an invalid weight in \"hostname:port:weight [name]\" format string (\"127.0.0.1:11211:4294967297\")"
            )
        ) {
            try parse(serverYAML("127.0.0.1:11211:4294967297"))
        }
        #expect((try? parse(poolYAML("  timeout: 2147483647")))?.first?.timeout == 2_147_483_647)
    }

    @Test func serverNaming() throws {
        let pool = try #require(try parse(configNaming).first)
        let byName = Dictionary(uniqueKeysWithValues: pool.servers.map { ($0.name, $0) })
        // host:port when no name is given.
        #expect(byName["127.0.0.1:30500"]?.address == .tcp(host: "127.0.0.1", port: 30500))
        // host alone on port 11211 (libmemcached compatibility).
        #expect(byName["127.0.0.1"]?.address == .tcp(host: "127.0.0.1", port: 11211))
        #expect(byName["127.0.0.1"]?.weight == 2)
        // An explicit name wins, and the weight is kept.
        #expect(byName["custom"]?.address == .tcp(host: "10.0.0.1", port: 11211))
        #expect(byName["custom"]?.spec == "10.0.0.1:11211:1 custom")
        // A nameless unix socket is "path:", with the trailing colon.
        #expect(byName["/run/mc.sock:"]?.address == .unix(path: "/run/mc.sock"))
        #expect(byName["/run/mc.sock:"]?.weight == 3)
        #expect(byName["sock"]?.address == .unix(path: "/run/other.sock"))
        // IPv6: split at the last colons.
        #expect(byName["::1:30501"]?.address == .tcp(host: "::1", port: 30501))
        // The port is compared as a number for the 11211 rule.
        #expect(byName["10.0.0.2"]?.address == .tcp(host: "10.0.0.2", port: 11211))
        #expect(pool.servers.count == 7)
    }

    @Test func sorting() throws {
        let pools = try parse(configSorting)
        // Pools by name: length first, then bytes.
        #expect(pools.map(\.name) == ["a", "bb", "zeta", "alpha"])
        let zeta = try #require(pools.first { $0.name == "zeta" })
        #expect(zeta.servers.map(\.name) == ["a", "bb", "127.0.0.1:30500", "127.0.0.1:30504"])
        #expect(zeta.servers.map(\.location.line) == [7, 6, 5, 4])
        #expect(NameOrder.precedes(Array("zz".utf8), Array("aaa".utf8)))
        #expect(NameOrder.precedes(Array("a".utf8), Array("\u{e9}".utf8)))
    }

    @Test func severalPools() throws {
        let yaml = """
            memcache:
              listen: 127.0.0.1:22121
              hash: md5
              servers:
               - 127.0.0.1:11211:1
            redis:
              listen: /tmp/golem-redis.sock 0666
              redis: true
              redis_db: 2
              servers:
               - /tmp/redis.sock:1 r1

            """
        let pools = try parse(yaml)
        #expect(pools.map(\.name) == ["redis", "memcache"])
        #expect(pools[0].listen == .unix(path: "/tmp/golem-redis.sock", permissions: 0o666))
        #expect(pools[0].listenSpec == "/tmp/golem-redis.sock 0666")
        #expect(pools[0].redis && pools[0].redisDB == 2)
        #expect(
            pools[0].servers == [
                ServerConfig(
                    name: "r1", address: .unix(path: "/tmp/redis.sock"), weight: 1,
                    spec: "/tmp/redis.sock:1 r1", location: SourceLocation(line: 11, column: 6))
            ])
        #expect(pools[0].location == SourceLocation(line: 6, column: 1))
        #expect(pools[1].hash == .md5 && !pools[1].redis)
        #expect(pools[1].location == SourceLocation(line: 1, column: 1))
    }

    @Test func unixListenPermissions() throws {
        func permissions(_ spec: String) throws -> ListenAddress? { try parse(listenYAML(spec)).first?.listen }
        #expect(try permissions("/tmp/s.sock") == .unix(path: "/tmp/s.sock", permissions: nil))
        #expect(try permissions("/tmp/s.sock 0777") == .unix(path: "/tmp/s.sock", permissions: 0o777))
        #expect(try permissions("/tmp/s.sock 600") == .unix(path: "/tmp/s.sock", permissions: 0o600))
        // strtol(…, 8) semantics: junk and non-octal digits read as 0, meaning "no chmod".
        #expect(try permissions("/tmp/s.sock rw") == .unix(path: "/tmp/s.sock", permissions: nil))
        #expect(try permissions("/tmp/s.sock 999") == .unix(path: "/tmp/s.sock", permissions: nil))
        #expect(try permissions("/tmp/s.sock 64x") == .unix(path: "/tmp/s.sock", permissions: 0o64))
        // The path is everything before the last space.
        #expect(try permissions("/tmp/my sock 0600") == .unix(path: "/tmp/my sock", permissions: 0o600))
    }

    @Test func listenAddresses() throws {
        #expect(try parse(listenYAML("0.0.0.0:22121")).first?.listen == .tcp(host: "0.0.0.0", port: 22121))
        #expect(try parse(listenYAML("::1:22121")).first?.listen == .tcp(host: "::1", port: 22121))
        #expect(try parse(listenYAML("localhost:022121")).first?.listen == .tcp(host: "localhost", port: 22121))
    }

    @Test func loadReadsAFile() throws {
        let path = NSTemporaryDirectory() + "golem-config-\(UUID().uuidString).yml"
        try Data(poolYAML("  hash: md5").utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let pools = try ConfigLoader.load(path: path)
        #expect(pools.first?.hash == .md5)

        try Data(poolYAML("  hash: md6").utf8).write(to: URL(fileURLWithPath: path))
        #expect(
            throws: ConfigError(
                file: path, line: 3, column: 9,
                message: "directive \"hash\" is not a valid hash (\"md6\")")
        ) {
            try ConfigLoader.load(path: path)
        }
    }

    /// Truncated and damaged files give an answer, never a crash: every prefix of a file
    /// using every directive, and the file with each byte replaced by YAML punctuation, a
    /// NUL and an invalid UTF-8 byte. (Unix listen sockets only: no name resolution.)
    @Test func survivesTruncationAndDamage() {
        let text = Array(configEveryKey.replacingOccurrences(of: "127.0.0.1:22121", with: "/tmp/golem.sock 0600").utf8)
        var accepted = 0
        for end in 0...text.count {
            if (try? ConfigLoader.parse(Array(text[..<end]), file: "t.yml")) != nil { accepted += 1 }
        }
        let damage: [UInt8] = Array(":- \"'[{&*!#%\n\t0".utf8) + [0, 0xff]
        for index in text.indices {
            for byte in damage {
                var copy = text
                copy[index] = byte
                if (try? ConfigLoader.parse(copy, file: "t.yml")) != nil { accepted += 1 }
            }
        }
        #expect(accepted > 0)
    }

    @Test func unreadableFiles() {
        let missing = "/nonexistent/golem/nutcracker.yml"
        #expect(
            throws: ConfigError(file: missing, line: 0, column: 0, message: "cannot open: No such file or directory")
        ) {
            try ConfigLoader.load(path: missing)
        }
        #expect(throws: ConfigError(file: "/", line: 0, column: 0, message: "cannot read: Is a directory")) {
            try ConfigLoader.load(path: "/")
        }
        #expect(ConfigError(file: "f.yml", line: 7, column: 9, message: "m").description == "f.yml:7:9: m")
    }
}

/// Runs Debian's nutcracker 0.5.0 on a configuration, for the compatibility checks.
enum NutcrackerConfigCheck {
    static let path = "/usr/sbin/nutcracker"

    /// Writes `yaml` to a temporary file and returns the exit status of
    /// `nutcracker -t -c file` (0: accepted, 1: refused). `-t` only parses and validates.
    static func testConfig(_ yaml: String) throws -> Int32 {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw NutcrackerMissing()
        }
        let file = NSTemporaryDirectory() + "golem-nutcracker-\(UUID().uuidString).yml"
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-t", "-c", file]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// nutcracker is not installed (`.ci/run` installs it with apt).
    struct NutcrackerMissing: Error, CustomStringConvertible {
        var description: String { "\(NutcrackerConfigCheck.path) is not installed (apt-get install nutcracker)" }
    }
}
