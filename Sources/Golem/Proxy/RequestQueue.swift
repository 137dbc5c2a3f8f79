/// A first-in first-out queue of requests that reuses its storage: appending and
/// removing from the front cost no allocation once it has grown to its working size.
struct RequestQueue {
    private var storage: [Request?] = []
    private var head = 0

    var count: Int { storage.count - head }
    var isEmpty: Bool { head == storage.count }
    var first: Request? { isEmpty ? nil : storage[head] }

    mutating func append(_ request: Request) {
        storage.append(request)
    }

    /// Removes and returns the oldest request; the queue must not be empty.
    @discardableResult
    mutating func removeFirst() -> Request {
        let request = storage[head]!
        storage[head] = nil
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return request
    }

    /// Every queued request, oldest first.
    var all: ArraySlice<Request?> { storage[head...] }
}
