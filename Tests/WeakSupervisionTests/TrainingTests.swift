import Foundation
import CTVolume
import NeuralCore
import Testing
import WeakSupervision
import TestSupport

/// The tiny classifier of the tests: size 32, width 4, blocks [1,1,1,1], hidden 8.
private let tinyClassifier = ResNetLSTMConfig(inputSize: 32, width: 4, blocks: [1, 1, 1, 1], hidden: 8)

/// An observer that stops a run after its global step `step`.
func stopping(atStep step: Int) -> TrainingCallback {
    TrainingCallback { event in
        if case .step(let s) = event, s.globalStep == step { return .stop }
        return .proceed
    }
}

@Suite("Training against PyTorch, and exact resume")
struct TrainingTests {
    @Test("one classifier step (SGD, no shuffle, no augmentation) equals PyTorch's (1e-5)")
    func classifierStepParity() throws {
        let folder = TemporaryFolder(prefix: "ichct-train"), dir = folder.url
        defer { folder.cleanup() }
        let item = patternCase("a", z: 8, s: 32, labels: [0, 0, 1, 1, 1, 0, 0, 0])
        #expect(ClassifierTrainer.posWeight(for: [item]) == Float(5) / Float(3))
        let config = TrainingConfig(model: tinyClassifier, optimizer: OptimizerSettings(kind: .sgd, learningRate: 0.1, momentum: 0.9),
                                    epochs: 1, sequenceLength: 4, batchSize: 2, validationFraction: 0, shuffle: false,
                                    augmentation: .none)
        var losses: [Float] = []
        let summary = try ClassifierTrainer(config: config).train(
            training: [item], validation: [], outputs: TrainingOutputs(model: dir.appendingPathComponent("c.safetensors")),
            initial: try Checkpoint(contentsOf: fixtureFile("train_step.classifier.safetensors")),
            observer: TrainingCallback { event in
                if case .step(let s) = event { losses.append(s.loss) }
                return .proceed
            })
        #expect(summary.globalStep == 1 && summary.bestEpoch == 1)
        let want = try tensors(fixtureFile("train_step.classifier.after.safetensors"))
        #expect(abs(losses[0] - want["loss"]![0]) <= 1e-5 * want["loss"]![0])
        let got = try tensors(dir.appendingPathComponent("c.safetensors"))
        #expect(Set(got.keys) == Set(want.keys).subtracting(["loss"]))
        for (key, values) in got {
            let err = scaledError(values, want[key]!)
            #expect(err <= 1e-5, "\(key): scaled error \(err)")
        }
    }

    @Test("position weights: within each band positives and negatives weigh the same, mean 1 (analytic)")
    func positionWeights() throws {
        // five slices: d = 1, 0.5, 0, 0.5, 1, so with two bands the middle slice is band 0 and
        // the rest band 1. Band 0 holds two positives only: weight 1. Band 1 holds 2 positives
        // and 6 negatives of 8: 8 / 4 = 2 and 8 / 12 = 2/3. The raw weights sum to 10 over 10
        // slices, so dividing by the mean leaves them.
        let a = patternCase("a", z: 5, s: 8, labels: [0, 1, 1, 1, 0])
        let b = patternCase("b", z: 5, s: 8, labels: [0, 0, 1, 0, 0])
        let w = ClassifierTrainer.positionWeights(for: [a, b], bands: 2)
        let third = Float(2) / 3
        let want: [[Float]] = [[third, 2, 1, 2, third], [third, third, 1, third, third]]
        for (got, expected) in zip(w.joined(), want.joined()) { #expect(abs(got - expected) <= 1e-6) }
        // the reversed slice order (feet first) gives the reversed weights
        let r = patternCase("a", z: 5, s: 8, labels: [0, 1, 1, 1, 0].reversed())
        #expect(ClassifierTrainer.positionWeights(for: [r, b], bands: 2)[0] == w[0].reversed())
        // random labels over cases of other lengths: every band balanced, weights averaging 1
        var generator = SplitMix64(state: 5)
        let cases = (0..<6).map { i in
            patternCase("r\(i)", z: 7 + 3 * i, s: 8, labels: (0..<(7 + 3 * i)).map { _ in Float(generator.next() % 3 == 0 ? 1 : 0) })
        }
        let weights = ClassifierTrainer.positionWeights(for: cases, bands: 4)
        let all = weights.joined()
        #expect(abs(all.reduce(0, +) / Float(all.count) - 1) <= 1e-5)
        var sums = [[Float]](repeating: [0, 0], count: 4)
        for (item, ws) in zip(cases, weights) {
            let n = item.labels.count
            for k in 0..<n {
                let d = abs(Double(k) / Double(n - 1) - 0.5) * 2
                sums[min(Int(d * 4), 3)][item.labels[k] > 0.5 ? 1 : 0] += ws[k]
            }
        }
        for s in sums where s[0] > 0 && s[1] > 0 { #expect(abs(s[0] - s[1]) <= 1e-4 * s[0]) }
        #expect(sums.filter { $0[0] > 0 && $0[1] > 0 }.count >= 3)
    }

    @Test("with position balance the loss is BCE weighted slice by slice, and pos_weight is refused beside it")
    func positionBalancedStep() throws {
        let folder = TemporaryFolder(prefix: "ichct-train"), dir = folder.url
        defer { folder.cleanup() }
        let item = patternCase("a", z: 8, s: 32, labels: [0, 0, 1, 1, 1, 0, 0, 0])
        var config = TrainingConfig(model: tinyClassifier, optimizer: OptimizerSettings(kind: .sgd, learningRate: 0.1, momentum: 0.9),
                                    epochs: 1, sequenceLength: 4, batchSize: 2, validationFraction: 0, shuffle: false,
                                    augmentation: .none, positionBalance: 2)
        let initial = try Checkpoint(contentsOf: fixtureFile("train_step.classifier.safetensors"))
        var losses: [Float] = []
        _ = try ClassifierTrainer(config: config).train(
            training: [item], validation: [], outputs: TrainingOutputs(model: dir.appendingPathComponent("c.safetensors")),
            initial: initial,
            observer: TrainingCallback { event in
                if case .step(let s) = event { losses.append(s.loss) }
                return .proceed
            })
        // the same step written out: the initial network in training mode on both sequences
        let net = try ResNetLSTM(contentsOf: fixtureFile("train_step.classifier.safetensors"))
        net.train()
        let x = Tensor(shape: [2, 4, 3, 32, 32], data: item.slices)
        let y = Tensor(shape: [2, 4], data: item.labels)
        let weights = Tensor(shape: [2, 4], data: ClassifierTrainer.positionWeights(for: [item], bands: 2)[0])
        let logits = net(x)
        let want = binaryCrossEntropyWithLogits(logits, targets: y, weights: weights).item
        #expect(losses.count == 1 && abs(losses[0] - want) <= 1e-5 * want)
        let unbalanced = binaryCrossEntropyWithLogits(logits, targets: y, posWeight: ClassifierTrainer.posWeight(for: [item])).item
        #expect(abs(losses[0] - unbalanced) > 1e-3)
        config.posWeight = 2
        #expect(throws: WeakSupervisionError.self) { try config.validate() }
        config.posWeight = nil
        for bands in [0, 1001] {
            config.positionBalance = bands
            #expect(throws: WeakSupervisionError.self) { try config.validate() }
        }
    }

    @Test("one refiner step (BCE + soft Dice, SGD) equals PyTorch's (1e-5)")
    func refinerStepParity() throws {
        let folder = TemporaryFolder(prefix: "ichct-train"), dir = folder.url
        defer { folder.cleanup() }
        var masks = [Float](repeating: 0, count: 4 * 256)
        for i in 0..<16 { for j in 0..<16 {
            let d = (Double(i) - 7.5) * (Double(i) - 7.5) + (Double(j) - 6.5) * (Double(j) - 6.5)
            if d < 16 { masks[256 + i * 16 + j] = 1 }
            if d < 9 { masks[512 + i * 16 + j] = 1 }
        } }
        let item = patternCase("r", z: 4, s: 16, labels: [0, 1, 1, 0], masks: masks)
        let config = RefinerTrainingConfig(model: UNetLiteConfig(inputSize: 16, widths: [4, 8, 16]),
                                           optimizer: OptimizerSettings(kind: .sgd, learningRate: 0.05, momentum: 0.9),
                                           epochs: 1, batchSize: 4, validationFraction: 0, shuffle: false, negativeFraction: 1,
                                           augmentation: .none)
        var losses: [Float] = []
        _ = try RefinerTrainer(config: config).train(
            training: [item], validation: [], outputs: TrainingOutputs(model: dir.appendingPathComponent("r.safetensors")),
            initial: try Checkpoint(contentsOf: fixtureFile("train_step.refiner.safetensors")),
            observer: TrainingCallback { event in
                if case .step(let s) = event { losses.append(s.loss) }
                return .proceed
            })
        let want = try tensors(fixtureFile("train_step.refiner.after.safetensors"))
        #expect(losses.count == 1 && abs(losses[0] - want["loss"]![0]) <= 1e-5 * want["loss"]![0])
        for (key, values) in try tensors(dir.appendingPathComponent("r.safetensors")) {
            let err = scaledError(values, want[key]!)
            #expect(err <= 1e-5, "\(key): scaled error \(err)")
        }
    }

    /// Three small cases with augmentation and shuffling on, so every random stream matters.
    private func resumeCases() -> (train: [PreparedCase], validation: [PreparedCase]) {
        let a = patternCase("a", z: 6, s: 32, labels: [0, 1, 1, 0, 0, 0])
        let b = patternCase("b", z: 5, s: 32, labels: [0, 0, 1, 1, 0], phase: 2)
        let v = patternCase("v", z: 4, s: 32, labels: [0, 1, 0, 1], phase: 5)
        return ([a, b], [v])
    }

    private let resumeConfig = TrainingConfig(model: tinyClassifier, optimizer: OptimizerSettings(kind: .adam, learningRate: 1e-3, warmupSteps: 1),
                                              epochs: 2, sequenceLength: 4, batchSize: 2, seed: 11)

    @Test("each trainer refuses an initial checkpoint of the other network, and starting over its own outputs without overwrite, naming them")
    func refusesForeignStarts() throws {
        let folder = TemporaryFolder(prefix: "ichct-train"), dir = folder.url
        defer { folder.cleanup() }
        let classifierCheckpoint = try Checkpoint(contentsOf: fixtureFile("train_step.classifier.safetensors"))
        let refinerCheckpoint = try Checkpoint(contentsOf: fixtureFile("train_step.refiner.safetensors"))
        let classifierCase = patternCase("a", z: 8, s: 32, labels: [0, 0, 1, 1, 1, 0, 0, 0])
        let refinerCase = patternCase("r", z: 4, s: 16, labels: [0, 1, 1, 0], masks: [Float](repeating: 0, count: 4 * 256))
        let classifier = TrainingConfig(model: tinyClassifier, epochs: 1, sequenceLength: 4, batchSize: 2, validationFraction: 0, augmentation: .none)
        let refiner = RefinerTrainingConfig(model: UNetLiteConfig(inputSize: 16, widths: [4, 8, 16]), epochs: 1, batchSize: 4,
                                            validationFraction: 0, augmentation: .none)
        do {
            _ = try ClassifierTrainer(config: classifier).train(training: [classifierCase], validation: [],
                                                                outputs: TrainingOutputs(model: dir.appendingPathComponent("c.safetensors")),
                                                                initial: refinerCheckpoint)
            Issue.record("a UNetLite checkpoint started a classifier")
        } catch WeakSupervisionError.shapeMismatch(let what, _, let got) {
            #expect(what == "initial checkpoint" && got.contains("unet"))
        }
        #expect(throws: WeakSupervisionError.self) {
            try RefinerTrainer(config: refiner).train(training: [refinerCase], validation: [],
                                                      outputs: TrainingOutputs(model: dir.appendingPathComponent("r.safetensors")),
                                                      initial: classifierCheckpoint)
        }
        // the refiner's own outputs, then a fresh start over them
        let outputs = TrainingOutputs(model: dir.appendingPathComponent("r.safetensors"))
        _ = try RefinerTrainer(config: refiner).train(training: [refinerCase], validation: [], outputs: outputs, overwrite: true)
        do {
            _ = try RefinerTrainer(config: refiner).train(training: [refinerCase], validation: [], outputs: outputs)
            Issue.record("started over existing outputs")
        } catch WeakSupervisionError.invalidParameter(_, let reason) {
            #expect(reason.contains(outputs.model.path) && reason.contains("already exists"))
        }
    }

    @Test("classifier: 2 epochs straight = stopped (end of epoch 1, or mid-epoch) + resumed, bit for bit")
    func classifierResume() throws {
        let folder = TemporaryFolder(prefix: "ichct-train"), dir = folder.url
        defer { folder.cleanup() }
        let (train, validation) = resumeCases()
        let trainer = ClassifierTrainer(config: resumeConfig)
        let straight = TrainingOutputs(model: dir.appendingPathComponent("straight.safetensors"))
        let full = try trainer.train(training: train, validation: validation, outputs: straight)
        #expect(full.epochsCompleted == 2 && !full.stopped && full.history.count == 2)
        #expect(full.history.allSatisfy { $0.validationScore != nil && $0.scoreName == "auc" })

        for stopAtStep in [0, 1] {   // 0: at the end of epoch 1; 1: after the first step
            let out = TrainingOutputs(model: dir.appendingPathComponent("split\(stopAtStep).safetensors"))
            let first = try trainer.train(training: train, validation: validation, outputs: out, observer: TrainingCallback { event in
                switch event {
                case .epoch where stopAtStep == 0: return .stop
                case .step(let s) where stopAtStep > 0 && s.globalStep == stopAtStep: return .stop
                default: return .proceed
                }
            })
            #expect(first.stopped && first.globalStep == (stopAtStep == 0 ? full.history[0].globalStep : stopAtStep))
            let rest = try trainer.train(training: train, validation: validation, outputs: out, resume: out.resume)
            #expect(!rest.stopped && rest.globalStep == full.globalStep)
            #expect(rest.history == full.history)
            let a = try tensors(straight.resume), b = try tensors(out.resume)
            #expect(a.keys.sorted() == b.keys.sorted())
            for (key, values) in a { #expect(values == b[key], "\(key) differs after resume") }
            #expect(try tensors(straight.model) == tensors(out.model))
        }
    }

    @Test("refiner: positives plus a sample of negatives; stop and resume is exact")
    func refinerResume() throws {
        let folder = TemporaryFolder(prefix: "ichct-train"), dir = folder.url
        defer { folder.cleanup() }
        let (a, b, v) = refinerCases()
        let config = RefinerTrainingConfig(model: UNetLiteConfig(inputSize: 16, widths: [4, 8]), epochs: 2, batchSize: 2, seed: 5,
                                           negativeFraction: 0.5)
        let trainer = RefinerTrainer(config: config)
        let straight = TrainingOutputs(model: dir.appendingPathComponent("s.safetensors"))
        var items = 0
        let full = try trainer.train(training: [a, b], validation: [v], outputs: straight, observer: TrainingCallback { event in
            if case .started(let s) = event { items = s.itemsPerEpoch }
            return .proceed
        })
        #expect(items == 3 + 4)   // 3 positive slices, half of the 8 negatives
        #expect(full.history.allSatisfy { $0.scoreName == "dice" && $0.validationScore != nil })
        let out = TrainingOutputs(model: dir.appendingPathComponent("r.safetensors"))
        let first = try trainer.train(training: [a, b], validation: [v], outputs: out, observer: stopping(atStep: 3))
        #expect(first.stopped && first.globalStep == 3)
        let rest = try trainer.train(training: [a, b], validation: [v], outputs: out, resume: out.resume)
        #expect(rest.history == full.history)
        #expect(try tensors(straight.resume) == tensors(out.resume))
    }

    @Test("refiner with a weight average: the kept model and validation use the average, resume carries it exactly, old JSON unchanged")
    func refinerAverage() throws {
        let folder = TemporaryFolder(prefix: "ichct-train"), dir = folder.url
        defer { folder.cleanup() }
        let (a, b, v) = refinerCases()
        var config = RefinerTrainingConfig(model: UNetLiteConfig(inputSize: 16, widths: [4, 8]), epochs: 2, batchSize: 2, seed: 5,
                                           negativeFraction: 0.5, selection: .last)
        let plainOut = TrainingOutputs(model: dir.appendingPathComponent("plain.safetensors"))
        let plain = try RefinerTrainer(config: config).train(training: [a, b], validation: [v], outputs: plainOut)
        config.averageDecay = 0.6
        let trainer = RefinerTrainer(config: config)
        let straight = TrainingOutputs(model: dir.appendingPathComponent("s.safetensors"))
        let full = try trainer.train(training: [a, b], validation: [v], outputs: straight)
        // The trajectory is the plain run's (same losses); what is kept and validated is the average.
        #expect(full.history.map(\.trainLoss) == plain.history.map(\.trainLoss))
        #expect(full.history.map(\.validationLoss) != plain.history.map(\.validationLoss))
        let model = try tensors(straight.model), live = try tensors(straight.resume, prefix: "model."),
            averaged = try tensors(straight.resume, prefix: "average.")
        #expect(model == averaged && model != live)
        #expect(live == (try tensors(plainOut.resume, prefix: "model.")))
        #expect(try RefinerTrainer.config(ofResumeFile: straight.resume).averageDecay == 0.6)

        // Stopped mid-epoch and resumed: every tensor of the resume file, the average's included, and the kept model.
        let out = TrainingOutputs(model: dir.appendingPathComponent("r.safetensors"))
        let first = try trainer.train(training: [a, b], validation: [v], outputs: out, observer: stopping(atStep: 3))
        #expect(first.stopped)
        let rest = try trainer.train(training: [a, b], validation: [v], outputs: out, resume: out.resume)
        #expect(rest.history == full.history)
        #expect(try tensors(straight.resume) == tensors(out.resume))
        #expect(try tensors(straight.model) == tensors(out.model))
        // A resume file without an average does not resume a run that keeps one: another
        // configuration, or, with the configuration kept and the average stripped, a resume-file error.
        #expect(throws: WeakSupervisionError.self) {
            try trainer.train(training: [a, b], validation: [v], outputs: plainOut, resume: plainOut.resume)
        }
        var stripped = try SafeTensors(contentsOf: out.resume)
        for key in stripped.tensors.keys where key.hasPrefix("average.") { stripped.tensors[key] = nil }
        stripped.metadata[ExponentialMovingAverage.metadataKey] = nil
        let strippedURL = dir.appendingPathComponent("stripped.resume.safetensors")
        try stripped.write(to: strippedURL)
        let strippedOut = TrainingOutputs(model: dir.appendingPathComponent("stripped.safetensors"), resume: strippedURL)
        #expect {
            try trainer.train(training: [a, b], validation: [v], outputs: strippedOut, resume: strippedURL)
        } throws: { error in
            guard case WeakSupervisionError.invalidParameter(let name, let reason) = error else { return false }
            return name == "resume file" && reason.contains("weight average")
        }

        // Configurations without the field keep their JSON (saved pipeline stages still match).
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        config.averageDecay = nil
        #expect(!String(decoding: try encoder.encode(config), as: UTF8.self).contains("average"))
        config.averageDecay = 1
        #expect(throws: WeakSupervisionError.self) { try config.validate() }
    }

    @Test("refiner epochs with labelledNegatives: a slice labelled positive whose target is empty is neither a positive nor a negative; without, a negative")
    func refinerLeavesOutLabelledPositiveEmptySlices() throws {
        let folder = TemporaryFolder(prefix: "ichct-train"), dir = folder.url
        defer { folder.cleanup() }
        var masks = [Float](repeating: 0, count: 6 * 256)
        for i in 4..<9 { for j in 5..<11 { masks[256 + i * 16 + j] = 1 } }   // a disc on slice 1 only
        var config = RefinerTrainingConfig(model: UNetLiteConfig(inputSize: 16, widths: [4, 8]),
                                           optimizer: OptimizerSettings(kind: .sgd, learningRate: 1e-3, momentum: 0), epochs: 1,
                                           batchSize: 1, validationFraction: 0, shuffle: false, negativeFraction: 1, augmentation: .none)
        func steps(labels: [Float]) throws -> Int {
            var count = 0
            _ = try RefinerTrainer(config: config).train(
                training: [patternCase("a", z: 6, s: 16, labels: labels, masks: masks)], validation: [],
                outputs: TrainingOutputs(model: dir.appendingPathComponent("r.safetensors")), overwrite: true,
                observer: TrainingCallback { event in
                    if case .step = event { count += 1 }
                    return .proceed
                })
            return count
        }
        // Without the setting (the presets) the labels do not matter: every empty slice is a negative.
        #expect(try steps(labels: [0, 1, 1, 1, 0, 0]) == 6)
        config.labelledNegatives = true
        // Labels that agree with the targets: the positive slice and all five empty ones.
        #expect(try steps(labels: [0, 1, 0, 0, 0, 0]) == 6)
        // Slices 2 and 3 labelled positive, their targets empty: left out.
        #expect(try steps(labels: [0, 1, 1, 1, 0, 0]) == 4)
        // A target on a slice labelled negative is still a positive.
        #expect(try steps(labels: [0, 0, 0, 0, 0, 0]) == 6)
    }

    @Test("refiner priorBias starts the head's bias at the logit of the epoch's foreground share; nil keeps the usual initialisation")
    func refinerPriorBias() throws {
        let folder = TemporaryFolder(prefix: "ichct-train"), dir = folder.url
        defer { folder.cleanup() }
        let (a, b, v) = refinerCases()
        // An epoch: 3 positive slices of 30 mask pixels each, and half of the 8 empty slices, at 16 x 16.
        let share = 90.0 / (7.0 * 256.0)
        let expected = Float(log(share / (1 - share)))
        var config = RefinerTrainingConfig(model: UNetLiteConfig(inputSize: 16, widths: [4, 8]),
                                           optimizer: OptimizerSettings(kind: .sgd, learningRate: 1e-9, momentum: 0), epochs: 1,
                                           batchSize: 2, stepsPerEpoch: 1, seed: 5, negativeFraction: 0.5, priorBias: true)
        let out = TrainingOutputs(model: dir.appendingPathComponent("prior.safetensors"))
        _ = try RefinerTrainer(config: config).train(training: [a, b], validation: [v], outputs: out)
        let bias = try #require(try tensors(out.model)["head.bias"])
        #expect(bias.count == 1 && abs(bias[0] - expected) < 1e-5, "\(bias) vs \(expected)")
        config.priorBias = nil
        let plainOut = TrainingOutputs(model: dir.appendingPathComponent("plain.safetensors"))
        _ = try RefinerTrainer(config: config).train(training: [a, b], validation: [v], outputs: plainOut)
        let plain = try #require(try tensors(plainOut.model)["head.bias"])
        #expect(abs(plain[0] - expected) > 1)
        let encoder = JSONEncoder()
        #expect(!String(decoding: try encoder.encode(config), as: UTF8.self).contains("prior"))
    }

    /// The classifier of `resumeCases` for 3 epochs keeping the last, validated every epoch.
    private func threeEpochsKeepingLast(in dir: URL) throws -> (TrainingConfig, TrainingSummary, TrainingOutputs) {
        let (train, validation) = resumeCases()
        var config = resumeConfig
        config.epochs = 3
        config.selection = .last
        let out = TrainingOutputs(model: dir.appendingPathComponent("last.safetensors"))
        return (config, try ClassifierTrainer(config: config).train(training: train, validation: validation, outputs: out), out)
    }

    @Test("selection .last keeps the last epoch's model, still validates, and leaves old configurations' JSON unchanged")
    func keepLast() throws {
        let folder = TemporaryFolder(prefix: "ichct-train"), dir = folder.url
        defer { folder.cleanup() }
        let (train, validation) = resumeCases()
        var (config, summary, out) = try threeEpochsKeepingLast(in: dir)
        #expect(summary.bestEpoch == 3 && summary.bestScore == summary.history.last?.validationScore && summary.selection == .last)
        #expect(summary.history.allSatisfy { $0.improved && $0.validationScore != nil })
        // The kept model is the network state the resume file holds at the end of the run.
        #expect(try tensors(out.model) == tensors(out.resume, prefix: "model."))
        #expect(try ClassifierTrainer.config(ofResumeFile: out.resume).selection == .last)
        // The same run keeping the best epoch keeps an earlier one here, so the checks above can fail.
        config.selection = .best
        let bestOut = TrainingOutputs(model: dir.appendingPathComponent("best.safetensors"))
        let best = try ClassifierTrainer(config: config).train(training: train, validation: validation, outputs: bestOut)
        #expect(best.history.map(\.validationScore) == summary.history.map(\.validationScore))
        #expect(best.bestEpoch != 3 && !best.history.allSatisfy(\.improved) && best.selection == .best)
        #expect(try tensors(bestOut.model) != tensors(bestOut.resume, prefix: "model."))

        // A configuration without the field (written before it existed) decodes as best, and
        // encodes back without it, so saved pipeline stages keep matching their configuration.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let old = String(decoding: try encoder.encode(resumeConfig), as: UTF8.self)
        #expect(!old.contains("selection"))
        let decoded = try JSONDecoder().decode(TrainingConfig.self, from: Data(old.utf8))
        #expect(decoded.selection == nil && decoded == resumeConfig)
        config.selection = .last
        #expect(String(decoding: try encoder.encode(config), as: UTF8.self).contains("\"selection\":\"last\""))
    }

    @Test("validateEvery skips validation on the other epochs, always validates the last, and leaves training and the kept last model unchanged")
    func validateEvery() throws {
        let folder = TemporaryFolder(prefix: "ichct-train"), dir = folder.url
        defer { folder.cleanup() }
        let (train, validation) = resumeCases()
        var (config, every, everyOut) = try threeEpochsKeepingLast(in: dir)
        #expect(every.history.allSatisfy { $0.validationScore != nil })
        for (n, expected) in [(2, [false, true, true]), (3, [false, false, true])] {
            config.validateEvery = n
            let out = TrainingOutputs(model: dir.appendingPathComponent("every\(n).safetensors"))
            let run = try ClassifierTrainer(config: config).train(training: train, validation: validation, outputs: out)
            #expect(run.history.map { $0.validationScore != nil } == expected, "\(n)")
            #expect(run.history.map(\.trainLoss) == every.history.map(\.trainLoss))
            #expect(run.history.last?.validationScore == every.history.last?.validationScore)
            #expect(try tensors(out.model) == tensors(everyOut.model))
            #expect(run.bestEpoch == 3)
        }
        config.validateEvery = 0
        #expect(throws: WeakSupervisionError.self) { try config.validate() }
        config.validateEvery = nil
        #expect(!String(decoding: try JSONEncoder().encode(config), as: UTF8.self).contains("validateEvery"))
    }

    @Test("a resume file refuses another configuration or other cases")
    func resumeRefusals() throws {
        let folder = TemporaryFolder(prefix: "ichct-train"), dir = folder.url
        defer { folder.cleanup() }
        let (train, validation) = resumeCases()
        var config = resumeConfig
        config.epochs = 1
        config.stepsPerEpoch = 1
        let out = TrainingOutputs(model: dir.appendingPathComponent("m.safetensors"))
        _ = try ClassifierTrainer(config: config).train(training: train, validation: validation, outputs: out)
        #expect(try ClassifierTrainer.config(ofResumeFile: out.resume) == config)
        var other = config
        other.seed = 12
        #expect(throws: WeakSupervisionError.self) {
            try ClassifierTrainer(config: other).train(training: train, validation: validation, outputs: out, resume: out.resume)
        }
        #expect(throws: WeakSupervisionError.self) {
            try ClassifierTrainer(config: config).train(training: [train[0]], validation: validation, outputs: out, resume: out.resume)
        }
        // Starting afresh over existing outputs needs overwrite.
        #expect(throws: WeakSupervisionError.self) {
            try ClassifierTrainer(config: config).train(training: train, validation: validation, outputs: out)
        }
    }
}

@Suite struct ResumeFileTests {
    @Test("resumeFile(for:) takes a resume file as it is, and from a model the resume file beside it when there is one")
    func resumeFileBesideAModel() throws {
        let folder = TemporaryFolder(prefix: "resume"), dir = folder.url
        defer { folder.cleanup() }
        let tensor = StoredTensor(shape: [1], floats: [0])
        let model = dir.appendingPathComponent("m.safetensors"), lone = dir.appendingPathComponent("lone.safetensors")
        let outputs = TrainingOutputs(model: model)
        try SafeTensors(tensors: ["w": tensor], metadata: ["ichct.config": "{}"]).write(to: model)
        try SafeTensors(tensors: ["w": tensor], metadata: ["ichct.config": "{}"]).write(to: lone)
        try SafeTensors(tensors: ["w": tensor], metadata: ["ichct.training": "{}"]).write(to: outputs.resume)
        #expect(TrainingOutputs.resumeFile(for: model) == outputs.resume)
        #expect(TrainingOutputs.resumeFile(for: outputs.resume) == outputs.resume)
        #expect(TrainingOutputs.resumeFile(for: lone) == lone)   // no resume file beside it
        let missing = dir.appendingPathComponent("none.safetensors")
        #expect(TrainingOutputs.resumeFile(for: missing) == missing)
    }
}
