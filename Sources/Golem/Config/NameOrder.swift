/// nutcracker's `string_compare` order, used to sort servers and pools: shorter names
/// first, names of equal length by their bytes (unsigned). So `a`, `bb`,
/// `127.0.0.1:30500`, `127.0.0.1:30504` is sorted.
enum NameOrder {
    /// Whether `a` sorts strictly before `b`.
    static func precedes(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        if a.count != b.count { return a.count < b.count }
        return a.lexicographicallyPrecedes(b)
    }

    /// `items` sorted by `name`, keeping the original order of equal names (nutcracker's
    /// glibc qsort is a merge sort, so equal names stay in file order there too).
    static func sorted<T>(_ items: [T], by name: (T) -> [UInt8]) -> [T] {
        let keyed = items.enumerated().map { (index: $0.offset, name: name($0.element), item: $0.element) }
        return keyed.sorted { lhs, rhs in
            if lhs.name == rhs.name { return lhs.index < rhs.index }
            return precedes(lhs.name, rhs.name)
        }.map(\.item)
    }
}
