/// golem-bench's settings (placeholder until the load generator lands).
public struct BenchOptions: Sendable {
    public init() {}
}
