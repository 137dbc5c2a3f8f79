#if canImport(Glibc)
    import Glibc
#endif

/// Time as the bench measures it: `CLOCK_MONOTONIC` in nanoseconds (a vDSO call, no
/// syscall), read once per read event and once per loop turn rather than per request.
enum BenchClock {
    /// Monotonic nanoseconds (`clock_gettime(CLOCK_MONOTONIC)`).
    @inline(__always)
    static func now() -> Int {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return time.tv_sec * 1_000_000_000 + time.tv_nsec
    }

    /// CPU time the calling thread has used, in nanoseconds
    /// (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`).
    static func threadCPU() -> Int {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return time.tv_sec * 1_000_000_000 + time.tv_nsec
    }

    /// User and system CPU seconds the whole process has used (`getrusage(RUSAGE_SELF)`).
    static func processCPU() -> (user: Double, system: Double) {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ value: timeval) -> Double { Double(value.tv_sec) + Double(value.tv_usec) / 1e6 }
        return (seconds(usage.ru_utime), seconds(usage.ru_stime))
    }

    /// Sleeps the calling thread for `nanoseconds` (`nanosleep`).
    static func sleep(nanoseconds: Int) {
        var request = timespec(tv_sec: nanoseconds / 1_000_000_000, tv_nsec: nanoseconds % 1_000_000_000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}

/// A `timerfd` on `CLOCK_MONOTONIC` armed with absolute deadlines: the open-loop
/// timetable's wake-up, to the microsecond.
///
/// Why not a libevent timer: `IOWatcher` timeouts are whole milliseconds (and libevent
/// rounds `epoll_wait`'s timeout up to one), so a request due in 300 µs would go out up
/// to a millisecond late, and that lateness would show in every open-loop percentile.
/// Why `dlsym`: glibc declares `timerfd_create` in `<sys/timerfd.h>`, which the Clang
/// module for libc does not include. Without it the thread falls back to a libevent timer.
final class PreciseTimer {
    let fd: Int32
    private var armedAt = -1

    private struct Functions: @unchecked Sendable {
        // Why @unchecked: plain C function pointers, resolved once, never changed.
        let create: @convention(c) (Int32, Int32) -> Int32
        let setTime:
            @convention(c) (Int32, Int32, UnsafePointer<itimerspec>?, UnsafeMutablePointer<itimerspec>?) -> Int32
    }

    private static let functions: Functions? = {
        guard let library = dlopen(nil, RTLD_NOW), let create = dlsym(library, "timerfd_create"),
            let setTime = dlsym(library, "timerfd_settime")
        else { return nil }
        return Functions(
            create: unsafeBitCast(create, to: (@convention(c) (Int32, Int32) -> Int32).self),
            setTime: unsafeBitCast(
                setTime,
                to: (@convention(c) (Int32, Int32, UnsafePointer<itimerspec>?, UnsafeMutablePointer<itimerspec>?) ->
                    Int32)
                    .self))
    }()

    /// A disarmed timer; nil when timerfd is not available.
    init?() {
        guard let functions = Self.functions else { return nil }
        // TFD_NONBLOCK and TFD_CLOEXEC are O_NONBLOCK and O_CLOEXEC.
        let fd = functions.create(CLOCK_MONOTONIC, O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Makes the fd readable at monotonic time `nanoseconds`. Re-arming also makes a
    /// fired timer's fd unreadable again, so a fired timer is never `read`: one syscall
    /// per wake-up rather than two. No syscall when already armed for that time.
    func arm(at nanoseconds: Int) {
        guard nanoseconds != armedAt else { return }
        armedAt = nanoseconds
        set(max(nanoseconds, 1))
    }

    /// Notes that the fd became readable (the timer fired): the next `arm` or `disarm`
    /// must reach the kernel.
    func fired() {
        armedAt = -1
    }

    /// Stops a fired or pending timer, making the fd unreadable.
    func disarm() {
        guard armedAt != 0 else { return }
        armedAt = 0
        set(0)
    }

    private func set(_ nanoseconds: Int) {
        guard let functions = Self.functions else { return }
        var spec = itimerspec()
        spec.it_value.tv_sec = nanoseconds / 1_000_000_000
        spec.it_value.tv_nsec = nanoseconds % 1_000_000_000
        // 1 is TFD_TIMER_ABSTIME; an all-zero it_value disarms.
        _ = functions.setTime(fd, 1, &spec, nil)
    }
}
