/// What `MemcacheRequestParser.parse(line:into:)` made of one request line.
public enum MemcacheLineResult: Equatable, Sendable {
    /// A valid request; the `MemcacheRequest` passed in describes it.
    case request
    /// memcached would not run it; the error says what to answer and what to drop.
    case error(MemcacheParseError)
}
