import Foundation
import Testing

@testable import GolemFuzz

/// Replays every committed fuzz input (seeds, and inputs that once crashed) through its
/// target: a regression fails here, without libFuzzer. scripts/fuzz.sh does the fuzzing.
@Suite("Fuzz corpus")
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz/corpus")

    @Test("every corpus input passes its target", arguments: FuzzTarget.allCases)
    func replay(target: FuzzTarget) throws {
        let directory = Self.corpus.appendingPathComponent(target.rawValue)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(files.count >= 3, "seed corpus for \(target.rawValue) is missing")
        for file in files {
            let data = try Data(contentsOf: directory.appendingPathComponent(file))
            target.run(Array(data))  // a broken invariant stops the process: the test fails loudly
        }
    }
}
