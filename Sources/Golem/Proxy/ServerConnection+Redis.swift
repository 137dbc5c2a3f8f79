/// The Redis side of a server connection: RESP replies framed in place and handed to
/// the oldest waiting request; fragments of split commands feed their parent's merge.
extension ServerConnection {
    /// Frames replies from `input`. Returns false when the connection was closed
    /// because the bytes are not RESP or nobody asked for them.
    func parseRedisReplies() -> Bool {
        while !input.isEmpty {
            guard let request = inFlight.first else {
                // A reply nobody asked for: the stream cannot be trusted any more.
                return broken()
            }
            let length: Int
            switch replyFramer.frame(input) {
            case .incomplete: return true
            case .invalid: return broken()
            case .complete(let total): length = total
            }
            switch request.role {
            case .fragment:
                guard takeFragmentReply(request, length: length) else { return broken() }
            case .control:
                // AUTH or SELECT sent on connecting: a refusal is logged (the clients'
                // own commands then get the server's errors, such as -NOAUTH).
                if input.byte(at: 0) == UInt8(ascii: "-") {
                    var text = input.copyBytes(min(length, 200))
                    while let last = text.last, last == RESP.cr || last == RESP.lf { text.removeLast() }
                    let reply = String(decoding: text, as: UTF8.self)
                    worker.log.write(
                        "server '\(server.config.name)' of pool '\(server.pool.config.name)' refused the connection setup: \(reply)",
                        level: 4)
                }
                input.drain(length)
                inFlight.removeFirst()
                continue
            default:
                input.move(length, to: request.reply)
            }
            complete()
        }
        return true
    }

    /// Takes one fragment's reply (`length` bytes at the front of `input`) into its
    /// parent. False when the reply has the wrong shape for the command (an array of
    /// the wrong length, for one): the stream may be out of step, so the caller resets.
    private func takeFragmentReply(_ fragment: Request, length: Int) -> Bool {
        let marker = input.byte(at: 0)!
        guard let parent = fragment.parent else {
            input.drain(length)
            return true
        }
        if marker == UInt8(ascii: "-") {
            // The server's own error fails the whole command, in its words.
            parent.recordFailure(input.copyBytes(length))
            input.drain(length)
            return true
        }
        switch parent.merge {
        case .array:
            guard marker == UInt8(ascii: "*"), let headerEnd = input.firstCRLF(),
                input.withBytes(at: 1, length: headerEnd - 1, RESP.parseInteger) == fragment.keyIndexes.count
            else {
                parent.recordFailure(Array("-ERR Invalid argument\r\n".utf8))
                input.drain(length)
                return true
            }
            input.drain(headerEnd + 2)
            var elements = RedisReplyFramer()
            for index in fragment.keyIndexes {
                guard case .complete(let elementLength) = elements.frame(input) else { return false }
                parent.store(index, from: input, length: elementLength, fragment: fragment)
            }
        case .sum:
            let value = marker == UInt8(ascii: ":") ? input.withBytes(at: 1, length: length - 3, RESP.parseInteger) : nil
            if let value {
                parent.sum += value
            } else {
                parent.recordFailure(Array("-ERR Invalid argument\r\n".utf8))
            }
            input.drain(length)
        case .ok:
            if marker != UInt8(ascii: "+") { parent.recordFailure(Array("-ERR Invalid argument\r\n".utf8)) }
            input.drain(length)
        }
        return true
    }

    /// On a new connection: AUTH with the pool's `redis_auth` and SELECT its
    /// `redis_db`, ahead of anything queued, each waiting for its reply like a request.
    func queueRedisPreamble() {
        let config = server.pool.config
        var preamble: [UInt8] = []
        var commands = 0
        if let password = config.redisAuth {
            preamble += RedisRequestFramer.multibulk([Array("AUTH".utf8), Array(password.utf8)])
            commands += 1
        }
        if config.redisDB != 0 {
            preamble += RedisRequestFramer.multibulk([Array("SELECT".utf8), Array("\(config.redisDB)".utf8)])
            commands += 1
        }
        guard commands > 0 else { return }
        output.prepend(preamble)
        for _ in 0..<commands {
            let control = Request()
            control.role = .control
            if config.timeout > 0 { control.deadline = worker.clock.now + config.timeout }
            inFlight.append(control)
        }
    }
}
