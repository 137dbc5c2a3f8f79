import Foundation
import Testing

@testable import Golem

/// Key placement, checked against the real thing: keys are stored through Debian's
/// `nutcracker`, each real `memcached` is asked which keys it holds, and Golem's router
/// (built from the same YAML by Golem's own config loader) must name the same server
/// for every key: every hash function, ketama and modula, named and unnamed servers,
/// unequal weights, hash_tag, and 25 servers (where single-precision rounding gives each
/// server 156 ketama points instead of 160).
@Suite("Placement matches nutcracker", .serialized)
struct PlacementDifferentialTests {
    /// One shape of pool; each is tried with every hash and every keyed distribution.
    enum Shape: String, CaseIterable, CustomTestStringConvertible {
        case threeUnnamed
        case namedUnequalWeights
        case hashTag
        case twentyFiveServers
        case zeroPointServer

        var testDescription: String { rawValue }

        var serverCount: Int {
            switch self {
            case .threeUnnamed: 3
            case .namedUnequalWeights: 4
            case .hashTag: 5
            case .twentyFiveServers: 25
            case .zeroPointServer: 2
            }
        }

        /// The `servers:` lines for backends on `ports`, in config (not sorted) order.
        func serverLines(ports: [Int]) -> [String] {
            switch self {
            case .threeUnnamed, .hashTag, .twentyFiveServers:
                return ports.map { "127.0.0.1:\($0):1" }
            case .namedUnequalWeights:
                // Deliberately not in nutcracker's (length, bytes) order.
                let names = ["gamma-long", "b", "zz", "alpha"]
                let weights = [1, 2, 3, 1]
                return ports.indices.map { "127.0.0.1:\(ports[$0]):\(weights[$0]) \(names[$0])" }
            case .zeroPointServer:
                // 100000/1: the light server gets 0 ketama points and is never chosen.
                return ["127.0.0.1:\(ports[0]):100000", "127.0.0.1:\(ports[1]):1"]
            }
        }
    }

    /// 560 keys: sequential ones (fnv1a_64's weak spot), hash-tagged ones, random
    /// printable ones, UTF-8 ones, and random ones with bytes >= 0x80.
    static let keys: [[UInt8]] = {
        var random = SeededRandom(seed: 0x6f6c_656d)
        var keys: [[UInt8]] = []
        for i in 0..<100 { keys.append(Array("key:\(i)".utf8)) }
        for i in 0..<60 { keys.append(Array("user:{\(i % 20)}:field\(i)".utf8)) }
        keys += ["{}x", "}a{b}", "{{x}}", "{", "}", "a{b", "{only"].map { Array($0.utf8) }
        for i in 0..<40 { keys.append(Array("ключ:\(i)".utf8)) }
        keys.append(Array(repeating: UInt8(ascii: "k"), count: 250))
        let printable = Array(UInt8(0x21)...UInt8(0x7e))
        let high = Array(UInt8(0x80)...UInt8(0xff))
        while keys.count < 360 {
            let length = Int.random(in: 1...40, using: &random)
            keys.append((0..<length).map { _ in printable.randomElement(using: &random)! })
        }
        while keys.count < 560 {
            let length = Int.random(in: 1...30, using: &random)
            keys.append(
                (0..<length).map { _ in
                    Bool.random(using: &random)
                        ? high.randomElement(using: &random)! : printable.randomElement(using: &random)!
                })
        }
        var seen = Set<[UInt8]>()
        return keys.filter { seen.insert($0).inserted }
    }()

    @Test("every hash x ketama/modula places every key where nutcracker does", arguments: Shape.allCases)
    func placement(shape: Shape) throws {
        let backends = try (0..<shape.serverCount).map { _ in try ServerProcess.memcached() }
        let clients = try backends.map { try TestSocket(port: $0.port) }
        let ports = backends.map(\.port)
        var report: [String] = []
        var checked = 0
        for hash in HashFunction.allCases {
            for distribution in [Distribution.ketama, .modula] {
                for client in clients { try client.flushAll() }
                let mismatches = try compare(
                    shape: shape, hash: hash, distribution: distribution, ports: ports, clients: clients)
                checked += 1
                if !mismatches.isEmpty {
                    report.append("\(hash.rawValue)/\(distribution.rawValue): \(mismatches.count) mismatches, first: \(mismatches[0])")
                }
            }
        }
        #expect(checked == HashFunction.allCases.count * 2)
        #expect(report.isEmpty, "\(report.joined(separator: "\n"))")
    }

    /// Runs one configuration through nutcracker and returns a description of every key
    /// Golem would place elsewhere.
    private func compare(
        shape: Shape, hash: HashFunction, distribution: Distribution, ports: [Int], clients: [TestSocket]
    ) throws -> [String] {
        let directory = NSTemporaryDirectory()
        let configPath = directory + "golem-placement-\(UUID().uuidString).yml"
        defer { try? FileManager.default.removeItem(atPath: configPath) }
        func yaml(listenPort: Int) -> String {
            var text = "pool:\n  listen: 127.0.0.1:\(listenPort)\n  hash: \(hash.rawValue)\n"
            text += "  distribution: \(distribution.rawValue)\n"
            if shape == .hashTag { text += "  hash_tag: \"{}\"\n" }
            text += "  servers:\n"
            for line in shape.serverLines(ports: ports) { text += "   - \(line)\n" }
            return text
        }
        var writtenYAML = ""
        let proxy = try ServerProcess("/usr/sbin/nutcracker") { port in
            writtenYAML = yaml(listenPort: port)
            try? writtenYAML.write(toFile: configPath, atomically: true, encoding: .utf8)
            let statsPort = (try? freePort()) ?? 0
            return ["-c", configPath, "-s", "\(statsPort)", "-a", "127.0.0.1", "-o", "/dev/null"]
        }
        defer { proxy.stop() }

        // Golem's view of the same file.
        let pools = try ConfigLoader.parse(Array(writtenYAML.utf8), file: "placement.yml")
        let pool = try #require(pools.first)
        let router = KeyRouter(pool: pool)

        let keys = Self.keys
        let client = try TestSocket(port: proxy.port)
        try client.setAll(keys.enumerated().map { ($1, Array("\($0)".utf8)) })

        var holder: [[UInt8]: Int] = [:]
        for (index, server) in clients.enumerated() {
            for key in try server.heldKeys(keys) { holder[key] = ports[index] }
        }
        var mismatches: [String] = []
        for key in keys {
            let expected = holder[key]
            let chosen = router.server(forKey: key).map { pool.servers[$0].address }
            var chosenPort: Int? = nil
            if case .tcp(_, let port)? = chosen { chosenPort = port }
            if expected == nil || chosenPort != expected {
                let shown = key.map { $0 < 0x80 && $0 > 0x20 ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }
                mismatches.append("key \(shown.joined()) nutcracker→\(expected.map(String.init) ?? "nowhere") golem→\(chosenPort.map(String.init) ?? "none")")
            }
        }
        return mismatches
    }
}
