import ArgumentParser

/// `bench`: release-build benchmarks of ichct, run side by side with the Python peers by
/// `scripts/bench/*.sh`. Each subcommand prints one JSON object on stdout.
///
///     swift run -c release bench <name> [options]
@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks of ichct (use a release build).",
        subcommands: [BenchNIfTI.self, BenchDICOM.self, KMeansBench.self, PseudoMaskBench.self, BenchMetrics.self, BenchPreprocess.self, BenchNetworks.self, BenchPhantom.self, BenchLayers.self, BenchConvPeak.self]
    )
}
