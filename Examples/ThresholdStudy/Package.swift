// swift-tools-version:6.0
//
// A user's own experiment on top of ichct, depending on it by path exactly as an outside
// tool would. CI builds and runs it (scripts/test.sh), so the public API cannot silently break.

import PackageDescription

let package = Package(
    name: "ThresholdStudy",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "ichct", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "ThresholdStudy",
            dependencies: [
                .product(name: "CTVolume", package: "ichct"),
                .product(name: "NeuralCore", package: "ichct"),
                .product(name: "WeakSupervision", package: "ichct"),
                .product(name: "Metrics", package: "ichct"),
            ]
        ),
    ]
)
