/// How a pool maps a key hash onto its servers: twemproxy's `distribution:` directive.
public enum Distribution: String, CaseIterable, Sendable {
    /// Consistent hashing over a continuum of md5 points (libmemcached-compatible ketama).
    case ketama
    /// `hash % total weight`, each server repeated `weight` times in server order.
    case modula
    /// A random live server per request; the key is ignored.
    case random
}
