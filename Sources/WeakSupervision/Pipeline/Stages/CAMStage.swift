import CTVolume
import Foundation
import Metrics
import NeuralCore

/// Stage 2: the CAM and slice probabilities of every case with the trained classifier. Reads
/// ``PipelineConfig/cam``. With a slice-call classifier (``PipelineConfig/ClassifierSettings/sliceCalls``)
/// the CAMs stay the stage-1 classifier's, `probabilities.json` holds the slice-call
/// classifier's calls and `cam-probabilities.json` the CAM classifier's own (``Pipeline/camProbabilities()``).
public struct CAMStage: PipelineStageRunner {
    /// The CAM stage's numbers.
    public struct Summary: PipelineStageSummary {
        /// Cases given a CAM (training, validation and test).
        public var cases: Int
        /// Slice AUC of the run's slice calls on the validation cases (NaN without both classes):
        /// the slice-call classifier's with ``PipelineConfig/ClassifierSettings/sliceCalls``, else the CAM classifier's.
        public var validationAUC: Double

        /// A summary of these numbers.
        public init(cases: Int, validationAUC: Double) {
            self.cases = cases
            self.validationAUC = validationAUC
        }

        /// The summary a record's numbers give (``PipelineStageSummary/init(values:)``).
        public init(values: [String: Double]) {
            self.init(cases: values.count("cases"), validationAUC: values.number("validationAUC"))
        }

        /// The numbers under the names stage records have always used.
        public var values: [String: Double] { ["cases": Double(cases), "validationAUC": validationAUC] }

        /// Equal numbers, a NaN (a score that could not be computed) equal to a NaN.
        public static func == (a: Self, b: Self) -> Bool {
            a.cases == b.cases && a.validationAUC.sameSummaryNumber(b.validationAUC)
        }
    }

    /// The stage; it holds no settings of its own (``run(in:observer:)`` reads the pipeline's configuration).
    public init() {}

    public var stage: PipelineStage { .cams }

    public var artefacts: [String] {
        ["NAME.nii.gz (the CAM, 0...1 per slice)", "probabilities.json (the run's slice calls per case)",
         "cam-probabilities.json (the CAM classifier's, with classifier.sliceCalls)"]
    }

    public func run(in pipeline: Pipeline, observer: @escaping (PipelineEvent) -> TrainingControl) throws -> PipelineStageOutcome<Summary> {
        let dataset = try pipeline.dataset(), split = try pipeline.split()
        let settings = pipeline.config.cam, folder = pipeline.folder(.cams)
        let model = try ResNetLSTM(contentsOf: pipeline.camClassifierURL)
        let method = try CAM.method(settings.method, model: model, layer: settings.layer)
        let calls = try pipeline.sliceCallClassifier()
        let names = split.train + split.validation + split.test
        var probabilities: [String: [Float]] = [:], camProbabilities: [String: [Float]] = [:]
        var scores: [Double] = [], labels: [Bool] = []
        // Each CAM is written (quantized, gzipped: most of the stage's time) on a background
        // queue while the next case runs through the network; at most two wait to be written.
        let writing = DispatchQueue(label: "ichct.cams.write"), waiting = DispatchSemaphore(value: 2)
        let failure = ErrorBox()
        defer { writing.sync {} }   // no write outlives the stage, also when it throws
        let descrip = "ichct \(method.name) \(settings.layer)"
        for (i, item) in try pipeline.cases(names, in: dataset).enumerated() {
            let scan = try item.loadScan()
            // with a slice-call classifier reading the same input, the scan is preprocessed once
            let (result, called) = try Pipeline.camAndCalls(scan, method: method, calls: calls)
            if let error = failure.first { throw error }
            waiting.wait()
            let map = result.map, url = folder.appendingPathComponent("\(item.name).nii.gz")
            writing.async {
                defer { waiting.signal() }
                do {
                    try NIfTI.write(map, to: url, datatype: CAM.storage, overwrite: true, descrip: descrip)
                } catch {
                    failure.record(i, error)
                }
            }
            probabilities[item.name] = called
            if calls != nil { camProbabilities[item.name] = result.probabilities }
            if split.validation.contains(item.name) {
                scores += called.map(Double.init)
                labels += try item.sliceLabels().map { $0 > 0.5 }
            }
            _ = observer(.progress(.cams, done: i + 1, total: names.count, item: item.name))
        }
        writing.sync {}
        if let error = failure.first { throw error }
        try pipeline.writeJSON(probabilities, to: folder.appendingPathComponent("probabilities.json"))
        if calls != nil { try pipeline.writeJSON(camProbabilities, to: folder.appendingPathComponent(Pipeline.camProbabilitiesFile)) }
        return PipelineStageOutcome(summary: Summary(cases: names.count, validationAUC: SliceClassification.rocAUC(scores: scores, labels: labels)))
    }
}
