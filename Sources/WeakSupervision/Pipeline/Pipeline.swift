import CTVolume
import Foundation
import Metrics
import NeuralCore

/// The whole method, stage by stage, from one ``PipelineConfig``: data → classifier → CAMs →
/// pseudo-masks → refiner → upper bound → comparison (``PipelineStage``). Every stage writes its
/// artefacts under `OUT/<stage>/` and a manifest; a later run reuses every stage whose manifest
/// matches the configuration, and ``run(from:)`` re-runs from any stage.
///
/// ```swift
/// let pipeline = try Pipeline(config: .quick, output: URL(filePath: "runs/quick"))
/// let table = try pipeline.run { event in print(event) }
/// print(table.text())
/// // later: only the refiner and what follows it
/// _ = try Pipeline(config: .quick, output: URL(filePath: "runs/quick")).run(from: .refiner)
/// ```
///
/// The configuration is saved as `OUT/config.json`. A folder made with another configuration is
/// refused (``WeakSupervisionError/invalidParameter(name:reason:)`` naming the folder and the
/// stages it would invalidate) unless `overwrite` is set; then the stages whose configuration
/// changed, and those that depend on them, run again.
public struct Pipeline {
    /// The run's every choice.
    public let config: PipelineConfig
    /// The run's folder.
    public let output: URL
    /// Replace a folder made with another configuration (default false).
    public let overwrite: Bool
    /// The ranks of a data-parallel run (nil: this process alone). The training stages
    /// (classifier, refiner, upper bound) run on every rank (``ClassifierTrainer``'s
    /// `communicator`); every other stage, the component choice after a refiner's training and
    /// every file and record are rank 0's, while the other ranks wait for it. Every rank must run
    /// the same pipeline on the same folder (a file system they all see). An error thrown on one
    /// rank alone (a stage only rank 0 runs, a file it cannot write) leaves the others waiting in
    /// a collective: the caller must end them (`ichctl` calls `MPI_Abort`). ``run(from:observer:)``
    /// begins with a barrier, so whatever a rank checks in the folder before it calls `run` sees
    /// the folder as it was before any rank wrote to it.
    public var communicator: (any Communicator)? = nil

    /// Whether this process writes the run's files (rank 0, or no communicator).
    var isWriter: Bool { communicator?.isWriter ?? true }

    /// Waits for every rank (no-op without a communicator).
    private func synchronize() { communicator?.barrier() }

    /// A pipeline writing into `output` (created when missing).
    /// - Throws: an invalid configuration; a folder made with another configuration, unless `overwrite`.
    public init(config: PipelineConfig, output: URL, overwrite: Bool = false) throws {
        try config.validate()
        self.config = config
        self.output = output
        self.overwrite = overwrite
        if let saved = try? Self.savedConfig(in: output), saved != config, !overwrite {
            let stale = PipelineStage.allCases.filter { s in
                (try? record(s)).flatMap { $0 }.map { $0.configKey != configKey(s) } ?? false
            }
            throw WeakSupervisionError.invalidParameter(
                name: output.path,
                reason: "this folder holds a run made with another configuration (\(Self.configURL(in: output).path) differs; "
                    + "stages it would invalidate: \(stale.isEmpty ? "none" : stale.map(\.rawValue).joined(separator: ", "))). Use another folder, or overwrite (--force)")
        }
    }

    /// The configuration saved in a run folder (`OUT/config.json`).
    /// - Throws: as ``PipelineConfig/load(contentsOf:)``, naming the file.
    public static func savedConfig(in output: URL) throws -> PipelineConfig {
        try PipelineConfig.load(contentsOf: configURL(in: output))
    }

    static func configURL(in output: URL) -> URL { output.appendingPathComponent("config.json") }

    /// The comparison table a finished run saved on its sealed test cases
    /// (`OUT/comparison/comparison.json`, ``ComparisonTable/jsonData()``).
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` naming the folder when it
    ///   holds no saved table (not a run, or its comparison stage has not finished); decoding
    ///   errors of a damaged file.
    public static func savedTable(in output: URL) throws -> ComparisonTable {
        let url = tableURL(in: output)
        guard let data = try? Data(contentsOf: url) else {
            throw WeakSupervisionError.invalidParameter(
                name: output.path, reason: "no comparison table saved as comparison/comparison.json (not a run, or its comparison stage has not finished)")
        }
        return try ComparisonTable.decode(data)
    }

    static func tableURL(in output: URL) -> URL { output.appendingPathComponent(PipelineStage.comparison.rawValue).appendingPathComponent("comparison.json") }

    /// The folder of a stage's artefacts.
    public func folder(_ stage: PipelineStage) -> URL { output.appendingPathComponent(stage.rawValue) }

    /// The saved manifest of a stage, or nil when the stage has not completed.
    public func record(_ stage: PipelineStage) throws -> PipelineStageRecord? {
        try readJSON(PipelineStageRecord.self, from: folder(stage).appendingPathComponent("stage.json"))
    }

    /// A JSON file written by ``writeJSON(_:to:)`` (non-finite numbers as strings), or nil when
    /// the file does not exist.
    func readJSON<T: Decodable>(_ type: T.Type, from url: URL) throws -> T? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(T.self, from: Data(contentsOf: url))
    }

    /// Whether a stage's saved artefacts exist and match the current configuration.
    public func isReusable(_ stage: PipelineStage) -> Bool {
        guard let r = (try? record(stage)) ?? nil else { return false }
        return r.configKey == configKey(stage)
    }

    /// The JSON of the configuration parts `stage` (and the stages it reads) depends on, derived
    /// from one table that assigns every setting to its stages
    /// (``PipelineConfig/settings(readBy:in:)`` lists them).
    public func configKey(_ stage: PipelineStage) -> String { config.stageKey(stage) }

    /// Runs the stages and returns the comparison table.
    ///
    /// - Parameters:
    ///   - from: re-run this stage and every later one; the earlier ones must have completed
    ///     with this configuration. `nil` (default): run every stage whose saved artefacts do
    ///     not match, and every stage that reads one that ran.
    ///   - observer: receives ``PipelineEvent``s; returning `.stop` from a training event stops
    ///     that training (its resume file is written) and the run after it.
    /// - Throws: an earlier stage missing for `from`, and every error of the stages.
    @discardableResult
    public func run(from: PipelineStage? = nil,
                    observer: @escaping (PipelineEvent) -> TrainingControl = { _ in .proceed }) throws -> ComparisonTable {
        try runStages(from: from, through: .comparison, observer: observer)
        return try Self.savedTable(in: output)
    }

    /// Runs the stages as ``run(from:observer:)`` does, up to and including `last`, and stops.
    ///
    /// With `last` before ``PipelineStage/comparison`` no sealed test case is segmented or
    /// scored: a run can be trained as far as its refiner and judged on validation cases
    /// (``compare(_:extra:statistics:subtypes:visit:keep:)`` on them, `ichctl compare --data
    /// VALIDATION --run OUT`) without a sealed number being computed. The data stage still
    /// writes the sealed cases (their images and masks are not read by any later stage up to
    /// `last`). A later ``run(from:observer:)`` reuses every stage this one finished.
    ///
    /// - Throws: `from` after `last`, an earlier stage missing for `from`, and every error of the stages.
    public func run(from: PipelineStage? = nil, through last: PipelineStage,
                    observer: @escaping (PipelineEvent) -> TrainingControl = { _ in .proceed }) throws {
        try runStages(from: from, through: last, observer: observer)
    }

    private func runStages(from: PipelineStage?, through last: PipelineStage,
                           observer: @escaping (PipelineEvent) -> TrainingControl) throws {
        if let from, from > last {
            throw WeakSupervisionError.invalidParameter(
                name: "through", reason: "stage \(last.rawValue) comes before the first stage to run, \(from.rawValue)")
        }
        // every rank has built its Pipeline (and a caller has checked the folder) before rank 0 writes
        synchronize()
        if isWriter {
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            try writeJSON(config, to: Self.configURL(in: output))
        }
        var ran = Set<PipelineStage>()
        for stage in PipelineStage.allCases where stage <= last {
            // every rank decides from the files rank 0 has finished writing
            synchronize()
            if stage == .upperBound && !config.refiner.upperBound { continue }
            if let from, stage < from {
                guard isReusable(stage) else {
                    throw WeakSupervisionError.invalidParameter(
                        name: folder(stage).path,
                        reason: "stage \(stage.rawValue) has no saved result made with this configuration; run from \(stage.rawValue) or earlier")
                }
                _ = observer(.stage(stage, reused: true))
                continue
            }
            let mustRun = from != nil || !isReusable(stage) || stage.dependencies.contains(where: ran.contains)
                || stage.dependencies.contains { d in (d != .upperBound || config.refiner.upperBound) && !isReusable(d) }
            if !mustRun {
                _ = observer(.stage(stage, reused: true))
                continue
            }
            ran.insert(stage)
            _ = observer(.stage(stage, reused: false))
            let start = Date()
            if isWriter {
                try? FileManager.default.removeItem(at: folder(stage))
                try FileManager.default.createDirectory(at: folder(stage), withIntermediateDirectories: true)
            }
            synchronize()
            // the other ranks take part in the training stages only
            let runner = stage.runner
            guard isWriter || runner.runsOnEveryRank else { continue }
            let (summary, stopped) = try perform(runner, observer: observer)
            if stopped {
                throw WeakSupervisionError.stopped(stage: stage.rawValue, resumeFolder: folder(stage).path)
            }
            guard isWriter, let summary else { continue }
            let seconds = Date().timeIntervalSince(start)
            let record = PipelineStageRecord(stage: stage, configKey: configKey(stage), seconds: seconds, summary: summary.values,
                                             finished: ISO8601DateFormatter().string(from: Date()))
            try writeJSON(record, to: folder(stage).appendingPathComponent("stage.json"))
            _ = observer(.finished(stage, seconds: seconds, summary: summary))
        }
        synchronize()
    }

    /// Runs one stage type, its summary type erased for the record.
    private func perform<R: PipelineStageRunner>(_ runner: R, observer: @escaping (PipelineEvent) -> TrainingControl) throws
        -> (summary: (any PipelineStageSummary)?, stopped: Bool) {
        let outcome = try runner.run(in: self, observer: observer)
        return (outcome.summary, outcome.stopped)
    }

    /// The typed summary of a finished stage, e.g. `try pipeline.summary(ClassifierStage())?.validationAUC`;
    /// nil when the stage has not completed.
    /// - Throws: a record that exists but does not decode.
    public func summary<R: PipelineStageRunner>(_ runner: R) throws -> R.Summary? {
        try record(runner.stage).map { R.Summary(values: $0.summary) }
    }

    func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try encoder.encode(value).write(to: url, options: .atomic)
    }
}
