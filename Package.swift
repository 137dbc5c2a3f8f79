// swift-tools-version:6.0
import PackageDescription

/// golemproxy: a memcached and Redis sharding proxy, drop-in for twemproxy (nutcracker).
/// The daemon and library depend only on system libraries (libevent, libyaml) so that
/// the package builds for Debian offline.
let package = Package(
    name: "golemproxy",
    products: [
        .executable(name: "golemproxy", targets: ["golemproxy"]),
        .executable(name: "golem-bench", targets: ["golem-bench"]),
        .executable(name: "golem-fuzz", targets: ["golem-fuzz"]),
        .library(name: "Golem", targets: ["Golem"]),
    ],
    targets: [
        .systemLibrary(
            name: "CLibevent",
            pkgConfig: "libevent_core",
            providers: [.apt(["libevent-dev"])]
        ),
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .target(
            name: "Golem",
            dependencies: ["CLibevent", "CYAML"],
            swiftSettings: [
                .enableUpcomingFeature("ExistentialAny"),
                // The data path is single-threaded per worker and its objects are
                // never accessed re-entrantly in conflicting ways; dynamic exclusivity
                // checks cost ~10% of the instructions per request (callgrind), so
                // release builds leave them out. Debug builds and tests keep them.
                .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
            ]
        ),
        .executableTarget(
            name: "golemproxy",
            dependencies: ["Golem"],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        .target(
            name: "GolemBench",
            dependencies: ["Golem"],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        .executableTarget(
            name: "golem-bench",
            dependencies: ["GolemBench"],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        .target(
            name: "GolemFuzz",
            dependencies: ["Golem"],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        .executableTarget(
            name: "golem-fuzz",
            dependencies: ["GolemFuzz"],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        .testTarget(
            name: "GolemTests",
            dependencies: ["Golem", "GolemBench", "GolemFuzz"],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
