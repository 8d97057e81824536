import Foundation
import Metrics

/// The same pipeline trained with several seeds on the same data: how much of a row's Dice is
/// the seed's. Replicate `k` (1-based) is ``PipelineReplicates/config(_:replicate:)`` of the base:
/// the classifier's and the refiner's seeds (the upper bound's too, it shares the refiner's
/// settings) moved by `k - 1`; data, split and every other setting stay. Each replicate is a
/// whole run in `OUT/replicate-k/`; replicates after the first share the first one's data
/// stage (a symbolic link `replicate-k/data -> ../replicate-1/data`), since the data settings
/// are the same.
///
/// ```swift
/// let summary = try PipelineReplicates(config: .full, output: URL(filePath: "runs/seeds"), count: 3).run()
/// print(summary.text())
/// ```
public struct PipelineReplicates {
    /// The configuration of replicate 1.
    public let config: PipelineConfig
    /// The folder holding `replicate-1/ ... replicate-N/` and `replicates.json`, `replicates.txt`.
    public let output: URL
    /// Number of replicates.
    public let count: Int
    /// Replace folders made with another configuration (as ``Pipeline/init(config:output:overwrite:)``).
    public let overwrite: Bool
    /// The bootstrap of the pooled intervals.
    public let bootstrap: BootstrapSettings

    /// Replicates of `config`.
    /// - Throws: fewer than 1 replicate, an invalid configuration or bootstrap.
    public init(config: PipelineConfig, output: URL, count: Int, overwrite: Bool = false,
                bootstrap: BootstrapSettings = BootstrapSettings()) throws {
        guard count >= 1 else { throw WeakSupervisionError.invalidParameter(name: "replicates", reason: "\(count): need at least 1") }
        try config.validate()
        try bootstrap.validate()
        self.config = config
        self.output = output
        self.count = count
        self.overwrite = overwrite
        self.bootstrap = bootstrap
    }

    /// Replicate `k` of `base` (1-based): classifier and refiner seeds plus `k - 1`.
    public static func config(_ base: PipelineConfig, replicate k: Int) -> PipelineConfig {
        var c = base
        c.classifier.training.seed &+= UInt64(k - 1)
        c.refiner.training.seed &+= UInt64(k - 1)
        return c
    }

    /// The run folder of replicate `k`.
    public func folder(_ k: Int) -> URL { output.appendingPathComponent("replicate-\(k)") }

    /// Runs (or reuses) every replicate in turn, then summarises them.
    /// - Parameter observer: receives the replicate number and each of its events.
    /// - Returns: the summary, also written as `replicates.json` and `replicates.txt`.
    @discardableResult
    public func run(observer: @escaping (Int, PipelineEvent) -> TrainingControl = { _, _ in .proceed }) throws -> ReplicateSummary {
        var tables: [ComparisonTable] = []
        try eachReplicate { k, pipeline in tables.append(try pipeline.run { observer(k, $0) }) }
        let summary = ReplicateSummary(tables: tables, seeds: (1...count).map {
            let c = Self.config(config, replicate: $0)
            return [c.classifier.training.seed, c.refiner.training.seed]
        }, bootstrap: bootstrap)
        try ComparisonTable.encoder.encode(summary).write(to: output.appendingPathComponent("replicates.json"), options: .atomic)
        try Data(summary.text().utf8).write(to: output.appendingPathComponent("replicates.txt"), options: .atomic)
        return summary
    }

    /// Runs (or reuses) every replicate in turn up to and including `last`
    /// (``Pipeline/run(from:through:observer:)``): with `last` before the comparison, no sealed
    /// number is computed, and the replicates can be judged on validation cases
    /// (``ReplicateComparison`` of their tables on them). Nothing is summarised.
    public func run(through last: PipelineStage, observer: @escaping (Int, PipelineEvent) -> TrainingControl = { _, _ in .proceed }) throws {
        try eachReplicate { k, pipeline in try pipeline.run(through: last) { observer(k, $0) } }
    }

    /// Builds each replicate's pipeline (replicates after the first linking the first one's
    /// data stage) and hands it to `body`, in replicate order.
    private func eachReplicate(_ body: (Int, Pipeline) throws -> Void) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: output, withIntermediateDirectories: true)
        for k in 1...count {
            let c = Self.config(config, replicate: k)
            let pipeline = try Pipeline(config: c, output: folder(k), overwrite: overwrite)
            if k > 1 {
                let first = try Pipeline(config: Self.config(config, replicate: 1), output: folder(1))
                let link = pipeline.folder(.data)
                let linked = (try? fm.destinationOfSymbolicLink(atPath: link.path)) != nil
                if !linked && !fm.fileExists(atPath: link.path) && first.isReusable(.data) {
                    try fm.createDirectory(at: folder(k), withIntermediateDirectories: true)
                    try fm.createSymbolicLink(atPath: link.path, withDestinationPath: "../replicate-1/data")
                }
            }
            try body(k, pipeline)
        }
    }
}

/// Rows of several replicates of one pipeline: mean Dice per replicate, their mean ± sd across
/// seeds, and the pooled interval over cases of the per-case Dice averaged over replicates.
public struct ReplicateSummary: Sendable, Codable {
    /// One method across replicates.
    public struct Row: Sendable, Codable {
        /// The row's name.
        public var method: String
        /// Mean Dice over positive cases, per replicate.
        public var dicePerReplicate: [Double]
        /// Mean of ``dicePerReplicate``.
        public var mean: Double
        /// Sample standard deviation of ``dicePerReplicate`` (NaN for one replicate).
        public var standardDeviation: Double
        /// Each positive case's Dice averaged over the replicates, then bootstrapped over cases.
        public var pooled: ConfidenceInterval
    }

    /// Number of replicates.
    public var replicates: Int
    /// `[classifier seed, refiner seed]` of each replicate.
    public var seeds: [[UInt64]]
    /// One entry per method present in every replicate, in the first table's order.
    public var rows: [Row]
    /// The classifier's slice AUC per replicate (NaN where unknown).
    public var aucPerReplicate: [Double]
    /// What the tables were evaluated on (the first table's).
    public var evaluatedOn: String?

    /// The summary of tables made on the same cases.
    /// - Precondition: at least one table; the tables list the same cases.
    public init(tables: [ComparisonTable], seeds: [[UInt64]], bootstrap: BootstrapSettings = BootstrapSettings()) {
        precondition(!tables.isEmpty, "ReplicateSummary: no table")
        precondition(tables.allSatisfy { $0.caseNames == tables[0].caseNames }, "ReplicateSummary: tables on different cases")
        replicates = tables.count
        self.seeds = seeds
        evaluatedOn = tables[0].evaluatedOn
        aucPerReplicate = tables.map { $0.classification?.auc ?? .nan }
        rows = tables[0].rows.compactMap { first in
            let all = tables.compactMap { $0[first.method] }
            guard all.count == tables.count else { return nil }
            let means = all.map(\.meanDice)
            let summary = MetricSummary(means)
            let positive = first.cases.indices.filter { first.cases[$0].scores.truthVolumeML > 0 }
            let averaged = positive.map { i in NumPyReductions.mean(all.map { $0.cases[i].scores.dice }) }
            return Row(method: first.method, dicePerReplicate: means, mean: summary.mean, standardDeviation: summary.standardDeviation,
                       pooled: Bootstrap.meanInterval(averaged, settings: bootstrap))
        }
    }

    /// A table: per method the mean Dice of each replicate, mean ± sd across seeds, and the
    /// pooled interval; then the classifier's AUC per replicate.
    public func text() -> String {
        func f(_ v: Double) -> String { v.isNaN ? "nan" : String(format: "%.3f", v) }
        var lines: [[String]] = [["method"] + (1...replicates).map { "seed \($0)" } + ["mean ± sd", "pooled [95% CI]"]]
        for r in rows {
            lines.append([r.method] + r.dicePerReplicate.map(f) + ["\(f(r.mean)) ± \(f(r.standardDeviation))",
                                                                  "\(f(r.pooled.estimate)) [\(f(r.pooled.lower)), \(f(r.pooled.upper))]"])
        }
        var out = ComparisonTable.align(lines)
        out.append("")
        out.append("\(replicates) replicates (classifier, refiner seeds: \(seeds.map { "\($0)" }.joined(separator: ", "))) on the same data; "
                   + "Dice over positive cases. mean ± sd: across seeds. pooled: each case's Dice averaged over seeds, "
                   + "bootstrapped over cases.")
        out.append("classifier slice AUC per replicate: " + aucPerReplicate.map(f).joined(separator: ", "))
        if let evaluatedOn { out.append("evaluated on: \(evaluatedOn)") }
        return out.joined(separator: "\n") + "\n"
    }
}
