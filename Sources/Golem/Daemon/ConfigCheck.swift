/// `golemproxy -t`: loads a config and reports, in nutcracker's words, whether it is
/// valid, adding the reason and its file:line:column, which nutcracker leaves out.
public enum ConfigCheck {
    /// The outcome of checking one file: the lines to print and the exit status.
    public struct Report: Sendable {
        public var lines: [String]
        public var exitStatus: Int32
    }

    /// Checks the config at `path`.
    public static func run(path: String) -> Report {
        do {
            let pools = try ConfigLoader.load(path: path)
            _ = pools
            return Report(lines: ["golemproxy: configuration file '\(path)' syntax is ok"], exitStatus: 0)
        } catch {
            return Report(
                lines: [
                    "golemproxy: \(error)",
                    "golemproxy: configuration file '\(path)' syntax is invalid",
                ],
                exitStatus: 1)
        }
    }
}
