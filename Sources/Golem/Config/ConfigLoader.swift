/// Loads a twemproxy (nutcracker 0.5.0) configuration file: the same YAML, the same
/// defaults, the same checks, with errors that say where (`file:line:column: reason`).
///
/// Checks run in nutcracker's order, so a file with several problems reports the one
/// nutcracker would: YAML shape (`ConfigTree`), then each directive in file order, then
/// each pool in file order (`PoolBuilder.build`), then the pools together (no shared
/// listen string, no shared name).
public enum ConfigLoader {
    /// Reads and validates a file; pools sorted like nutcracker (by name: length first
    /// then bytes).
    public static func load(path: String) throws(ConfigError) -> [PoolConfig] {
        let text: [UInt8]
        do {
            text = try ConfigFile.read(path: path)
        } catch {
            throw ConfigError(file: path, location: error.location, message: error.message)
        }
        return try parse(text, file: path)
    }

    /// Same from text already in memory; `file` is used in messages.
    public static func parse(_ text: [UInt8], file: String) throws(ConfigError) -> [PoolConfig] {
        do {
            return try pools(from: text)
        } catch {
            throw ConfigError(file: file, location: error.location, message: error.message)
        }
    }

    /// The pools of `text`, sorted by name, or the first problem nutcracker would report.
    static func pools(from text: [UInt8]) throws(ConfigIssue) -> [PoolConfig] {
        let tree = try ConfigTree.read(text)

        var builders: [PoolBuilder] = []
        for pool in tree.pools {
            var builder = try PoolBuilder(name: pool.name)
            for entry in pool.entries {
                try builder.apply(entry)
            }
            builders.append(builder)
        }
        guard !builders.isEmpty else {
            throw ConfigIssue(SourceLocation(line: 1, column: 1), "has no pools")
        }
        var built: [PoolBuilder.Built] = []
        for builder in builders {
            built.append(try builder.build())
        }

        // Equal listen strings end up adjacent, in file order (nutcracker sorts with a
        // stable merge sort); the first such pair is reported, at the later pool.
        let byListen = NameOrder.sorted(built) { Array($0.config.listenSpec.utf8) }
        for (first, second) in zip(byListen, byListen.dropFirst())
        where first.config.listenSpec == second.config.listenSpec {
            throw ConfigIssue(
                second.listenLocation,
                "pools '\(first.config.name)' and '\(second.config.name)' have the same listen address '\(first.config.listenSpec)'"
            )
        }

        let byName = NameOrder.sorted(built.map(\.config)) { Array($0.name.utf8) }
        for (first, second) in zip(byName, byName.dropFirst()) where first.name == second.name {
            // The sort keeps file order among equal names: `second` is the later pool.
            throw ConfigIssue(second.location, "has pools with same name '\(second.name)'")
        }
        return byName
    }
}
