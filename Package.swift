// swift-tools-version:6.0
import PackageDescription

/// golemproxy: a memcached and Redis sharding proxy, drop-in for twemproxy (nutcracker).
/// The daemon and library depend only on system libraries (libevent, libyaml) so that
/// the package builds for Debian offline.
let package = Package(
    name: "golemproxy",
    products: [
        .executable(name: "golemproxy", targets: ["golemproxy"]),
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
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        .executableTarget(
            name: "golemproxy",
            dependencies: ["Golem"],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        .testTarget(
            name: "GolemTests",
            dependencies: ["Golem"],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
