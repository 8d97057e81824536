import ArgumentParser
import CTVolume
import Foundation
import WeakSupervision

/// `ichctl compare`: the comparison table of method.md section 10. A thin wrapper over
/// ``Pipeline/compare(_:extra:keep:)``.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare every method (baselines, pseudo-masks, full pipeline, upper bound) on held-out cases.",
        discussion: """
            --data is either a pipeline run folder (from `ichctl demo`): its test cases are \
            compared with its models; or a dataset (INSTANCE layout with label/ masks): all its \
            cases are compared with the models of the run given by --run. One row per method, \
            the metrics of Metrics over positive cases, false-positive voxels over negative \
            cases, and the time each method took per case.
            """)

    @Option(name: .long, help: "A run folder, or a dataset folder (then --run).")
    var data: String

    @Option(name: .customLong("run"), help: "The run folder whose models and settings to use when --data is a dataset.")
    var runFolder: String?

    @Flag(name: .long, help: "Progress on stderr even off a terminal.")
    var progress = false

    @Flag(name: .long, help: "Print the table as JSON on stdout.")
    var json = false

    func run() throws {
        let dataURL = URL(fileURLWithPath: data)
        let isRun = FileManager.default.fileExists(atPath: dataURL.appendingPathComponent("config.json").path)
        guard isRun || runFolder != nil else {
            throw CLIError.invalid("\(data): not a pipeline run folder (no config.json); pass --run RUN to compare a dataset with a run's models")
        }
        let runURL = isRun && runFolder == nil ? dataURL : URL(fileURLWithPath: runFolder!)
        let pipeline = try Pipeline(config: try Pipeline.savedConfig(in: runURL), output: runURL)
        let reporter = ProgressReporter(forced: progress)
        let items: [DatasetCase]
        if isRun && runFolder == nil {
            let dataset = try pipeline.dataset()
            items = try pipeline.split().test.map { name in
                guard let c = dataset[name] else { throw CLIError.invalid("\(dataset.root.path): test case \(name) is missing") }
                return c
            }
        } else {
            items = try Dataset(root: dataURL, requireMasks: true).cases
        }
        let cases = try pipeline.comparisonCases(items) { done, total, name in reporter.report("loaded \(done)/\(total) \(name)") }
        let table = try pipeline.compare(cases)
        if json { try CLI.printJSON(table) } else { print(table.text(), terminator: "") }
    }
}
