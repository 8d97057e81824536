import CTVolume
import Foundation
import Metrics
import NeuralCore
import Testing
import WeakSupervision
import TestSupport
import PipelineTestSupport

/// The slice-call classifier (``PipelineConfig/ClassifierSettings/sliceCalls``): fine-tuned from
/// the stage's classifier, it makes the run's slice calls while the CAMs, the pseudo-masks and
/// the refiner stay those of a run without it.
@Suite(.serialized) struct SliceCallStageTests {
    @Test("sliceCalls: absent when nil, read back, missing fields take their defaults, applied over the classifier's training; bad fields refused by name")
    func sliceCallsCoding() throws {
        var plain = tinyPipelineConfig()
        plain.classifier.sliceCalls = nil
        let plainJSON = String(decoding: try JSONEncoder().encode(plain), as: UTF8.self)
        #expect(!plainJSON.contains("sliceCalls"))
        #expect(try JSONDecoder().decode(PipelineConfig.self, from: Data(plainJSON.utf8)).classifier.sliceCalls == nil)
        var tuned = plain
        tuned.classifier.sliceCalls = .init(epochs: 3, sequenceLength: 4, batchSize: 2, learningRate: 2e-3, seed: 9)
        let data = try JSONEncoder().encode(tuned)
        #expect(String(decoding: data, as: UTF8.self).contains("\"sliceCalls\""))
        #expect(try JSONDecoder().decode(PipelineConfig.self, from: data) == tuned)
        try tuned.validate()
        var expected = tuned.classifier.training   // everything else is the classifier's training
        expected.epochs = 3
        expected.sequenceLength = 4
        expected.batchSize = 2
        expected.optimizer.learningRate = 2e-3
        expected.seed = 9
        #expect(tuned.classifier.sliceCalls!.applied(to: tuned.classifier.training) == expected)
        #expect(SliceCallsDefaultSeed.check(tuned))
        // a missing field takes its default
        let empty = try JSONDecoder().decode(PipelineConfig.ClassifierSettings.SliceCalls.self, from: Data("{}".utf8))
        #expect(empty == .init() && empty.epochs == 6 && empty.sequenceLength == 8 && empty.batchSize == 4 && empty.learningRate == 1e-3 && empty.seed == nil)
        let partial = try JSONDecoder().decode(PipelineConfig.ClassifierSettings.SliceCalls.self, from: Data(#"{"epochs": 2, "seed": 5}"#.utf8))
        #expect(partial == .init(epochs: 2, seed: 5))
        for (field, mutate) in [("epochs", { (s: inout PipelineConfig.ClassifierSettings.SliceCalls) in s.epochs = 0 }),
                                ("sequenceLength", { $0.sequenceLength = 0 }), ("batchSize", { $0.batchSize = 0 }),
                                ("learningRate", { $0.learningRate = .nan })] {
            var bad = tuned
            mutate(&bad.classifier.sliceCalls!)
            #expect { try bad.validate() } throws: { error in
                guard case WeakSupervisionError.invalidParameter(let name, _) = error else { return false }
                return name == "classifier.sliceCalls.\(field)"
            }
        }
    }

    @Test("sliceCalls re-key the classifier and every stage after it but the upper bound")
    func sliceCallsInStageKeys() throws {
        let folder = TemporaryFolder(prefix: "ichct-calls-keys", create: false)
        defer { folder.cleanup() }
        func key(_ c: PipelineConfig, _ stage: PipelineStage) throws -> String {
            try Pipeline(config: c, output: folder.url, overwrite: true).configKey(stage)
        }
        var plain = tinyPipelineConfig()
        plain.classifier.sliceCalls = nil
        var tuned = plain, longer = plain
        tuned.classifier.sliceCalls = .init()
        longer.classifier.sliceCalls = .init(epochs: 13)
        for stage in PipelineStage.allCases {
            // the upper bound trains on true masks: it reads no classifier
            let rekeyed = ![.data, .upperBound].contains(stage)
            #expect((try key(plain, stage) != key(tuned, stage)) == rekeyed, "\(stage)")
            #expect((try key(tuned, stage) != key(longer, stage)) == rekeyed, "\(stage)")
        }
        #expect(PipelineConfig.settings(readBy: .cams).contains("classifier.sliceCalls"))
    }

    @Test("the slice-call classifier is fine-tuned from the stage's classifier; the CAMs and pseudo-masks are a plain run's, byte for byte, and the pseudo-masks gate by the CAM classifier; every slice call is the fine-tuned network's")
    func sliceCallStage() throws {
        let tunedFolder = TemporaryFolder(prefix: "ichct-calls", create: false), plainFolder = TemporaryFolder(prefix: "ichct-calls-plain", create: false)
        defer { tunedFolder.cleanup(); plainFolder.cleanup() }
        var plainConfig = tinyPipelineConfig()
        plainConfig.classifier.sliceCalls = nil
        var config = plainConfig
        config.classifier.sliceCalls = .init(epochs: 2, sequenceLength: 3, batchSize: 2, learningRate: 3e-3)
        let tuned = try Pipeline(config: config, output: tunedFolder.url), plain = try Pipeline(config: plainConfig, output: plainFolder.url)
        var trainings = 0
        try tuned.run(through: .pseudoMasks) { event in
            if case .training(.classifier, .started) = event { trainings += 1 }
            return .proceed
        }
        try plain.run(through: .pseudoMasks)
        #expect(trainings == 2)
        #expect(plain.sliceClassifierURL == plain.camClassifierURL)
        #expect(tuned.sliceClassifierURL.path.hasSuffix("classifier/slice-calls/classifier.safetensors"))

        // the CAM classifier is the plain run's; the slice-call one starts from it
        let camBytes = try Data(contentsOf: tuned.camClassifierURL)
        #expect(camBytes == (try Data(contentsOf: plain.camClassifierURL)))
        let dataset = try tuned.dataset(), split = try tuned.split(), c = config.classifier.training
        let windows = c.model.windows.map { Window(center: Float($0.center), width: Float($0.width)) }
        let training = try split.train.map { try PreparedCase(loading: dataset[$0]!, size: c.model.inputSize, windows: windows) }
        let validation = try split.validation.map { try PreparedCase(loading: dataset[$0]!, size: c.model.inputSize, windows: windows) }
        let scratch = TemporaryFolder(prefix: "ichct-calls-direct")
        defer { scratch.cleanup() }
        func fineTuned(from initial: Checkpoint?, name: String) throws -> Data {
            let out = scratch.file(name)
            _ = try ClassifierTrainer(config: config.classifier.sliceCalls!.applied(to: c))
                .train(training: training, validation: validation, outputs: TrainingOutputs(model: out), initial: initial)
            return try Data(contentsOf: out)
        }
        let callBytes = try Data(contentsOf: tuned.sliceClassifierURL)
        #expect(callBytes == (try fineTuned(from: Checkpoint(contentsOf: tuned.camClassifierURL), name: "direct.safetensors")))
        #expect(callBytes != (try fineTuned(from: nil, name: "scratch.safetensors")))   // a fine-tuning from scratch would fail this
        #expect(FileManager.default.fileExists(atPath: ClassifierStage.sliceCallFolder(in: tuned).appendingPathComponent("summary.json").path))
        #expect(try tuned.summary(ClassifierStage())?.sliceCallAUC != nil)
        #expect(try plain.summary(ClassifierStage())?.sliceCallAUC == nil)

        // CAMs and pseudo-masks: the plain run's; the CAM probabilities too; the calls are the fine-tuned network's
        let calls = try ResNetLSTM(contentsOf: tuned.sliceClassifierURL), camNetwork = try ResNetLSTM(contentsOf: tuned.camClassifierURL)
        let saved = try tuned.probabilities(), plainSaved = try plain.probabilities()
        #expect(try tuned.camProbabilities() == plainSaved)
        var differ = false
        let trained = Set(split.train + split.validation)
        #expect(!split.test.isEmpty)   // the sealed cases, whose calls the sealed slice AUC reads
        for name in split.train + split.validation + split.test {
            let item = try #require(dataset[name]), scan = try item.loadScan()
            #expect(saved[name] == calls.classify(scan).probabilities, "\(name)")
            differ = differ || saved[name] != camNetwork.classify(scan).probabilities
            for stage in [PipelineStage.cams, .pseudoMasks] where stage == .cams || trained.contains(name) {
                let file = "\(stage.rawValue)/\(name).nii.gz"
                #expect(try Data(contentsOf: tunedFolder.url.appendingPathComponent(file)) == Data(contentsOf: plainFolder.url.appendingPathComponent(file)), "\(file)")
            }
        }
        #expect(differ)
        // the CAM stage's AUC is the calls'
        var scores: [Double] = [], labels: [Bool] = []
        for name in split.validation {
            scores += saved[name]!.map(Double.init)
            labels += try dataset[name]!.sliceLabels().map { $0 > 0.5 }
        }
        let auc = SliceClassification.rocAUC(scores: scores, labels: labels)
        let stageAUC = try tuned.summary(CAMStage())!.validationAUC
        #expect(stageAUC == auc || (stageAUC.isNaN && auc.isNaN))

        // the pseudo-mask stage gates by the CAM classifier's probabilities, not the calls:
        // with every call 0 its masks stay; with every CAM probability 0 they go
        let camsFolder = tuned.folder(.cams)
        let zeros = saved.mapValues { [Float](repeating: 0, count: $0.count) }
        let maskVoxels = { () throws -> Int in
            try (split.train + split.validation).reduce(0) { sum, name in
                sum + (try NIfTI.readMask(at: tunedFolder.url.appendingPathComponent("pseudo-masks/\(name).nii.gz")).voxels.reduce(0) { $0 + Int($1) })
            }
        }
        let before = try maskVoxels()
        try #require(before > 0, "the tiny run's pseudo-masks must hold voxels for the check to mean anything")
        try JSONEncoder().encode(zeros).write(to: camsFolder.appendingPathComponent("probabilities.json"))
        try tuned.run(from: .pseudoMasks, through: .pseudoMasks)
        #expect(try maskVoxels() == before)
        try JSONEncoder().encode(zeros).write(to: camsFolder.appendingPathComponent("cam-probabilities.json"))
        try tuned.run(from: .pseudoMasks, through: .pseudoMasks)
        #expect(try maskVoxels() == 0)

        // a scan from elsewhere: the CAM classifier's map, the slice-call classifier's calls
        let scan = try dataset[split.validation[0]]!.loadScan()
        let outside = try tuned.segmentationCase(name: "outside", scan: scan, classifier: true)
        let plainOutside = try plain.segmentationCase(name: "outside", scan: scan, classifier: true)
        #expect(outside.sliceProbabilities == calls.classify(scan).probabilities)
        #expect(outside.cam?.voxels == plainOutside.cam?.voxels)
    }

    @Test("a stop inside the slice-call fine-tuning leaves the classifier stage unrecorded; running again finishes it")
    func stopInSliceCalls() throws {
        let folder = TemporaryFolder(prefix: "ichct-calls-stop", create: false)
        defer { folder.cleanup() }
        var config = tinyPipelineConfig()
        config.classifier.sliceCalls = .init(epochs: 2, sequenceLength: 3, batchSize: 2)
        let pipeline = try Pipeline(config: config, output: folder.url)
        // the second training is the fine-tuning
        let trainings = trainingsStopping(pipeline, in: .classifier) { started, r in started == 2 && r.epoch == 1 }
        #expect(trainings == 2)
        #expect(try pipeline.record(.classifier) == nil)
        let calls = ClassifierStage.sliceCallFolder(in: pipeline).appendingPathComponent("summary.json")
        let decoder = JSONDecoder()   // as the pipeline writes them: a NaN score as "nan"
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        #expect(try decoder.decode(TrainingSummary.self, from: Data(contentsOf: calls)).stopped)
        try pipeline.run(through: .classifier)
        #expect(try pipeline.summary(ClassifierStage())?.sliceCallAUC != nil)
        let again = try decoder.decode(TrainingSummary.self, from: Data(contentsOf: calls))
        #expect(!again.stopped && again.epochsCompleted == 2)
    }
}

/// The fine-tuning's seed defaults to the classifier's.
private enum SliceCallsDefaultSeed {
    static func check(_ config: PipelineConfig) -> Bool {
        var c = config
        c.classifier.sliceCalls?.seed = nil
        c.classifier.training.seed = 41
        return c.classifier.sliceCalls!.applied(to: c.classifier.training).seed == 41
    }
}
