/// The metrics nutcracker 0.5.0 publishes, with its kinds and descriptions, in the order
/// its stats JSON and `--describe-stats` list them. Dashboards key on these names.
public enum StatsCatalog {
    /// How a metric behaves over time.
    public enum Kind: Sendable {
        /// Only grows.
        case counter
        /// Goes up and down (a current count).
        case gauge
        /// A point in time, in microseconds since the epoch.
        case timestamp
    }

    /// One metric: its JSON name, kind and the description `-D` prints.
    public struct Metric: Sendable {
        public let name: String
        public let kind: Kind
        public let description: String
    }

    /// Per-pool metrics.
    public static let pool: [Metric] = [
        Metric(name: "client_eof", kind: .counter, description: "# eof on client connections"),
        Metric(name: "client_err", kind: .counter, description: "# errors on client connections"),
        Metric(name: "client_connections", kind: .gauge, description: "# active client connections"),
        Metric(name: "server_ejects", kind: .counter, description: "# times backend server was ejected"),
        Metric(name: "forward_error", kind: .counter, description: "# times we encountered a forwarding error"),
        Metric(name: "fragments", kind: .counter, description: "# fragments created from a multi-vector request"),
    ]

    /// Per-server metrics.
    public static let server: [Metric] = [
        Metric(name: "server_eof", kind: .counter, description: "# eof on server connections"),
        Metric(name: "server_err", kind: .counter, description: "# errors on server connections"),
        Metric(name: "server_timedout", kind: .counter, description: "# timeouts on server connections"),
        Metric(name: "server_connections", kind: .gauge, description: "# active server connections"),
        Metric(
            name: "server_ejected_at", kind: .timestamp,
            description: "timestamp when server was ejected in usec since epoch"),
        Metric(name: "requests", kind: .counter, description: "# requests"),
        Metric(name: "request_bytes", kind: .counter, description: "total request bytes"),
        Metric(name: "responses", kind: .counter, description: "# responses"),
        Metric(name: "response_bytes", kind: .counter, description: "total response bytes"),
        Metric(name: "in_queue", kind: .gauge, description: "# requests in incoming queue"),
        Metric(name: "in_queue_bytes", kind: .gauge, description: "current request bytes in incoming queue"),
        Metric(name: "out_queue", kind: .gauge, description: "# requests in outgoing queue"),
        Metric(name: "out_queue_bytes", kind: .gauge, description: "current request bytes in outgoing queue"),
    ]

    /// The text `--describe-stats` prints: nutcracker's layout, name padded to 20 columns.
    public static var describeText: String {
        func block(_ title: String, _ metrics: [Metric]) -> String {
            var text = "\(title):\n"
            for metric in metrics {
                let padding = String(repeating: " ", count: max(1, 20 - metric.name.utf8.count))
                text += "  \(metric.name)\(padding)\"\(metric.description)\"\n"
            }
            return text
        }
        return block("pool stats", pool) + "\n" + block("server stats", server)
    }
}
