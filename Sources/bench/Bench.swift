import ArgumentParser
import Dispatch

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

/// The median wall time of `repeats` runs of `body` (at least one), in seconds, after one
/// untimed run when `warmUp`: every bench's timing loop.
func medianSeconds(repeats: Int, warmUp: Bool = true, _ body: () throws -> Void) rethrows -> Double {
    if warmUp { try body() }
    var samples: [Double] = []
    for _ in 0..<max(repeats, 1) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    return samples.sorted()[samples.count / 2]
}
