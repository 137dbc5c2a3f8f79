/// A position in a configuration file: 1-based line and column.
///
/// Columns count characters, as libyaml does, so a caret placed under column N of the
/// printed line points at the offending node. Line 0 (with column 0) means "the file as a
/// whole", for errors such as a file that cannot be opened.
public struct SourceLocation: Sendable, Equatable {
    /// The 1-based line, or 0 when the error is about the file as a whole.
    public var line: Int
    /// The 1-based column, or 0 when the error is about the file as a whole.
    public var column: Int

    /// Creates a location from 1-based coordinates.
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// The location used for errors about the file as a whole (`0:0`).
    public static let wholeFile = SourceLocation(line: 0, column: 0)
}
