import CTVolume
import Foundation
import ImageCore
import Metrics
import NeuralCore

/// Stage 1: the ResNet-LSTM slice classifier, trained from the slice labels of the training
/// cases and validated on the validation cases, with the early stop of
/// ``PipelineConfig/ClassifierSettings``. Reads ``PipelineConfig/classifier``; trains on every
/// rank of a data-parallel run.
public struct ClassifierStage: PipelineStageRunner {
    /// The classifier stage's numbers.
    public struct Summary: PipelineStageSummary {
        /// Epochs trained.
        public var epochs: Int
        /// The epoch kept (0: none).
        public var bestEpoch: Int
        /// The validation slice AUC of the kept epoch (NaN without validation cases).
        public var validationAUC: Double
        /// Whether the early stop ended the training before its last epoch.
        public var earlyStopped: Bool

        /// A summary of these numbers.
        public init(epochs: Int, bestEpoch: Int, validationAUC: Double, earlyStopped: Bool) {
            self.epochs = epochs
            self.bestEpoch = bestEpoch
            self.validationAUC = validationAUC
            self.earlyStopped = earlyStopped
        }

        /// The summary a record's numbers give (``PipelineStageSummary/init(values:)``).
        public init(values: [String: Double]) {
            self.init(epochs: values.count("epochs"), bestEpoch: values.count("bestEpoch"),
                      validationAUC: values.number("validationAUC"), earlyStopped: values["earlyStopped"] == 1)
        }

        /// The numbers under the names stage records have always used.
        public var values: [String: Double] {
            ["epochs": Double(epochs), "bestEpoch": Double(bestEpoch), "validationAUC": validationAUC, "earlyStopped": earlyStopped ? 1 : 0]
        }

        /// Equal numbers, a NaN (a score that could not be computed) equal to a NaN.
        public static func == (a: Self, b: Self) -> Bool {
            a.epochs == b.epochs && a.bestEpoch == b.bestEpoch && a.earlyStopped == b.earlyStopped && a.validationAUC.sameSummaryNumber(b.validationAUC)
        }
    }

    /// The stage; it holds no settings of its own (``run(in:observer:)`` reads the pipeline's configuration).
    public init() {}

    public var stage: PipelineStage { .classifier }

    public var runsOnEveryRank: Bool { true }

    public var artefacts: [String] {
        ["classifier.safetensors", "classifier.resume.safetensors", "summary.json (TrainingSummary)"]
    }

    public func run(in pipeline: Pipeline, observer: @escaping (PipelineEvent) -> TrainingControl) throws -> PipelineStageOutcome<Summary> {
        let dataset = try pipeline.dataset(), split = try pipeline.split()
        let c = pipeline.config.classifier.training
        let windows = c.model.windows.map { Window(center: Float($0.center), width: Float($0.width)) }
        let names = split.train + split.validation
        var prepared: [PreparedCase] = []
        let items = try pipeline.cases(names, in: dataset)
        // a few cases at a time: reading and preprocessing are serial per case
        try forEachInOrderedChunks(count: items.count) { i in
            try PreparedCase(loading: items[i], size: c.model.inputSize, windows: windows)
        } deliver: { i, item in
            prepared.append(item)
            _ = observer(.progress(.classifier, done: i + 1, total: names.count, item: "prepared \(item.name)"))
        }
        let training = Array(prepared[..<split.train.count]), validation = Array(prepared[split.train.count...])
        let patience = pipeline.config.classifier.patience, minimum = pipeline.config.classifier.minimumEpochs
        final class Box: @unchecked Sendable { var sinceBest = 0; var early = false }
        let box = Box()
        let folder = pipeline.folder(.classifier)
        let summary = try ClassifierTrainer(config: c).train(
            training: training, validation: validation,
            outputs: TrainingOutputs(model: folder.appendingPathComponent("classifier.safetensors")),
            overwrite: true,
            observer: TrainingCallback { event in
                let control = observer(.training(.classifier, event))
                if case .epoch(let e) = event, let patience, e.validationScore != nil {
                    box.sinceBest = e.improved ? 0 : box.sinceBest + 1
                    if box.sinceBest >= patience && e.epoch < e.epochs && e.epoch >= minimum { box.early = true; return .stop }
                }
                return control
            }, communicator: pipeline.communicator)
        let stopped = summary.stopped && !box.early
        guard pipeline.isWriter else { return PipelineStageOutcome(summary: nil, stopped: stopped) }
        try pipeline.writeJSON(summary, to: folder.appendingPathComponent("summary.json"))
        return PipelineStageOutcome(summary: Summary(epochs: summary.epochsCompleted, bestEpoch: summary.bestEpoch ?? 0,
                                                     validationAUC: summary.bestScore ?? .nan, earlyStopped: box.early),
                                    stopped: stopped)
    }
}
