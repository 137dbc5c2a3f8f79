extension ServerConfig {
    /// The reason prefix shared by every server line error.
    private static let reason = "directive \"servers\""

    /// Parses one `servers:` element as nutcracker's `conf_add_server` does.
    ///
    /// The line is read from the end: an optional name after the last space, the weight
    /// after the last colon before it, then (for `host:port:weight`) the port after the
    /// next colon; what remains is the host. A line starting with `/` is a unix socket,
    /// `/path:weight [name]`, whose path may not contain a colon. Checks come in
    /// nutcracker's order: the format, then the weight (a number ≥ 1), then the port
    /// (1...65535).
    static func parse(_ value: ConfigTree.Scalar) throws(ConfigIssue) -> ServerConfig {
        let bytes = value.bytes
        let isUnix = bytes.first == UInt8(ascii: "/")
        let space = UInt8(ascii: " ")
        let colon = UInt8(ascii: ":")

        var rest = bytes[...]
        var explicitName: ArraySlice<UInt8>?
        if let index = rest.lastIndex(of: space) {
            explicitName = rest[(index + 1)...]
            rest = rest[..<index]
        }
        let formatError = ConfigIssue(
            value.location,
            "\(reason) has an invalid \"hostname:port:weight [name]\" or \"/path/unix_socket:weight [name]\" format string (\(value.quoted))"
        )
        guard let weightColon = rest.lastIndex(of: colon) else { throw formatError }
        let weightField = rest[(weightColon + 1)...]
        rest = rest[..<weightColon]
        var portField: ArraySlice<UInt8> = []
        if isUnix {
            guard !rest.contains(colon) else { throw formatError }
        } else {
            guard let portColon = rest.lastIndex(of: colon) else { throw formatError }
            portField = rest[(portColon + 1)...]
            rest = rest[..<portColon]
        }
        let address = rest

        guard let weight = Directive.number(weightField) else {
            throw ConfigIssue(
                value.location,
                "\(reason) has an invalid weight in \"hostname:port:weight [name]\" format string (\(value.quoted))")
        }
        guard weight > 0 else {
            throw ConfigIssue(
                value.location,
                "\(reason) has a zero weight in \"hostname:port:weight [name]\" format string (\(value.quoted))")
        }
        let host = String(decoding: address, as: UTF8.self)
        if isUnix {
            let name = explicitName.map { String(decoding: $0, as: UTF8.self) } ?? host + ":"
            return ServerConfig(
                name: name, address: .unix(path: host), weight: weight, spec: value.string,
                location: value.location)
        }
        guard let port = Directive.number(portField), (1...65535).contains(port) else {
            throw ConfigIssue(
                value.location,
                "\(reason) has an invalid port in \"hostname:port:weight [name]\" format string (\(value.quoted))")
        }
        let name: String
        if let explicitName {
            name = String(decoding: explicitName, as: UTF8.self)
        } else if port == 11211 {
            // libmemcached compatibility: the default port is left out of the hashed name.
            name = host
        } else {
            // The port as written (e.g. with leading zeros), as nutcracker copies it.
            name = host + ":" + String(decoding: portField, as: UTF8.self)
        }
        return ServerConfig(
            name: name, address: .tcp(host: host, port: port), weight: weight, spec: value.string,
            location: value.location)
    }
}
