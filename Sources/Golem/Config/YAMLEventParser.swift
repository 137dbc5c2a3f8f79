internal import CYAML

/// One libyaml event, copied out of libyaml's memory.
struct YAMLEvent: Sendable, Equatable {
    /// The kinds of event libyaml's parser produces.
    enum Kind: Sendable, Equatable {
        case streamStart, streamEnd
        case documentStart, documentEnd
        case alias, scalar
        case sequenceStart, sequenceEnd
        case mappingStart, mappingEnd
    }

    /// What happened.
    var kind: Kind
    /// The scalar's bytes (empty for every other kind).
    var value: [UInt8]
    /// Where the event starts.
    var location: SourceLocation
}

/// One libyaml scanner token: its kind, as libyaml's `yaml_token_type_t` number, and where
/// it starts.
struct YAMLToken: Sendable, Equatable {
    /// The kinds of token libyaml's scanner produces, numbered as `yaml_token_type_t` (the
    /// number appears in nutcracker's messages, e.g. `flow sequence start token (10)`).
    enum Kind: Int, Sendable {
        case none = 0
        case streamStart, streamEnd
        case versionDirective, tagDirective
        case documentStart, documentEnd
        case blockSequenceStart, blockMappingStart, blockEnd
        case flowSequenceStart, flowSequenceEnd, flowMappingStart, flowMappingEnd
        case blockEntry, flowEntry
        case key, value
        case alias, anchor, tag, scalar
    }

    /// The kind, or nil for a number this code does not know.
    var kind: Kind?
    /// libyaml's token type number.
    var code: Int
    /// Where the token starts.
    var location: SourceLocation
}

/// The only owner of libyaml state: a `yaml_parser_t` reading from a private copy of the
/// configuration text, freed in `deinit`.
///
/// libyaml does not allow mixing its scanner and its parser on one `yaml_parser_t`, so use
/// one instance either for `nextToken()` or for `nextEvent()`, never both. Nothing libyaml
/// allocates escapes this class: events and tokens are copied into Swift values.
final class YAMLEventParser {
    /// The parser state; allocated here because libyaml keeps pointers into it.
    private let parser: UnsafeMutablePointer<yaml_parser_t>
    /// A copy of the input: libyaml reads it lazily, so it must outlive every call.
    private let input: UnsafeMutableBufferPointer<UInt8>
    /// The original bytes, to turn a reader error's byte offset into a line and column.
    private let text: [UInt8]

    /// Prepares to read `text` (UTF-8, or UTF-16 with a byte order mark, as libyaml allows).
    init(_ text: [UInt8]) throws(ConfigIssue) {
        // why: libyaml stores the input pointer and reads from it on later calls, so the
        // bytes are copied into memory this object owns instead of borrowing the array's.
        let input = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(text.count, 1))
        _ = input.initialize(from: text)
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        guard yaml_parser_initialize(parser) == 1 else {
            // yaml_parser_initialize cleans up after itself when it fails.
            parser.deallocate()
            input.deallocate()
            throw ConfigIssue(.wholeFile, "failed to initialize the YAML parser")
        }
        yaml_parser_set_input_string(parser, input.baseAddress, text.count)
        self.parser = parser
        self.input = input
        self.text = text
    }

    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
        input.deallocate()
    }

    /// The next parser event. The corresponding C function is `yaml_parser_parse`.
    func nextEvent() throws(ConfigIssue) -> YAMLEvent {
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) == 1 else {
            throw syntaxError()
        }
        // why: the event owns libyaml allocations (the scalar's bytes); they are copied
        // below and released before returning.
        defer { yaml_event_delete(&event) }
        let location = Self.location(event.start_mark)
        let kind: YAMLEvent.Kind
        var value: [UInt8] = []
        switch event.type {
        case YAML_STREAM_START_EVENT: kind = .streamStart
        case YAML_STREAM_END_EVENT: kind = .streamEnd
        case YAML_DOCUMENT_START_EVENT: kind = .documentStart
        case YAML_DOCUMENT_END_EVENT: kind = .documentEnd
        case YAML_ALIAS_EVENT: kind = .alias
        case YAML_SCALAR_EVENT:
            kind = .scalar
            if let bytes = event.data.scalar.value, event.data.scalar.length > 0 {
                value = Array(UnsafeBufferPointer(start: bytes, count: event.data.scalar.length))
            }
        case YAML_SEQUENCE_START_EVENT: kind = .sequenceStart
        case YAML_SEQUENCE_END_EVENT: kind = .sequenceEnd
        case YAML_MAPPING_START_EVENT: kind = .mappingStart
        case YAML_MAPPING_END_EVENT: kind = .mappingEnd
        default:
            throw ConfigIssue(location, "unexpected YAML event (\(event.type.rawValue))")
        }
        return YAMLEvent(kind: kind, value: value, location: location)
    }

    /// The next scanner token. The corresponding C function is `yaml_parser_scan`.
    func nextToken() throws(ConfigIssue) -> YAMLToken {
        var token = yaml_token_t()
        guard yaml_parser_scan(parser, &token) == 1 else {
            throw syntaxError()
        }
        // why: tokens own libyaml allocations (scalar and anchor bytes); only the type and
        // position are kept, so the token is released before returning.
        defer { yaml_token_delete(&token) }
        let code = Int(token.type.rawValue)
        return YAMLToken(
            kind: YAMLToken.Kind(rawValue: code), code: code,
            location: Self.location(token.start_mark))
    }

    /// The parser's error as an issue: libyaml's problem text, where it happened and, when
    /// libyaml gives one, what it was reading at the time.
    private func syntaxError() -> ConfigIssue {
        let state = parser.pointee
        let problem = state.problem.map { String(cString: $0) } ?? "unknown error"
        if state.error == YAML_MEMORY_ERROR {
            return ConfigIssue(.wholeFile, "out of memory while parsing YAML")
        }
        if state.error == YAML_READER_ERROR {
            // Reader errors (bad encoding) carry a byte offset, not a mark.
            var message = "invalid YAML: \(problem)"
            if state.problem_value != -1 {
                message += " (byte 0x\(String(UInt32(bitPattern: state.problem_value), radix: 16)))"
            }
            return ConfigIssue(location(ofByte: state.problem_offset), message)
        }
        var message = "invalid YAML: \(problem)"
        if let context = state.context {
            let contextLocation = Self.location(state.context_mark)
            message += " (\(String(cString: context)) at line \(contextLocation.line) column \(contextLocation.column))"
        }
        return ConfigIssue(Self.location(state.problem_mark), message)
    }

    /// The 1-based location of a byte offset into the input (columns count bytes here).
    private func location(ofByte offset: Int) -> SourceLocation {
        var line = 1
        var column = 1
        for byte in text.prefix(offset) {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return SourceLocation(line: line, column: column)
    }

    /// libyaml's 0-based mark as a 1-based location.
    private static func location(_ mark: yaml_mark_t) -> SourceLocation {
        SourceLocation(line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }
}
