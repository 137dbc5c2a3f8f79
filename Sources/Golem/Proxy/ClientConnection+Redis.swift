/// The Redis side of a client connection: RESP requests framed in place, checked
/// against the command table, routed by key, split over servers where they name keys
/// on several, or answered by the proxy itself.
extension ClientConnection {
    /// Frames and dispatches every complete request in `input` (Redis pools).
    func processRedisInput() {
        while !closed {
            switch redisFramer.frame(input) {
            case .incomplete:
                return
            case .empty(let length):
                input.drain(length)
                continue
            case .error(let message):
                // Redis answers a protocol error and closes; so does the proxy, after
                // the replies already due.
                reject(reply: "-ERR Protocol error: \(message)\r\n", lineLength: 0, swallow: 0, close: true)
                return
            case .inline(let length):
                let arguments = input.withContiguousBytes(length) { line -> [[UInt8]]? in
                    var end = length - 1
                    if end > 0 && line[end - 1] == RESP.cr { end -= 1 }
                    return RedisRequestFramer.splitInline(UnsafeRawBufferPointer(rebasing: line[0..<end]))
                }
                input.drain(length)
                guard let arguments else {
                    reject(reply: "-ERR Protocol error: unbalanced quotes in request\r\n", lineLength: 0, swallow: 0, close: true)
                    return
                }
                // An inline command is rewritten as the multibulk request it stands
                // for, in front of whatever follows it, and framed again.
                if !arguments.isEmpty { input.prepend(RedisRequestFramer.multibulk(arguments)) }
                continue
            case .request:
                dispatchRedis()
            }
            if mustPauseAfterRequest() { return }
        }
    }

    /// The bytes of argument `index` of the framed request.
    private func withArgument<T>(_ index: Int, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        let range = redisFramer.arguments[index]
        return input.withBytes(at: range.lowerBound, length: range.count, body)
    }

    /// A short argument as text for an error message (printable ASCII, at most 64 bytes).
    private func argumentText(_ index: Int, lowercased: Bool = false) -> String {
        let range = redisFramer.arguments[index]
        let bytes = input.withBytes(at: range.lowerBound, length: min(range.count, 64)) { Array($0) }
        var text = String(bytes.map { RESP.printable($0) })
        if range.count > 64 { text += "..." }
        return lowercased ? text.lowercased() : text
    }

    /// Answers the framed request with a proxy-made reply and drops its bytes.
    /// Disfavoured, so that a literal reply (`+PONG`) goes as a `StaticString`.
    @_disfavoredOverload
    private func answer(_ text: String) {
        input.drain(redisFramer.total)
        answerLocally { $0.append(text) }
    }

    private func answer(_ text: StaticString) {
        input.drain(redisFramer.total)
        answerLocally(text)
    }

    /// Routes one framed request (its `total` bytes start `input`).
    private func dispatchRedis() {
        let arguments = redisFramer.arguments
        guard let command = withArgument(0, RedisCommand.lookup) else {
            answer("-ERR unsupported command '\(argumentText(0, lowercased: true))'\r\n")
            return
        }
        if !authenticated && command.kind != .auth && command.kind != .quit && command.kind != .hello {
            answer("-NOAUTH Authentication required\r\n")
            return
        }
        guard command.accepts(argumentCount: arguments.count - 1) else {
            answer("-ERR wrong number of arguments for '\(command.name)' command\r\n")
            return
        }
        pool.refreshRouter()
        switch command.kind {
        case .keyed:
            forward(to: route(argument: 1), bytes: redisFramer.total, literal: nil, expectsReply: true, retrieval: false)
        case .eval:
            let keyCount = withArgument(2, RESP.parseInteger)
            guard let keyCount else {
                answer("-ERR value is not an integer or out of range\r\n")
                return
            }
            guard keyCount <= arguments.count - 3 else {
                answer("-ERR Number of keys can't be greater than number of args\r\n")
                return
            }
            guard keyCount >= 1 else {
                answer("-ERR \(command.name) through the proxy needs numkeys of at least 1: the first key picks the server\r\n")
                return
            }
            forward(to: route(argument: 3), bytes: redisFramer.total, literal: nil, expectsReply: true, retrieval: false)
        case .placeholder:
            let server = Array("placeholder".utf8).withUnsafeBytes { pool.server(forKey: $0, random: worker.nextRandom()) }
            forward(to: server, bytes: redisFramer.total, literal: nil, expectsReply: true, retrieval: false)
        case .splitArray:
            forwardSplit(command, merge: .array, step: 1)
        case .splitSum:
            forwardSplit(command, merge: .sum, step: 1)
        case .splitPairs:
            forwardSplit(command, merge: .ok, step: 2)
        case .ping:
            if arguments.count == 1 {
                answer("+PONG\r\n")
            } else {
                // PING message: the message comes back as a bulk string, which is
                // exactly the argument as it was sent (`$len`, data, line end).
                let start = redisFramer.argumentStarts[1]
                let total = redisFramer.total
                input.drain(start)
                answerLocally { input.move(total - start, to: $0) }
            }
        case .quit:
            // nutcracker closes without a reply (Redis would say +OK first).
            input.drain(redisFramer.total)
            stopReading()
            closeAfterReplies = true
            input.drain(input.count)
            closeIfDone()
        case .auth:
            guard let password = pool.config.redisAuth else {
                answer("-ERR Client sent AUTH, but no password is set\r\n")
                return
            }
            let matches = withArgument(1) { $0.elementsEqual(password.utf8) }
            if matches {
                authenticated = true
                answer("+OK\r\n")
            } else {
                authenticated = false
                answer("-ERR invalid password\r\n")
            }
        case .hello:
            hello()
        case .select:
            let database = withArgument(1, RESP.parseInteger)
            if database == pool.config.redisDB {
                answer("+OK\r\n")
            } else {
                answer(
                    "-ERR SELECT \(argumentText(1)) is not supported: pool '\(pool.config.name)' uses db \(pool.config.redisDB) (redis_db)\r\n"
                )
            }
        }
    }

    /// HELLO [protover [AUTH username password] [SETNAME name]]: the proxy speaks RESP2
    /// only. HELLO 3 gets NOPROTO (Redis's answer to a protocol it lacks); HELLO or
    /// HELLO 2 is answered with the proxy's own description, after checking AUTH
    /// against `redis_auth` when given.
    private func hello() {
        let arguments = redisFramer.arguments
        var index = 1
        if arguments.count > 1 {
            let version = withArgument(1, RESP.parseInteger)
            guard version == 2 else {
                answer(
                    version == nil
                        ? "-ERR Protocol version is not an integer or out of range\r\n"
                        : "-NOPROTO unsupported protocol version: golemproxy speaks RESP2 only\r\n")
                return
            }
            index = 2
        }
        while index < arguments.count {
            let option = argumentText(index, lowercased: true)
            if option == "auth" && index + 2 < arguments.count {
                guard let password = pool.config.redisAuth else {
                    answer("-ERR Client sent AUTH, but no password is set\r\n")
                    return
                }
                guard withArgument(index + 2, { $0.elementsEqual(password.utf8) }) else {
                    authenticated = false
                    answer("-WRONGPASS invalid username-password pair\r\n")
                    return
                }
                authenticated = true
                index += 3
            } else if option == "setname" && index + 1 < arguments.count {
                index += 2
            } else {
                answer("-ERR Syntax error in HELLO option '\(argumentText(index))'\r\n")
                return
            }
        }
        if !authenticated {
            answer("-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n")
            return
        }
        // A map in RESP2 form: an array of alternating names and values.
        input.drain(redisFramer.total)
        answerLocally { reply in
            func bulk(_ text: String) {
                reply.appendHeader(UInt8(ascii: "$"), text.utf8.count)
                reply.append(text)
                reply.append("\r\n")
            }
            reply.appendHeader(UInt8(ascii: "*"), 14)
            bulk("server")
            bulk("golemproxy")
            bulk("version")
            bulk(Options.version)
            bulk("proto")
            reply.appendHeader(UInt8(ascii: ":"), 2)
            bulk("id")
            reply.appendHeader(UInt8(ascii: ":"), 0)
            bulk("mode")
            bulk("proxy")
            bulk("role")
            bulk("master")
            bulk("modules")
            reply.appendHeader(UInt8(ascii: "*"), 0)
        }
    }

    /// The server for the key in argument `index`.
    private func route(argument index: Int) -> Int? {
        withArgument(index) { pool.server(forKey: $0, random: worker.nextRandom()) }
    }

    /// MGET, DEL/UNLINK/TOUCH/EXISTS, MSET: keys (or key/value pairs, `step` 2) on one
    /// server go as they came; otherwise each server gets a fragment with its share, in
    /// the client's order, and the replies are merged back (`merge`).
    private func forwardSplit(_ command: RedisCommand, merge: Request.Merge, step: Int) {
        let arguments = redisFramer.arguments
        let starts = redisFramer.argumentStarts
        let total = redisFramer.total
        let groups = (arguments.count - 1) / step
        let servers = routeKeys(groups) { route(argument: 1 + $0 * step) }
        defer { worker.keyServers = servers }
        if forwardUnsplit(servers, bytes: total, retrieval: false) { return }
        let parent = worker.makeRequest(role: .split, client: self)
        parent.merge = merge
        parent.sum = 0
        parent.failure = nil
        parent.prepareSlots(merge == .array ? groups : 0)
        awaitReply(parent)
        // Gather each group's bytes (its `$len` headers and data, moved, not copied)
        // into its server's buffer, in order.
        let gathered = pool.fragmentBuffers
        input.drain(starts[1])
        for group in 0..<groups {
            let start = starts[1 + group * step]
            let next = 1 + (group + 1) * step
            let end = next < arguments.count ? starts[next] : total
            input.move(end - start, to: gathered[servers[group]])
        }
        // Count every fragment before sending any: one may fail at once (connection
        // refused) and must not complete the parent early.
        parent.pending = pool.servers.reduce(0) { $0 + (servers.contains($1.index) ? 1 : 0) }
        for server in pool.servers where servers.contains(server.index) {
            let fragment = makeFragment(of: parent, for: server)
            for group in 0..<groups where servers[group] == server.index {
                fragment.keyIndexes.append(group)
            }
            let connection = server.connection(slot: slot)
            let out = connection.output
            let before = out.count
            out.appendHeader(UInt8(ascii: "*"), fragment.keyIndexes.count * step + 1)
            out.appendHeader(UInt8(ascii: "$"), command.upperName.count)
            out.append(command.upperName)
            out.append("\r\n")
            gathered[server.index].moveAll(to: out)
            send(fragment, on: connection, bytes: out.count - before)
        }
    }
}
