import Testing

@testable import Golem

/// Unit checks of ketama/modula/random and hash_tag against figures measured on
/// nutcracker 0.5.0 (see shared/reference, section b). The full differential check
/// against a running nutcracker is `PlacementDifferentialTests`.
@Suite("Distribution")
struct DistributionTests {
    @Test("single-precision ketama point counts, as nutcracker computes them")
    func pointCounts() {
        #expect(Continuum.ketamaPointCount(weight: 1, totalWeight: 3, liveCount: 3) == 160)
        #expect(Continuum.ketamaPointCount(weight: 1, totalWeight: 25, liveCount: 25) == 156)
        #expect([1, 2, 3].map { Continuum.ketamaPointCount(weight: $0, totalWeight: 6, liveCount: 3) } == [80, 160, 240])
        #expect(
            [100000, 1].map { Continuum.ketamaPointCount(weight: $0, totalWeight: 100001, liveCount: 2) } == [316, 0])
        let shortCounts = (1...200).filter {
            Continuum.ketamaPointCount(weight: 1, totalWeight: $0, liveCount: $0) == 156
        }
        #expect(
            shortCounts == [
                25, 47, 50, 55, 61, 71, 94, 100, 107, 109, 110, 115, 122, 142, 159, 163, 188, 193, 200,
            ])
    }

    static func members(_ specs: [(String, Int)]) -> [Continuum.Member] {
        specs.map { Continuum.Member(name: $0.0, weight: $0.1) }
    }

    @Test("ketama ring: the worked example's points")
    func workedExample() {
        let ring = Continuum(
            distribution: .ketama,
            members: Self.members([("127.0.0.1:30500", 1), ("127.0.0.1:30501", 1), ("127.0.0.1:30502", 1)]))
        #expect(ring.points.count == 480)
        #expect(ring.points.first == 11_066_251)
        #expect(ring.points.last == 4_293_133_988)
        #expect(ring.servers.first == 1 && ring.servers.last == 1)
        for point: UInt32 in [3_580_696_073, 1_421_378_356, 2_869_538_942, 2_878_996_831] {
            let slot = ring.points.firstIndex(of: point)
            #expect(slot.map { ring.servers[$0] } == 0)
        }
        #expect(ring.server(forHash: 4_275_688_823) == 0)  // "foo" under fnv1a_64
        #expect(ring.server(forHash: UInt32.max) == ring.server(forHash: 0))  // wraps
    }

    /// Vectors V1 and V2 of the reference, measured by running nutcracker.
    @Test(
        "keys land where nutcracker put them (reference vectors V1, V2)",
        arguments: [
            ("foo", 0, 0), ("bar", 0, 0), ("apple", 2, 2), ("user:10", 0, 2), ("user:42", 0, 2),
            ("user:1000", 2, 2), ("session-1eef", 0, 0), ("key:42", 1, 1), ("ключ", 1, 1), ("a", 2, 2),
        ])
    func referenceVectors(key: String, equalWeights: Int, weighted: Int) {
        let names = ["127.0.0.1:30500", "127.0.0.1:30501", "127.0.0.1:30502"]
        let v1 = KeyRouter(
            hash: .fnv1a_64, hashTag: nil,
            continuum: Continuum(distribution: .ketama, members: Self.members(names.map { ($0, 1) })),
            serverCount: 3)
        let v2 = KeyRouter(
            hash: .fnv1a_64, hashTag: nil,
            continuum: Continuum(distribution: .ketama, members: Self.members(zip(names, [1, 2, 3]).map { ($0, $1) })),
            serverCount: 3)
        #expect(v1.server(forKey: Array(key.utf8)) == equalWeights)
        #expect(v2.server(forKey: Array(key.utf8)) == weighted)
    }

    @Test("modula repeats each server weight times, in server order")
    func modula() {
        let table = Continuum(distribution: .modula, members: Self.members([("a", 1), ("b", 2), ("c", 3)]))
        #expect(table.servers == [0, 1, 1, 2, 2, 2])
        #expect((0..<12).map { table.server(forHash: UInt32($0)) } == [0, 1, 1, 2, 2, 2, 0, 1, 1, 2, 2, 2])
    }

    @Test("only live servers are on the continuum; none live gives no server")
    func liveSubset() {
        let members = Self.members([("a", 1), ("b", 1), ("c", 1)])
        let all = Continuum(distribution: .ketama, members: members)
        let twoLive = Continuum(distribution: .ketama, members: members, live: [true, false, true])
        #expect(twoLive.points.count == 320)
        #expect(!twoLive.servers.contains(1))
        // Keys of a live server stay put when another server leaves (consistent hashing).
        for hash in stride(from: UInt32(0), to: UInt32.max - 9_999_999, by: 10_000_000) {
            if let server = all.server(forHash: hash), server != 1 {
                #expect(twoLive.server(forHash: hash) == server)
            }
        }
        let noneLive = Continuum(distribution: .modula, members: members, live: [false, false, false])
        #expect(noneLive.server(forHash: 5) == nil)
        let random = Continuum(distribution: .random, members: members, live: [false, true, false])
        #expect((0..<10).allSatisfy { random.server(forHash: 0, random: UInt32($0)) == 1 })
    }

    @Test(
        "hash_tag selects what nutcracker hashes",
        arguments: [
            ("user:{1}:name", "1"), ("user:{1}:mail", "1"), ("{}x", "{}x"), ("}a{b}", "b"), ("{{x}}", "{x"),
            ("no-tag", "no-tag"), ("open{only", "open{only"), ("{ab}{cd}", "ab"),
        ])
    func hashTag(key: String, hashed: String) {
        let tag = HashTag(Array("{}".utf8))!
        let selected = Array(key.utf8).withUnsafeBytes { Array(tag.select($0)) }
        #expect(selected == Array(hashed.utf8))
    }

    @Test("an empty key and a one-server pool hash to 0")
    func zeroHash() {
        let members = Self.members([("a", 1), ("b", 1)])
        let router = KeyRouter(
            hash: .md5, hashTag: HashTag(Array("{}".utf8)), continuum: Continuum(distribution: .modula, members: members),
            serverCount: 2)
        #expect([UInt8]().withUnsafeBytes { router.keyHash($0) } == 0)
        let single = KeyRouter(
            hash: .md5, hashTag: nil,
            continuum: Continuum(distribution: .ketama, members: Self.members([("only", 1)])), serverCount: 1)
        #expect(Array("apple".utf8).withUnsafeBytes { single.keyHash($0) } == 0)
        #expect(single.server(forKey: Array("apple".utf8)) == 0)
    }
}
