/// A configuration file that golemproxy (like nutcracker) refuses, with the place and
/// the reason: `nutcracker.yml:7:9: directive "hash" is not a valid hash ("fnv1a_65")`.
///
/// The reasons use nutcracker 0.5.0's wording (the part after its `conf:` prefix, with the
/// file name moved into the location prefix), plus the offending value where it helps.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file name as given to `ConfigLoader`.
    public var file: String
    /// The 1-based line of the offending node (0 for errors about the whole file).
    public var line: Int
    /// The 1-based column of the offending node (0 for errors about the whole file).
    public var column: Int
    /// The reason, without the location prefix.
    public var message: String

    /// Creates an error at an explicit line and column.
    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// Creates an error at a source location.
    public init(file: String, location: SourceLocation, message: String) {
        self.init(file: file, line: location.line, column: location.column, message: message)
    }

    /// The location of the offending node.
    public var location: SourceLocation { SourceLocation(line: line, column: column) }

    /// `file:line:column: message`, the format compilers use, so editors can jump to it.
    public var description: String { "\(file):\(line):\(column): \(message)" }
}

/// A configuration problem found before the file name is known to the code that found it;
/// `ConfigLoader` turns it into a `ConfigError`.
struct ConfigIssue: Error, Sendable, Equatable {
    /// Where the offending node starts.
    var location: SourceLocation
    /// The reason, in nutcracker's words.
    var message: String

    init(_ location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }
}
