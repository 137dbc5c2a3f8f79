#if canImport(Glibc)
    import Glibc
#endif

/// The numbers behind one stats document, summed over every worker.
public struct StatsSnapshot: Sendable {
    /// One pool's numbers, in `StatsCatalog.pool` order, and its servers'.
    public struct Pool: Sendable {
        public var name: String
        public var values: [Int]
        public var servers: [Server]
    }
    /// One server's numbers, in `StatsCatalog.server` order, and its latency histogram.
    public struct Server: Sendable {
        public var name: String
        public var values: [Int]
        /// Non-cumulative counts per `LatencyHistogram.bounds` bucket, then +Inf.
        public var latencyBuckets: [Int]
        public var latencyCount: Int
        public var latencySumMicroseconds: Int
    }

    public var uptime: Int
    public var timestamp: Int
    public var totalConnections: Int
    public var currentConnections: Int
    public var pools: [Pool]

    /// The document nutcracker 0.5.0 sends on its stats port, byte for byte in layout:
    /// `", "` between fields, `"name": {` to open pools and servers, `},"` between
    /// objects, a final newline. `service` and `version` keep nutcracker's values so
    /// that collectors which check them keep working; `source` is the host name.
    public func nutcrackerJSON(source: String) -> String {
        var text = "{\"service\":\"nutcracker\", \"source\":\"\(JSONString.escape(source))\", \"version\":\"0.5.0\", "
        text += "\"uptime\":\(uptime), \"timestamp\":\(timestamp), "
        text += "\"total_connections\":\(totalConnections), \"curr_connections\":\(currentConnections)"
        // nutcracker separates with ", " after a value but with "," after a closing brace.
        var afterBrace = false
        func open(_ name: String) {
            text += (afterBrace ? ",\"" : ", \"") + JSONString.escape(name) + "\": {"
            afterBrace = false
        }
        for pool in pools {
            open(pool.name)
            text += zip(StatsCatalog.pool, pool.values).map { "\"\($0.name)\":\($1)" }.joined(separator: ", ")
            for server in pool.servers {
                open(server.name)
                text += zip(StatsCatalog.server, server.values).map { "\"\($0.name)\":\($1)" }.joined(separator: ", ")
                text += "}"
                afterBrace = true
            }
            text += "}"
            afterBrace = true
        }
        return text + "}\n"
    }


    /// Prometheus text exposition (version 0.0.4) of the same numbers, plus latency
    /// histograms per server.
    public func prometheusText() -> String {
        var text = ""
        func label(_ value: String) -> String {
            value.replacingAll("\\", "\\\\").replacingAll("\"", "\\\"").replacingAll("\n", "\\n")
        }
        text += "# HELP golemproxy_uptime_seconds Seconds since the proxy started.\n# TYPE golemproxy_uptime_seconds gauge\n"
        text += "golemproxy_uptime_seconds \(uptime)\n"
        text += "# HELP golemproxy_connections Connections open now (clients, servers, listeners).\n# TYPE golemproxy_connections gauge\n"
        text += "golemproxy_connections \(currentConnections)\n"
        text += "# HELP golemproxy_connections_total Connections ever opened.\n# TYPE golemproxy_connections_total counter\n"
        text += "golemproxy_connections_total \(totalConnections)\n"
        for (index, metric) in StatsCatalog.pool.enumerated() {
            let name = metricName("pool", metric)
            text += "# HELP \(name) \(metric.description)\n# TYPE \(name) \(metric.kind == .counter ? "counter" : "gauge")\n"
            for pool in pools {
                text += "\(name){pool=\"\(label(pool.name))\"} \(pool.values[index])\n"
            }
        }
        for (index, metric) in StatsCatalog.server.enumerated() {
            let name = metricName("server", metric)
            text += "# HELP \(name) \(metric.description)\n# TYPE \(name) \(metric.kind == .counter ? "counter" : "gauge")\n"
            for pool in pools {
                for server in pool.servers {
                    text += "\(name){pool=\"\(label(pool.name))\",server=\"\(label(server.name))\"} \(server.values[index])\n"
                }
            }
        }
        /// One histogram's series: cumulative buckets, sum and count.
        func histogramLines(_ name: String, _ labels: String, _ buckets: [Int], _ sum: Int, _ count: Int) -> String {
            var lines = ""
            var cumulative = 0
            for (bucket, bound) in LatencyHistogram.bounds.enumerated() {
                cumulative += buckets[bucket]
                lines += "\(name)_bucket{\(labels),le=\"\(Self.seconds(bound))\"} \(cumulative)\n"
            }
            cumulative += buckets.last ?? 0
            lines += "\(name)_bucket{\(labels),le=\"+Inf\"} \(cumulative)\n"
            lines += "\(name)_sum{\(labels)} \(Self.seconds(sum))\n"
            lines += "\(name)_count{\(labels)} \(count)\n"
            return lines
        }
        let poolHistogram = "golemproxy_pool_request_latency_seconds"
        text += "# HELP \(poolHistogram) Time from a request being queued for a server of the pool to its reply.\n"
        text += "# TYPE \(poolHistogram) histogram\n"
        for pool in pools {
            var buckets = Array(repeating: 0, count: LatencyHistogram.bounds.count + 1)
            for server in pool.servers {
                for index in buckets.indices { buckets[index] += server.latencyBuckets[index] }
            }
            text += histogramLines(
                poolHistogram, "pool=\"\(label(pool.name))\"", buckets,
                pool.servers.reduce(0) { $0 + $1.latencySumMicroseconds }, pool.servers.reduce(0) { $0 + $1.latencyCount })
        }
        let histogram = "golemproxy_server_request_latency_seconds"
        text += "# HELP \(histogram) Time from a request being queued for a server to its reply.\n"
        text += "# TYPE \(histogram) histogram\n"
        for pool in pools {
            for server in pool.servers {
                let labels = "pool=\"\(label(pool.name))\",server=\"\(label(server.name))\""
                text += histogramLines(
                    histogram, labels, server.latencyBuckets, server.latencySumMicroseconds, server.latencyCount)
            }
        }
        return text
    }

    /// `golemproxy_pool_client_eof_total` etc.: counters get `_total`, as Prometheus
    /// naming asks.
    private func metricName(_ scope: String, _ metric: StatsCatalog.Metric) -> String {
        let base = metric.name.hasPrefix("server_") && scope == "server" ? String(metric.name.dropFirst(7)) : metric.name
        return "golemproxy_\(scope)_\(base)\(metric.kind == .counter ? "_total" : "")"
    }

    /// Microseconds as decimal seconds without Foundation (`1500` → `0.0015`).
    static func seconds(_ microseconds: Int) -> String {
        let whole = microseconds / 1_000_000
        var fraction = String(microseconds % 1_000_000)
        fraction = String(repeating: "0", count: 6 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return fraction.isEmpty ? "\(whole)" : "\(whole).\(fraction)"
    }
}

extension String {
    /// Every `target` replaced by `replacement` (no Foundation in the library).
    func replacingAll(_ target: String, _ replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}
