// swift-tools-version:6.0
//
// ichct: weakly supervised intracranial hemorrhage segmentation.
// Library modules (CTVolume, NeuralCore, WeakSupervision, Metrics) carry every capability;
// `ichctl` is a thin command-line front over them. The C shims below wrap Debian's system
// libraries and are not products: no C type leaves the Swift modules.

import PackageDescription

let package = Package(
    name: "ichct",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "CTVolume", targets: ["CTVolume"]),
        .library(name: "NeuralCore", targets: ["NeuralCore"]),
        .library(name: "WeakSupervision", targets: ["WeakSupervision"]),
        .library(name: "Metrics", targets: ["Metrics"]),
        .executable(name: "ichctl", targets: ["ichctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C shims over system headers (apt: libopenblas-dev liblapacke-dev libnifti-dev libpng-dev zlib1g-dev
        // libgdcm-dev libopenmpi-dev openmpi-bin; scripts/bootstrap.sh installs them).
        .systemLibrary(name: "CCBLAS", path: "Sources/CCBLAS"),
        .systemLibrary(name: "CLAPACKE", path: "Sources/CLAPACKE"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        .target(
            name: "CNIfTI",
            path: "Sources/CNIfTI",
            cSettings: [.define("HAVE_ZLIB", to: "1")],
            linkerSettings: [.linkedLibrary("niftiio"), .linkedLibrary("znz"), .linkedLibrary("z"), .linkedLibrary("m")]
        ),

        // GDCM (apt: libgdcm-dev) behind a C header: C++ stays in this target. Its includes
        // name <gdcm-3.0/...>, so no search-path flags are needed. zlib inflates deflated data
        // sets for the structure walk; pixel decoding runs in a child process.
        .target(
            name: "CGDCM",
            path: "Sources/CGDCM",
            linkerSettings: [.linkedLibrary("gdcmMSFF"), .linkedLibrary("gdcmDSED"), .linkedLibrary("gdcmCommon"),
                             .linkedLibrary("gdcmDICT"), .linkedLibrary("gdcmIOD"), .linkedLibrary("z")]
        ),

        // Open MPI (apt: openmpi-bin libopenmpi-dev) behind a C header: its handles are macros
        // over casts that Swift cannot import. <mpi/mpi.h> is Debian's multiarch path to the
        // default MPI's headers.
        .target(name: "CMPI", path: "Sources/CMPI", linkerSettings: [.linkedLibrary("mpi")]),

        // Package-internal: direct convolution kernels in C (AVX-512 intrinsics behind a run-time
        // check of the CPU; NeuralCore keeps its im2col path where they do not run).
        .target(name: "CConvKernels", path: "Sources/CConvKernels"),

        // Package-internal: the one implementation of what several modules need (the seeded
        // generator, component labelling). Not a product; CTVolume re-exports its public part.
        .target(name: "ImageCore"),

        // Library modules.
        .target(name: "CTVolume", dependencies: ["ImageCore", "CNIfTI", "CPNG", "CGDCM"]),
        .target(name: "NeuralCore", dependencies: ["ImageCore", "CCBLAS", "CLAPACKE", "CMPI", "CConvKernels"]),
        .target(name: "Metrics", dependencies: ["ImageCore"]),
        .target(name: "WeakSupervision", dependencies: ["ImageCore", "CTVolume", "NeuralCore", "Metrics"]),

        // Command-line front end.
        .executableTarget(
            name: "ichctl",
            dependencies: [
                "CTVolume", "NeuralCore", "WeakSupervision", "Metrics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Benchmarks (release builds only; see Docs/performance.md).
        .executableTarget(
            name: "bench",
            dependencies: [
                "CTVolume", "NeuralCore", "WeakSupervision", "Metrics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // libFuzzer harness over the readers of outside files (scripts/fuzz.sh builds it with
        // -sanitize=fuzzer; a plain build replays a corpus; Docs/testing.md).
        .executableTarget(name: "fuzz", dependencies: ["CTVolume", "NeuralCore", "WeakSupervision"]),

        // Tests. `TestSupport` is the one copy of what several test targets need (seeded test
        // generator, temporary folders, fixture numbers, running a built executable); Foundation
        // only, no module of the package, and not a product.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        // The tiny pipeline configuration the library's and the command line's pipeline tests share.
        .target(name: "PipelineTestSupport", dependencies: ["WeakSupervision"], path: "Tests/PipelineTestSupport"),
        .testTarget(name: "CTVolumeTests", dependencies: ["CTVolume", "ImageCore", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "NeuralCoreTests", dependencies: ["NeuralCore", "TestSupport"], resources: [.copy("Fixtures")]),
        // The method's two networks and their optimizers against PyTorch (they live in WeakSupervision).
        .testTarget(name: "NetworkTests", dependencies: ["WeakSupervision", "NeuralCore", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "WeakSupervisionTests", dependencies: ["WeakSupervision", "CTVolume", "NeuralCore", "Metrics", "TestSupport", "PipelineTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ichctlTests", dependencies: ["ichctl", "TestSupport", "PipelineTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
