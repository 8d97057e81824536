// ThresholdStudy: does my own CAM threshold make better pseudo-masks than the built-in ones?
//
//     swift run ThresholdStudy [OUT] [--cases N] [--size S] [--epochs E]
//
// Runs the ichct pipeline on a small phantom set (public API only), then compares, on the
// sealed test cases, the pseudo-masks made with the built-in thresholds (fixed 0.3, Otsu, 90th
// percentile) and with a threshold defined below in a few lines, beside the pipeline's own rows.

import CTVolume
import Foundation
import Metrics
import NeuralCore
import WeakSupervision

/// My threshold: keep CAM values more than one standard deviation above the slice's mean
/// (inside the intracranial mask).
struct MeanPlusSD: MapThreshold {
    func cutoff(for values: [Float]) -> Float {
        let n = Float(values.count)
        let mean = values.reduce(0, +) / n
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
        return mean + variance.squareRoot()
    }
}

/// Gives any segmenter its own row name.
// Options.
let arguments = Array(CommandLine.arguments.dropFirst())
func option(_ flag: String, _ fallback: Int) -> Int {
    guard let i = arguments.firstIndex(of: flag), i + 1 < arguments.count, let v = Int(arguments[i + 1]) else { return fallback }
    return v
}
let cases = option("--cases", 8), size = option("--size", 64), epochs = option("--epochs", 2)
let positional = arguments.enumerated().filter { i, a in !a.hasPrefix("--") && (i == 0 || !arguments[i - 1].hasPrefix("--")) }.map(\.element)
let out = URL(fileURLWithPath: positional.first ?? FileManager.default.temporaryDirectory
    .appendingPathComponent("threshold-study-\(ProcessInfo.processInfo.processIdentifier)").path)

// A small configuration: the quick preset, shrunk.
var config = PipelineConfig.quick
config.data.phantomCases = cases
config.data.phantom.size = size
config.data.phantom.slices = 8...10
config.data.testFraction = 0          // the test cases are a sealed set of their own seed
config.data.sealedTest = .init(phantomCases: max(2, cases / 4), phantomSeed: 7)
config.data.validationFraction = 0.2
config.classifier.training.model = ResNetLSTMConfig(inputSize: 32, width: 4, blocks: [1, 1, 1, 1], hidden: 8)
config.classifier.training.epochs = epochs
config.refiner.training.model = UNetLiteConfig(inputSize: 32, widths: [4, 8])
config.refiner.training.epochs = epochs
config.cam.layer = "layer2"
config.comparison.montageCases = 1

let start = Date()
let pipeline = try Pipeline(config: config, output: out, overwrite: true)
let builtIn = try pipeline.run { event in
    if case .finished(let stage, let seconds, _) = event {
        FileHandle.standardError.write(Data("\(stage.rawValue): \(String(format: "%.1f", seconds)) s\n".utf8))
    }
    return .proceed
}
print("The pipeline's own table:\n")
print(builtIn.text())

// The same held-out cases, pseudo-masks with each threshold.
let held = try pipeline.comparisonCases(try pipeline.testCases())
let thresholds: [(String, any MapThreshold)] = [
    ("fixed 0.3", FixedThreshold(0.3)), ("Otsu", OtsuThreshold()), ("90th percentile", try PercentileThreshold(90)),
    ("mine: mean + 1 sd", MeanPlusSD()),
]
var rows: [any Segmenter] = []
for (label, threshold) in thresholds {
    // The pipeline's own recipe (its features, tissue range and slice opening), my threshold.
    rows.append(try config.pseudoMasks.segmenter(threshold: threshold).named("pseudo-masks, \(label)"))
    rows.append(CAMBaseline(threshold: threshold).named("CAM alone, \(label)"))
}
let table = try MethodComparison.run(methods: rows, cases: held, tolerance: config.comparison.tolerance)
print("Thresholds compared on the same \(held.count) held-out cases:\n")
print(table.text())
let best = table.rows.filter { $0.method.hasPrefix("pseudo-masks") }.max { a, b in
    (a.meanDice.isNaN ? -1 : a.meanDice) < (b.meanDice.isNaN ? -1 : b.meanDice)
}
print("best pseudo-mask threshold here: \(best?.method ?? "none") (tiny networks: a smoke test, not a result)")
print(String(format: "total %.1f s; artefacts in %@", Date().timeIntervalSince(start), out.path))
