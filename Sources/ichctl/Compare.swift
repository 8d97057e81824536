import ArgumentParser
import CTVolume
import Foundation
import Metrics
import WeakSupervision

/// `ichctl compare`: the comparison table of Docs/method.md#6-the-comparison. A thin wrapper over
/// ``Pipeline/compare(_:extra:statistics:subtypes:visit:keep:)`` on the dataset's cases.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare every method (baselines, pseudo-masks, full pipeline, upper bound) on held-out cases.",
        discussion: """
            --data is either a pipeline run folder (from `ichctl demo`): its test cases are \
            compared with its models (or, with --split validation, its validation cases: no \
            sealed number computed); or a dataset (INSTANCE layout with label/ masks): all its \
            cases are compared with the models of the run given by --run. One row per method, \
            the metrics of Metrics over positive cases, false-positive voxels over negative \
            cases, and the time each method took per case; then every row's mean Dice with its \
            bootstrap interval, Dice by true volume (and subtype, for phantom sets), lesion \
            detection, volume agreement, and the paired Dice differences of the weak rows against \
            their references with Wilcoxon p-values (Docs/evaluation.md).
            """)

    @Option(name: .long, help: "A run folder, or a dataset folder (then --run).")
    var data: String

    @Option(name: .customLong("run"), help: "The run folder whose models and settings to use when --data is a dataset.")
    var runFolder: String?

    @Option(name: .long, help: "With a run folder as --data: score its test cases (test, the default: the sealed set, to report) or its validation cases (validation: where choices are made; no sealed number is computed).")
    var split: SplitChoice = .test

    enum SplitChoice: String, ExpressibleByArgument, CaseIterable { case test, validation }

    @Flag(name: .long, help: "Progress on stderr even off a terminal.")
    var progress = false

    @Flag(name: .long, help: "Print the table as JSON on stdout.")
    var json = false

    @Option(help: "Also write every case of every row as CSV to this file.")
    var csv: String?

    @Option(name: .customLong("summary-csv"), help: "Also write one line per row (intervals, strata, detection, volume agreement) and per paired difference as CSV to this file.")
    var summaryCSV: String?

    @Option(help: "Also write a self-contained HTML report (table, forest plot, paired differences, Dice against volume) to this file.")
    var report: String?

    @Flag(help: "Replace existing --csv, --summary-csv and --report files.")
    var force = false

    @OptionGroup var statistics: StatisticsOptions

    func run() throws {
        let dataURL = URL(fileURLWithPath: data)
        let isRun = FileManager.default.fileExists(atPath: dataURL.appendingPathComponent("config.json").path)
        guard isRun || runFolder != nil else {
            throw CLIError.invalid("\(data): not a pipeline run folder (no config.json); pass --run RUN to compare a dataset with a run's models")
        }
        let outputs = [csv, summaryCSV, report].compactMap { $0 }.map { URL(fileURLWithPath: $0) }
        for url in outputs { try CLI.checkOutput(url, force: force) }
        let own = isRun && runFolder == nil   // the run's own test (or validation) cases
        if split == .validation && !own {
            throw CLIError.invalid("--split validation scores a run's own validation cases: pass the run folder as --data, without --run")
        }
        let runURL = own ? dataURL : URL(fileURLWithPath: runFolder!)
        let pipeline = try Pipeline(config: try Pipeline.savedConfig(in: runURL), output: runURL)
        let reporter = ProgressReporter(forced: progress)
        let items: [DatasetCase]
        if own {
            items = split == .validation ? try pipeline.validationCases() : try pipeline.testCases()
        } else {
            items = try Dataset(root: dataURL, requireMasks: true).cases
        }
        // the cases stream through the rows, one loaded ahead: memory for a few cases, any number of them
        var table = try pipeline.compare(items, statistics: statistics.settings,
                                         subtypes: own ? nil : Pipeline.subtypes(inDataset: dataURL),
                                         visit: { i, c in reporter.report("case \(i + 1)/\(items.count) \(c.input.name)") })
        table.evaluatedOn = own
            ? (split == .validation ? pipeline.validationSetDescription(split: try pipeline.split()) : pipeline.testSetDescription(split: try pipeline.split()))
            : "\(items.count) cases of \(dataURL.path) (all its cases)"
        if let csv { try Data(table.csv().utf8).write(to: URL(fileURLWithPath: csv), options: .atomic) }
        if let summaryCSV { try Data(table.summaryCSV().utf8).write(to: URL(fileURLWithPath: summaryCSV), options: .atomic) }
        if let report {
            try Data(table.html(title: "ichct comparison: \(dataURL.lastPathComponent) with \(runURL.lastPathComponent)").utf8)
                .write(to: URL(fileURLWithPath: report), options: .atomic)
        }
        if json { try CLI.printJSON(table) } else { print(table.text(), terminator: "") }
    }
}
