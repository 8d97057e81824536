import CTVolume
import Foundation
import ImageCore
import Metrics
import NeuralCore

/// Stage 1: the ResNet-LSTM slice classifier, trained from the slice labels of the training
/// cases and validated on the validation cases, with the early stop of
/// ``PipelineConfig/ClassifierSettings``. Reads ``PipelineConfig/classifier``; trains on every
/// rank of a data-parallel run. With ``PipelineConfig/ClassifierSettings/sliceCalls`` it then
/// fine-tunes a copy of the kept network for the run's slice calls, on the same cases, into
/// ``sliceCallFolder(in:)``; the kept network stays the CAM classifier.
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
        /// The validation slice AUC of the slice-call classifier's kept epoch
        /// (``PipelineConfig/ClassifierSettings/sliceCalls``); nil without one.
        public var sliceCallAUC: Double?

        /// A summary of these numbers.
        public init(epochs: Int, bestEpoch: Int, validationAUC: Double, earlyStopped: Bool, sliceCallAUC: Double? = nil) {
            self.epochs = epochs
            self.bestEpoch = bestEpoch
            self.validationAUC = validationAUC
            self.earlyStopped = earlyStopped
            self.sliceCallAUC = sliceCallAUC
        }

        /// The summary a record's numbers give (``PipelineStageSummary/init(values:)``).
        public init(values: [String: Double]) {
            self.init(epochs: values.count("epochs"), bestEpoch: values.count("bestEpoch"),
                      validationAUC: values.number("validationAUC"), earlyStopped: values["earlyStopped"] == 1,
                      sliceCallAUC: values["sliceCallAUC"])
        }

        /// The numbers under the names stage records have always used (`sliceCallAUC` only
        /// with a slice-call classifier, so that other runs' records are unchanged).
        public var values: [String: Double] {
            var v = ["epochs": Double(epochs), "bestEpoch": Double(bestEpoch), "validationAUC": validationAUC, "earlyStopped": earlyStopped ? 1 : 0]
            if let sliceCallAUC { v["sliceCallAUC"] = sliceCallAUC }
            return v
        }

        /// Equal numbers, a NaN (a score that could not be computed) equal to a NaN.
        public static func == (a: Self, b: Self) -> Bool {
            a.epochs == b.epochs && a.bestEpoch == b.bestEpoch && a.earlyStopped == b.earlyStopped && a.validationAUC.sameSummaryNumber(b.validationAUC)
                && (a.sliceCallAUC == nil) == (b.sliceCallAUC == nil) && (a.sliceCallAUC ?? 0).sameSummaryNumber(b.sliceCallAUC ?? 0)
        }
    }

    /// The stage; it holds no settings of its own (``run(in:observer:)`` reads the pipeline's configuration).
    public init() {}

    public var stage: PipelineStage { .classifier }

    public var runsOnEveryRank: Bool { true }

    public var artefacts: [String] {
        ["classifier.safetensors", "classifier.resume.safetensors", "summary.json (TrainingSummary)",
         "slice-calls/classifier.safetensors, its resume file and summary.json (with classifier.sliceCalls)"]
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
            outputs: TrainingOutputs(model: pipeline.camClassifierURL),
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
        if pipeline.isWriter { try pipeline.writeJSON(summary, to: folder.appendingPathComponent("summary.json")) }
        var calls: TrainingSummary?
        if let tuning = pipeline.config.classifier.sliceCalls, !stopped {
            // every rank starts from the kept model rank 0 wrote before it reached this barrier
            pipeline.communicator?.barrier()
            if pipeline.isWriter { try FileManager.default.createDirectory(at: Self.sliceCallFolder(in: pipeline), withIntermediateDirectories: true) }
            _ = observer(.progress(.classifier, done: 0, total: 0,
                                   item: "the slice-call classifier: \(tuning.epochs) epochs on sequences of \(tuning.sequenceLength) from the stage's classifier"))
            let initial = try Checkpoint(contentsOf: pipeline.camClassifierURL)
            calls = try ClassifierTrainer(config: tuning.applied(to: c)).train(
                training: training, validation: validation,
                outputs: TrainingOutputs(model: pipeline.sliceClassifierURL), initial: initial, overwrite: true,
                observer: TrainingCallback { observer(.training(.classifier, $0)) }, communicator: pipeline.communicator)
            if pipeline.isWriter { try pipeline.writeJSON(calls!, to: Self.sliceCallFolder(in: pipeline).appendingPathComponent("summary.json")) }
        }
        let stageStopped = stopped || calls?.stopped == true
        guard pipeline.isWriter else { return PipelineStageOutcome(summary: nil, stopped: stageStopped) }
        return PipelineStageOutcome(summary: Summary(epochs: summary.epochsCompleted, bestEpoch: summary.bestEpoch ?? 0,
                                                     validationAUC: summary.bestScore ?? .nan, earlyStopped: box.early,
                                                     sliceCallAUC: calls.map { $0.bestScore ?? .nan }),
                                    stopped: stageStopped)
    }

    /// The folder of the slice-call classifier (``PipelineConfig/ClassifierSettings/sliceCalls``):
    /// `OUT/classifier/slice-calls/`.
    public static func sliceCallFolder(in pipeline: Pipeline) -> URL {
        pipeline.folder(.classifier).appendingPathComponent("slice-calls")
    }
}
