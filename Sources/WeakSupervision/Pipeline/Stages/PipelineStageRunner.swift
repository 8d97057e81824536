import Foundation

/// One stage of a pipeline run as a type: the stage it runs, the settings it reads, the
/// artefacts it writes under `OUT/<stage>/` and the typed summary its record keeps.
///
/// ``Pipeline/run(from:observer:)`` is the runner: it decides from the stage keys which stages
/// run, empties a stage's folder, calls ``run(in:observer:)`` and writes the stage's record
/// (``PipelineStageRecord``). The stages of a run are ``PipelineStage/runner``:
/// ``DataStage``, ``ClassifierStage``, ``CAMStage``, ``PseudoMaskStage``, ``RefinerStage``
/// (twice: on the pseudo-masks, and on the true masks for the upper bound) and
/// ``ComparisonStage``.
///
/// A new stage is a new case of ``PipelineStage`` (its order and dependencies), a type
/// conforming to this protocol, its settings as a group of ``PipelineConfig`` and their rows in
/// the stage-key table (`PipelineConfig+StageKeys.swift`; a test refuses a setting without one).
public protocol PipelineStageRunner: Sendable {
    /// The numbers the stage's record keeps.
    associatedtype Summary: PipelineStageSummary

    /// The stage this type runs.
    var stage: PipelineStage { get }

    /// Whether every rank of a data-parallel run takes part (the training stages), or rank 0
    /// alone while the others wait.
    var runsOnEveryRank: Bool { get }

    /// What the stage writes, relative to `OUT/<stage>/` (`NAME` stands for a case name).
    var artefacts: [String] { get }

    /// Runs the stage's work for `pipeline`: reads what earlier stages saved and writes into
    /// `pipeline.folder(stage)` (which the runner has emptied). Writes no record: call
    /// ``Pipeline/run(from:observer:)`` to run a stage with its record and invalidation.
    /// - Returns: the summary (nil on a rank that writes nothing), and whether the observer
    ///   stopped a training before it finished.
    func run(in pipeline: Pipeline, observer: @escaping (PipelineEvent) -> TrainingControl) throws -> PipelineStageOutcome<Summary>
}

extension PipelineStageRunner {
    /// The settings (``PipelineConfig/settings(readBy:in:)``) this stage and every stage it
    /// reads own: their change makes it run again. What a configuration's values add (with
    /// ``PipelineConfig/RefinerSettings/rounds`` above 1 the refiner also reads the comparison's
    /// growth, bone rim and contrast) is in ``settings(in:)``.
    public var settings: [String] { PipelineConfig.settings(readBy: stage) }

    /// The settings whose change makes this stage run again under `config`, exactly.
    public func settings(in config: PipelineConfig) -> [String] { PipelineConfig.settings(readBy: stage, in: config) }

    public var runsOnEveryRank: Bool { false }
}

/// What running one stage gave.
public struct PipelineStageOutcome<Summary: PipelineStageSummary>: Sendable {
    /// The numbers for the stage's record; nil on a rank of a data-parallel run that writes nothing.
    public var summary: Summary?
    /// Whether the observer stopped the stage's training before it finished (then nothing is
    /// recorded and the run throws ``WeakSupervisionError/stopped(stage:resumeFolder:)``).
    public var stopped: Bool

    /// An outcome.
    public init(summary: Summary?, stopped: Bool = false) {
        self.summary = summary
        self.stopped = stopped
    }
}

/// The typed numbers of a finished stage. Saved as the flat `"summary"` object of the stage's
/// `stage.json` (``PipelineStageRecord/summary``), name → number, so that records written before
/// the types existed read unchanged.
public protocol PipelineStageSummary: Sendable, Equatable {
    /// The numbers as the record keeps them.
    var values: [String: Double] { get }
    /// The summary of a saved record's numbers; a number the record lacks reads as NaN (a
    /// count or epoch as 0, a flag as false, an optional as nil).
    init(values: [String: Double])
}

extension [String: Double] {
    /// A count or epoch of a summary: 0 when missing or not finite.
    func count(_ key: String) -> Int {
        guard let v = self[key], v.isFinite else { return 0 }
        return Int(v)
    }

    /// A number of a summary: NaN when missing.
    func number(_ key: String) -> Double { self[key] ?? .nan }
}

extension Double {
    /// Equality of two numbers of a summary, NaN (a score that could not be computed) equal to
    /// NaN, so that a summary read back equals the one written.
    func sameSummaryNumber(_ other: Double) -> Bool { self == other || (isNaN && other.isNaN) }
}

extension PipelineStage {
    /// The type that runs this stage.
    public var runner: any PipelineStageRunner {
        switch self {
        case .data: return DataStage()
        case .classifier: return ClassifierStage()
        case .cams: return CAMStage()
        case .pseudoMasks: return PseudoMaskStage()
        case .refiner: return RefinerStage.pipeline
        case .upperBound: return RefinerStage.upperBound
        case .comparison: return ComparisonStage()
        }
    }
}
