import CTVolume
import Foundation
import ImageCore
import Metrics
import NeuralCore

/// Stages 3 and 4: the pseudo-masks of the training and validation cases, from their CAMs,
/// the CAM classifier's slice probabilities (or, with ``PipelineConfig/PseudoMaskSettings/positiveSlices``
/// `.labels`, their weak labels) and k-means on intensities (``PipelineConfig/PseudoMaskSettings/pseudoMask(of:labels:)``).
/// The probabilities are ``Pipeline/camProbabilities()``: a slice-call classifier
/// (``PipelineConfig/ClassifierSettings/sliceCalls``) leaves them, and so the pseudo-masks, as they were.
/// Reads ``PipelineConfig/pseudoMasks``.
public struct PseudoMaskStage: PipelineStageRunner {
    /// The pseudo-mask stage's numbers.
    public struct Summary: PipelineStageSummary {
        /// Cases given a pseudo-mask.
        public var cases: Int
        /// Mean pseudo-mask voxels per case.
        public var voxelsPerCase: Double
        /// Mean Dice of the pseudo-masks against the true masks of the positive cases that have
        /// one (NaN without): reported only, never used by training.
        public var trainingDice: Double

        /// A summary of these numbers.
        public init(cases: Int, voxelsPerCase: Double, trainingDice: Double) {
            self.cases = cases
            self.voxelsPerCase = voxelsPerCase
            self.trainingDice = trainingDice
        }

        /// The summary a record's numbers give (``PipelineStageSummary/init(values:)``).
        public init(values: [String: Double]) {
            self.init(cases: values.count("cases"), voxelsPerCase: values.number("voxelsPerCase"), trainingDice: values.number("trainingDice"))
        }

        /// The numbers under the names stage records have always used.
        public var values: [String: Double] { ["cases": Double(cases), "voxelsPerCase": voxelsPerCase, "trainingDice": trainingDice] }

        /// Equal numbers, a NaN (a score that could not be computed) equal to a NaN.
        public static func == (a: Self, b: Self) -> Bool {
            a.cases == b.cases && a.voxelsPerCase.sameSummaryNumber(b.voxelsPerCase) && a.trainingDice.sameSummaryNumber(b.trainingDice)
        }
    }

    /// The stage; it holds no settings of its own (``run(in:observer:)`` reads the pipeline's configuration).
    public init() {}

    public var stage: PipelineStage { .pseudoMasks }

    public var artefacts: [String] { ["NAME.nii.gz (the pseudo-mask of each training and validation case)"] }

    public func run(in pipeline: Pipeline, observer: @escaping (PipelineEvent) -> TrainingControl) throws -> PipelineStageOutcome<Summary> {
        let dataset = try pipeline.dataset(), split = try pipeline.split(), probabilities = try pipeline.camProbabilities()
        let settings = pipeline.config.pseudoMasks
        _ = try settings.segmenter()   // a bad setting fails before the first case
        let folder = pipeline.folder(.pseudoMasks)
        let names = split.train + split.validation
        var dice: [Double] = [], voxels = 0
        let items = try pipeline.cases(names, in: dataset)
        // A few cases at a time (each case's mask depends on its own files only); the summary
        // adds them up in case order.
        try forEachInOrderedChunks(count: items.count) { i -> (voxels: Int, dice: Double?) in
            let item = items[i]
            let scan = try item.loadScan()
            let mask = try settings.pseudoMask(of: SegmentationCase(
                name: item.name, scan: scan, intracranial: try pipeline.intracranial(item.name), cam: try pipeline.cam(item.name),
                sliceProbabilities: probabilities[item.name]), labels: { try item.sliceLabels() })
            try NIfTI.write(mask, to: folder.appendingPathComponent("\(item.name).nii.gz"), overwrite: true, descrip: "ichct pseudo-mask")
            // Reported only (how good the weak targets are); never used by training.
            var dice: Double?
            if let truth = try item.loadMask(), truth.voxels.contains(where: { $0 > 0 }) {
                dice = ConfusionCounts(prediction: mask.voxels.map { $0 > 0 }, truth: truth.voxels.map { $0 > 0 }).dice
            }
            return (mask.voxels.reduce(0) { $0 + Int($1) }, dice)
        } deliver: { i, result in
            voxels += result.voxels
            if let d = result.dice { dice.append(d) }
            _ = observer(.progress(.pseudoMasks, done: i + 1, total: names.count, item: items[i].name))
        }
        return PipelineStageOutcome(summary: Summary(cases: names.count, voxelsPerCase: Double(voxels) / Double(max(names.count, 1)),
                                                     trainingDice: dice.isEmpty ? .nan : dice.reduce(0, +) / Double(dice.count)))
    }
}
