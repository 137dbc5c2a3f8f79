import Glibc

extension ListenAddress {
    /// Parses a `listen:` value as nutcracker's `conf_set_listen` does, and resolves a TCP
    /// host with getaddrinfo as nutcracker does at load time.
    ///
    /// - `/path [perm]`: a unix socket. The permission field is everything after the last
    ///   space, read like `strtol(field, NULL, 8)` (so junk reads as 0 and means "leave the
    ///   mode alone"); a negative or out-of-range value, or one above 0777, is refused. The
    ///   path must fit in `sockaddr_un.sun_path`.
    /// - `host:port`: split at the last colon; the port must be 1...65535.
    static func parse(_ value: ConfigTree.Scalar) throws(ConfigIssue) -> ListenAddress {
        let bytes = value.bytes
        let reason = "directive \"listen\""
        if bytes.first == UInt8(ascii: "/") {
            var path = bytes[...]
            var permissions: UInt32?
            if let space = bytes.lastIndex(of: UInt8(ascii: " ")) {
                path = bytes[..<space]
                guard let mode = octalPermissions(bytes[(space + 1)...]) else {
                    throw ConfigIssue(
                        value.location,
                        "\(reason) has an invalid file permission in \"socket_path permission\" format string (\(value.quoted))"
                    )
                }
                permissions = mode == 0 ? nil : mode
            }
            let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
            guard path.count < capacity else {
                throw ConfigIssue(
                    value.location,
                    "\(reason) has an invalid value (\(value.quoted)): the socket path is longer than \(capacity - 1) bytes"
                )
            }
            return .unix(path: String(decoding: path, as: UTF8.self), permissions: permissions)
        }

        guard let colon = bytes.lastIndex(of: UInt8(ascii: ":")) else {
            throw ConfigIssue(
                value.location, "\(reason) has an invalid \"hostname:port\" format string (\(value.quoted))")
        }
        guard let port = Directive.number(bytes[(colon + 1)...]), (1...65535).contains(port) else {
            throw ConfigIssue(
                value.location, "\(reason) has an invalid port in \"hostname:port\" format string (\(value.quoted))")
        }
        let host = String(decoding: bytes[..<colon], as: UTF8.self)
        if let failure = resolutionFailure(host: host, port: port) {
            throw ConfigIssue(value.location, "\(reason) has an invalid value (\(value.quoted)): \(failure)")
        }
        return .tcp(host: host, port: port)
    }

    /// `strtol(field, NULL, 8)` as a file mode: leading white space, an optional sign, then
    /// as many octal digits as there are (none reads as 0). Nil when nutcracker refuses the
    /// value: strtol overflows, or the value, cast to `mode_t`, is above 0777.
    static func octalPermissions(_ field: ArraySlice<UInt8>) -> UInt32? {
        var index = field.startIndex
        let whiteSpace: Set<UInt8> = [0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]
        while index < field.endIndex, whiteSpace.contains(field[index]) { index += 1 }
        var negative = false
        if index < field.endIndex, field[index] == UInt8(ascii: "+") || field[index] == UInt8(ascii: "-") {
            negative = field[index] == UInt8(ascii: "-")
            index += 1
        }
        // strtol's limit: LONG_MAX, or -LONG_MIN for a negative number.
        let limit: UInt64 = negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
        var magnitude: UInt64 = 0
        while index < field.endIndex, field[index] >= UInt8(ascii: "0"), field[index] <= UInt8(ascii: "7") {
            let (shifted, overflow) = magnitude.multipliedReportingOverflow(by: 8)
            magnitude = shifted | UInt64(field[index] - UInt8(ascii: "0"))  // the low 3 bits are free
            guard !overflow, magnitude <= limit else { return nil }  // ERANGE
            index += 1
        }
        let value = negative ? 0 &- magnitude : magnitude
        let mode = UInt32(truncatingIfNeeded: value)  // the cast to mode_t
        return mode <= 0o777 ? mode : nil
    }

    /// Why getaddrinfo cannot resolve `host` (with nutcracker's hints: any family, stream
    /// sockets, numeric service), in nutcracker's words; nil when it can.
    /// The corresponding C function is `getaddrinfo`.
    static func resolutionFailure(host: String, port: Int) -> String? {
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICSERV
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        // why: the list getaddrinfo allocates is only checked for existence, then freed here.
        if let result { freeaddrinfo(result) }
        guard status != 0 else { return nil }
        let text = gai_strerror(status).map { String(cString: $0) } ?? "error \(status)"
        return "address resolution of node '\(host)' service '\(port)' failed: \(text)"
    }
}
