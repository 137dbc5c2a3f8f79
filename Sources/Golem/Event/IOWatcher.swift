internal import CLibevent

#if canImport(Glibc)
    import Glibc
#endif

/// Something a watcher calls back: a connection, a listener, a timer's owner.
public protocol EventTarget: AnyObject {
    /// `tag` is the value given when the watcher was made; `readable`/`writable`/`timedOut`
    /// say what happened.
    func handleEvent(tag: Int, readable: Bool, writable: Bool, timedOut: Bool)
}

/// Owns one libevent `event`: readiness of a file descriptor for reading or writing,
/// or a timer (fd -1). The corresponding C functions are `event_new`, `event_add`,
/// `event_del` and `event_free`.
///
/// The target is held unowned: the target owns its watchers and must `stop()`/drop
/// them before it goes away. That keeps retain/release off the event path.
public final class IOWatcher {
    private var event: OpaquePointer!
    private let persistent: Bool
    private unowned(unsafe) let target: any EventTarget
    private let tag: Int
    /// True while the event is added to the base.
    public private(set) var isActive = false

    /// What to watch for.
    public struct Interest: OptionSet, Sendable {
        public let rawValue: Int16
        public init(rawValue: Int16) { self.rawValue = rawValue }
        public static let read = Interest(rawValue: Int16(EV_READ))
        public static let write = Interest(rawValue: Int16(EV_WRITE))
        /// Stay added after firing.
        public static let persist = Interest(rawValue: Int16(EV_PERSIST))
    }

    /// A watcher for `fd` (or -1 for a pure timer) on `base`.
    public init(base: EventBase, fd: Int32, interest: Interest, target: any EventTarget, tag: Int = 0) {
        self.target = target
        self.tag = tag
        persistent = interest.contains(.persist)
        // Why an unretained self as the C context: the event is freed in deinit, so the
        // callback can never run after this object is gone.
        event = event_new(base.base, fd, interest.rawValue, { _, what, context in
            let watcher = Unmanaged<IOWatcher>.fromOpaque(context!).takeUnretainedValue()
            watcher.fire(what)
        }, Unmanaged.passUnretained(self).toOpaque())
        if event == nil { fatalError("event_new failed") }
    }

    deinit {
        event_free(event)
    }

    private func fire(_ what: Int16) {
        if !persistent { isActive = false }
        target.handleEvent(
            tag: tag, readable: what & Int16(EV_READ) != 0, writable: what & Int16(EV_WRITE) != 0,
            timedOut: what & Int16(EV_TIMEOUT) != 0)
    }

    /// Adds the event, optionally with a timeout in milliseconds.
    public func start(timeoutMilliseconds: Int? = nil) {
        if let milliseconds = timeoutMilliseconds {
            var tv = timeval(tv_sec: milliseconds / 1000, tv_usec: Int((milliseconds % 1000) * 1000))
            event_add(event, &tv)
        } else {
            event_add(event, nil)
        }
        isActive = true
    }

    /// Removes the event; it will not fire until started again.
    public func stop() {
        guard isActive else { return }
        event_del(event)
        isActive = false
    }
}
