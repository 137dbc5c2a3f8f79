/// The YAML of a configuration file, checked for the shape nutcracker accepts and reduced
/// to pools of `key: value` entries, each node with its location.
///
/// nutcracker 0.5.0 checks a file in three passes before it looks at any directive, and
/// this type does the same, in the same order, so the same file fails for the same reason:
/// 1. exactly one YAML document (any YAML syntax error is reported here);
/// 2. no token outside plain block style: no `---`/`...`, `%` directives, flow
///    collections, anchors, aliases or tags;
/// 3. the structure: a mapping of pool names to mappings of `key: value`, with exactly one
///    block sequence of scalars per pool, and nothing deeper.
///
/// The structure rules are nutcracker's, quirks included: any one key of a pool may hold
/// the pool's sequence (`hash:` as a one-element list is accepted), and `servers:` may be a
/// plain scalar if another key holds the sequence. `PoolBuilder` applies a sequence's
/// elements one by one, as nutcracker does.
struct ConfigTree: Sendable, Equatable {
    /// A scalar node: its bytes (UTF-8, as libyaml guarantees) and where it starts.
    struct Scalar: Sendable, Equatable {
        /// The scalar's value after YAML unquoting and folding.
        var bytes: [UInt8]
        /// Where the node starts (the opening quote, for a quoted scalar).
        var location: SourceLocation

        /// The value as a Swift string.
        var string: String { String(decoding: bytes, as: UTF8.self) }

        /// The value in double quotes for messages, with `"`, `\` and control bytes escaped.
        var quoted: String {
            var out = "\""
            for scalar in string.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                case "\r": out += "\\r"
                default:
                    if scalar.value < 0x20 || scalar.value == 0x7f {
                        out += "\\x" + String(scalar.value, radix: 16)
                    } else {
                        out.unicodeScalars.append(scalar)
                    }
                }
            }
            return out + "\""
        }
    }

    /// One `key: value` (or `key:` followed by a block sequence) of a pool.
    struct Entry: Sendable, Equatable {
        /// The directive name.
        var key: Scalar
        /// The value, or the sequence's elements in order.
        var values: [Scalar]
        /// Whether the value was written as a block sequence.
        var isSequence: Bool
    }

    /// One pool: its name and its entries in file order.
    struct Pool: Sendable, Equatable {
        /// The pool name (the top-level key).
        var name: Scalar
        /// The pool's directives in file order.
        var entries: [Entry]
    }

    /// The pools in file order.
    var pools: [Pool]

    /// The deepest level nutcracker allows: pool names at 1, directives at 2.
    private static let maxDepth = 2

    /// Runs nutcracker's three checks on `text` and returns its pools.
    static func read(_ text: [UInt8]) throws(ConfigIssue) -> ConfigTree {
        try checkDocumentCount(text)
        try checkTokens(text)
        return try readStructure(text)
    }

    /// Pass 1: the stream must hold exactly one document. A YAML syntax error anywhere in
    /// the file fails here, as it does in nutcracker (which loads every document first).
    private static func checkDocumentCount(_ text: [UInt8]) throws(ConfigIssue) {
        let parser = try YAMLEventParser(text)
        var count = 0
        var secondDocument: SourceLocation?
        while true {
            let event = try parser.nextEvent()
            if event.kind == .documentStart {
                count += 1
                if count == 2 { secondDocument = event.location }
            }
            if event.kind == .streamEnd { break }
        }
        if count != 1 {
            throw ConfigIssue(
                secondDocument ?? SourceLocation(line: 1, column: 1),
                "must contain only 1 document; found \(count) documents")
        }
    }

    /// Pass 2: every token must belong to plain block style.
    private static func checkTokens(_ text: [UInt8]) throws(ConfigIssue) {
        let parser = try YAMLEventParser(text)
        while true {
            let token = try parser.nextToken()
            let what: String
            switch token.kind {
            case .streamEnd?:
                return
            case .streamStart?, .blockSequenceStart?, .blockMappingStart?, .blockEnd?,
                .blockEntry?, .key?, .value?, .scalar?:
                continue
            case .none?: what = "no token"
            case .versionDirective?: what = "version directive token"
            case .tagDirective?: what = "tag directive token"
            case .documentStart?: what = "document start token"
            case .documentEnd?: what = "document end token"
            case .flowSequenceStart?: what = "flow sequence start token"
            case .flowSequenceEnd?: what = "flow sequence end token"
            case .flowMappingStart?: what = "flow mapping start token"
            case .flowMappingEnd?: what = "flow mapping end token"
            case .flowEntry?: what = "flow entry token"
            case .alias?: what = "alias token"
            case .anchor?: what = "anchor token"
            case .tag?: what = "tag token"
            case nil: what = "unknown token"
            }
            throw ConfigIssue(token.location, "\(what) (\(token.code)) is disallowed")
        }
    }

    /// Pass 3: nutcracker's structure rules, applied event by event, while collecting the
    /// pools. `count[d]` counts the scalars seen at depth `d` since it was last reset, as
    /// nutcracker's validator does: 1 means "a key was just read".
    private static func readStructure(_ text: [UInt8]) throws(ConfigIssue) -> ConfigTree {
        let parser = try YAMLEventParser(text)
        var depth = 0
        var count = [Int](repeating: 0, count: maxDepth + 1)
        var poolHasSequence = false
        var inSequence = false
        var collector = Collector()

        while true {
            let event = try parser.nextEvent()
            switch event.kind {
            case .streamStart, .documentStart, .documentEnd:
                continue
            case .streamEnd:
                return ConfigTree(pools: collector.pools)
            case .mappingStart:
                if depth == 1 && count[depth] != 1 {
                    throw ConfigIssue(event.location, "has more than one \"key:value\" at depth \(depth)")
                }
                if depth >= maxDepth {
                    throw ConfigIssue(event.location, "has a depth greater than \(maxDepth)")
                }
                depth += 1
            case .mappingEnd:
                if depth == maxDepth {
                    if !poolHasSequence {
                        // Reported at the pool's name: the end of a block mapping has no
                        // useful position of its own.
                        let name = collector.pools.last?.name
                        throw ConfigIssue(
                            name?.location ?? event.location,
                            "missing sequence directive at depth \(maxDepth)"
                                + (name.map { " (pool '\($0.string)' has no \"servers:\" list)" } ?? ""))
                    }
                    poolHasSequence = false
                }
                depth -= 1
                count[depth] = 0
            case .sequenceStart:
                if poolHasSequence {
                    throw ConfigIssue(event.location, "has more than one sequence directive")
                }
                if depth != maxDepth {
                    throw ConfigIssue(event.location, "has sequence at depth \(depth) instead of \(maxDepth)")
                }
                if count[depth] != 1 {
                    throw ConfigIssue(event.location, "has invalid \"key:value\" at depth \(depth)")
                }
                poolHasSequence = true
                inSequence = true
                collector.markSequence()
            case .sequenceEnd:
                count[depth] = 0
                inSequence = false
            case .scalar:
                if depth == 0 {
                    throw ConfigIssue(event.location, "has invalid empty \"key:\" at depth 0")
                }
                if depth == 1 && count[depth] != 0 {
                    throw ConfigIssue(event.location, "has invalid mapping \"key:\" at depth 1")
                }
                if depth == maxDepth && count[depth] == 2 {
                    count[depth] = 0  // a complete "key: value" was read
                }
                count[depth] += 1
                let scalar = Scalar(bytes: event.value, location: event.location)
                if depth == 1 {
                    collector.startPool(scalar)
                } else if inSequence || count[depth] == 2 {
                    collector.addValue(scalar)
                } else {
                    collector.startEntry(scalar)
                }
            case .alias:
                // Unreachable: pass 2 rejects alias tokens.
                throw ConfigIssue(event.location, "alias is disallowed")
            }
        }
    }

    /// Collects pools and entries while `readStructure` validates. The structure rules
    /// guarantee the order of calls (a pool before its entries, a key before its values),
    /// so every call has a pool and, for values, an entry to add to.
    private struct Collector {
        var pools: [Pool] = []

        /// A pool name at depth 1.
        mutating func startPool(_ name: Scalar) {
            pools.append(Pool(name: name, entries: []))
        }

        /// A key at depth 2.
        mutating func startEntry(_ key: Scalar) {
            guard !pools.isEmpty else { return }
            pools[pools.count - 1].entries.append(Entry(key: key, values: [], isSequence: false))
        }

        /// The value of the last key, or the next element of its sequence.
        mutating func addValue(_ value: Scalar) {
            guard let pool = pools.indices.last, let entry = pools[pool].entries.indices.last else { return }
            pools[pool].entries[entry].values.append(value)
        }

        /// The last key's value is a sequence.
        mutating func markSequence() {
            guard let pool = pools.indices.last, let entry = pools[pool].entries.indices.last else { return }
            pools[pool].entries[entry].isSequence = true
        }
    }
}
