internal import CLibevent

#if canImport(Glibc)
    import Glibc
#endif

/// Owns one libevent `event_base`: the event loop of one worker thread.
///
/// A base is driven by exactly one thread. Other threads reach it only through
/// `wake()`, which is safe because libevent's pthread locking is switched on
/// (`EventSystem.enableThreads()`) before any base exists.
public final class EventBase {
    let base: OpaquePointer
    private var wakeupEvent: OpaquePointer?
    private var wakeHandler: (() -> Void)?

    /// Creates a base; the corresponding C function is `event_base_new`.
    public init() {
        EventSystem.enableThreads()
        guard let base = event_base_new() else { fatalError("event_base_new failed") }
        self.base = base
    }

    deinit {
        if let wakeupEvent { event_free(wakeupEvent) }
        event_base_free(base)
    }

    /// Runs one turn of the loop: waits until at least one event is ready (or a timer
    /// fires), runs every ready callback, returns. The corresponding C function is
    /// `event_base_loop(base, EVLOOP_ONCE)`.
    ///
    /// Why one turn at a time: the worker flushes every connection written to during
    /// the turn once, after it (one `writev` per socket per turn instead of one per
    /// request), which is where most of a proxy's syscalls go.
    public func runOnce() {
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NO_EXIT_ON_EMPTY)
    }

    /// Runs the ready callbacks without waiting (`EVLOOP_NONBLOCK`).
    public func runNonBlocking() {
        event_base_loop(base, EVLOOP_NONBLOCK | EVLOOP_NO_EXIT_ON_EMPTY)
    }

    /// Installs `handler`, run on this base's thread whenever another thread calls
    /// `wake()`. Call once, from the owning thread, before the loop runs.
    public func onWake(_ handler: @escaping () -> Void) {
        wakeHandler = handler
        // Why unretained: the event lives exactly as long as this object (freed in deinit).
        let context = Unmanaged.passUnretained(self).toOpaque()
        wakeupEvent = event_new(base, -1, Int16(EV_PERSIST), { _, _, context in
            let base = Unmanaged<EventBase>.fromOpaque(context!).takeUnretainedValue()
            base.wakeHandler?()
        }, context)
        event_add(wakeupEvent, nil)
    }

    /// Makes the loop run the `onWake` handler soon; safe from any thread.
    /// The corresponding C function is `event_active`.
    public func wake() {
        if let wakeupEvent { event_active(wakeupEvent, Int32(EV_READ), 0) }
    }
}

/// Process-wide libevent set-up.
public enum EventSystem {
    /// Turns on libevent's pthread locking, once, before the first base is created
    /// (libevent requires it then). The corresponding C function is `evthread_use_pthreads`.
    public static func enableThreads() {
        _ = threadsEnabled
    }

    /// Makes libevent keep the buffer chains it frees on the freeing thread and hand
    /// them out again (a per-thread cache, in the CLibevent shim), so forwarding
    /// allocates nothing per request. Must be the first libevent call of the process:
    /// blocks allocated before it would be freed wrongly. The daemon calls it first
    /// thing; library users (tests) do not need it.
    public static func installBlockCache() {
        golem_install_block_cache()
    }

    private static let threadsEnabled: Bool = {
        evthread_use_pthreads() == 0
    }()
}
