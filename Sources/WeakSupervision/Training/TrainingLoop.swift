import Foundation
import CTVolume
import NeuralCore

/// Where a run writes: the kept model (``ModelSelection``: best by validation score, or the last) and the
/// resume file written atomically at the end of every epoch and when a run is stopped.
public struct TrainingOutputs: Sendable, Equatable {
    /// The kept model, a plain network checkpoint (`ichnets.load` opens it).
    public var model: URL
    /// Model, optimizer state, step, random state and history: what ``ClassifierTrainer`` and
    /// ``RefinerTrainer`` resume from.
    public var resume: URL

    /// Outputs at `model` and, by default, `<model without extension>.resume.safetensors`.
    public init(model: URL, resume: URL? = nil) {
        self.model = model
        self.resume = resume ?? model.deletingPathExtension().appendingPathExtension("resume.safetensors")
    }

    /// The resume file to continue from, given `url`: `url` itself when it holds a run's
    /// training state, or, when it is a model a run wrote (a checkpoint without training
    /// state), the resume file beside it if that exists; else `url` (whose reading then says
    /// what is wrong with it).
    public static func resumeFile(for url: URL) -> URL {
        if let file = try? SafeTensors(contentsOf: url), file.metadata["ichct.training"] == nil {
            let beside = TrainingOutputs(model: url).resume
            if FileManager.default.fileExists(atPath: beside.path) { return beside }
        }
        return url
    }
}

extension TrainingOutputs {
    /// Refuses to start a run over a model or resume file that exists, unless `allowed` (the
    /// run resumes, or the caller asked to overwrite).
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` naming the file.
    func refuseExisting(unless allowed: Bool) throws {
        guard !allowed else { return }
        for url in [model, resume] where FileManager.default.fileExists(atPath: url.path) {
            throw WeakSupervisionError.invalidParameter(name: "output", reason: "\(url.path) already exists (overwrite it, or resume from it)")
        }
    }
}

extension Checkpoint {
    /// Loads these weights into `model` as a run's starting point (fine-tuning), after checking
    /// that the checkpoint is of the architecture `config` the run trains.
    /// - Throws: ``WeakSupervisionError/shapeMismatch(what:expected:got:)`` for another
    ///   architecture; the loader's errors for tensors that do not fit.
    func loadInitialWeights(into model: Module, as config: ModelConfig) throws {
        guard self.config == config else {
            throw WeakSupervisionError.shapeMismatch(what: "initial checkpoint", expected: config.jsonString, got: self.config.jsonString)
        }
        try model.load(safeTensors: SafeTensors(tensors: tensors), source: "initial checkpoint")
    }
}

/// The part of a run's state that is not tensors, saved as JSON in the resume file.
struct TrainingProgress: Codable, Equatable {
    var kind: String
    var config: String
    var epoch: Int
    var batchInEpoch: Int
    var globalStep: Int
    var generatorState: [String]
    var lossSum: Double
    var bestScore: Double?
    var bestEpoch: Int?
    var history: [EpochReport]
    var trainCases: [String]
    var validationCases: [String]
}

/// The resume file: `model.<name>` (the network's state), `optimizer.<name>` (its buffers and
/// `optimizer.step`), `average.<name>` (the weight average, when the run keeps one), metadata
/// `ichct.training` (progress JSON), `ichct.optimizer`, `ichct.average`, `ichct.config`.
enum ResumeFile {
    static let progressKey = "ichct.training"

    static func write(to url: URL, model: Module, modelConfig: ModelConfig, optimizer: Optimizer, average: ExponentialMovingAverage?,
                      progress: TrainingProgress) throws {
        var file = SafeTensors()
        for (key, tensor) in model.storedStateDict() { file.tensors["model.\(key)"] = tensor }
        let state = optimizer.stateFile()
        for (key, tensor) in state.tensors { file.tensors["optimizer.\(key)"] = tensor }
        file.metadata = state.metadata
        if let average {
            let saved = average.stateFile()
            for (key, tensor) in saved.tensors { file.tensors["average.\(key)"] = tensor }
            file.metadata.merge(saved.metadata) { _, new in new }
        }
        file.metadata[ModelConfig.metadataKey] = modelConfig.jsonString
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        file.metadata[progressKey] = String(decoding: try encoder.encode(progress), as: UTF8.self)
        try file.write(to: url, overwrite: true)
    }

    static func progress(of file: SafeTensors, source: String) throws -> TrainingProgress {
        guard let json = file.metadata[progressKey] else {
            throw WeakSupervisionError.invalidParameter(name: "resume file", reason: "\(source): no \(progressKey) metadata (not a training resume file)")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            return try decoder.decode(TrainingProgress.self, from: Data(json.utf8))
        } catch {
            throw WeakSupervisionError.invalidParameter(name: "resume file", reason: "\(source): unreadable \(progressKey): \(error)")
        }
    }

    /// Loads model, optimizer and, when the run keeps one, its weight average, in place.
    static func restore(_ file: SafeTensors, source: String, model: Module, optimizer: Optimizer, average: ExponentialMovingAverage?) throws {
        var modelState: [String: StoredTensor] = [:], optimizerState = SafeTensors(metadata: file.metadata)
        var averageState = SafeTensors(metadata: file.metadata)
        for (key, tensor) in file.tensors {
            if key.hasPrefix("model.") { modelState[String(key.dropFirst(6))] = tensor }
            else if key.hasPrefix("optimizer.") { optimizerState.tensors[String(key.dropFirst(10))] = tensor }
            else if key.hasPrefix("average.") { averageState.tensors[String(key.dropFirst(8))] = tensor }
        }
        if let average {
            do {
                try average.load(stateFile: averageState, source: source, model: model)
            } catch {
                throw WeakSupervisionError.invalidParameter(name: "resume file", reason: "\(source): its weight average does not fit this run: \(error)")
            }
        }
        try model.load(safeTensors: SafeTensors(tensors: modelState), source: source)
        try optimizer.load(stateFile: optimizerState, source: source)
    }
}

/// The epoch/step machinery shared by the classifier and the refiner: schedule, resume,
/// checkpoints, best model, events. What a step and a validation do comes in as closures.
final class TrainingLoop {
    let kind: String
    let scoreName: String
    let model: Module
    let modelConfig: ModelConfig
    let optimizer: Optimizer
    /// The weight average that validation and the kept model use, when the run keeps one.
    let average: ExponentialMovingAverage?
    let settings: OptimizerSettings
    let seed: UInt64
    let epochs: Int
    let stepsPerEpoch: Int?
    let selection: ModelSelection
    /// Validate after epochs whose number is a multiple of this, and after the last.
    let validateEvery: Int
    let outputs: TrainingOutputs
    let observer: TrainingObserver
    let planEpoch: (inout SeededGenerator) -> [[Int]]
    /// The hard negatives among an epoch's trained batches (``EpochReport/hardNegatives``), if the trainer mines them.
    var hardNegativesIn: (([[Int]]) -> Int?)?
    let step: ([Int], inout SeededGenerator) -> Float
    let validate: () -> (score: Double?, loss: Double?)
    var progress: TrainingProgress
    var posWeight: Float?
    var itemsPerEpoch = 0
    /// The ranks of a data-parallel run (nil: one process). Rank 0 alone writes the model and
    /// the resume file; a stop is taken when any rank's observer asks for it.
    var communicator: (any Communicator)?

    private var isWriter: Bool { communicator?.isWriter ?? true }

    /// The observer's answer, the same on every rank (stop when any rank stops).
    private func control(_ event: TrainingEvent) -> TrainingControl {
        let local = observer.observe(event)
        guard let communicator, communicator.size > 1 else { return local }
        return communicator.any(local == .stop) ? .stop : .proceed
    }

    init(kind: String, scoreName: String, model: Module, modelConfig: ModelConfig, optimizer: Optimizer, averageDecay: Float?,
         settings: OptimizerSettings, seed: UInt64, epochs: Int, stepsPerEpoch: Int?, selection: ModelSelection, validateEvery: Int?,
         outputs: TrainingOutputs,
         observer: TrainingObserver, progress: TrainingProgress,
         planEpoch: @escaping (inout SeededGenerator) -> [[Int]],
         step: @escaping ([Int], inout SeededGenerator) -> Float,
         validate: @escaping () -> (score: Double?, loss: Double?)) {
        self.kind = kind
        self.scoreName = scoreName
        self.model = model
        self.modelConfig = modelConfig
        self.optimizer = optimizer
        self.average = averageDecay.map { ExponentialMovingAverage(decay: $0) }
        self.settings = settings
        self.seed = seed
        self.epochs = epochs
        self.stepsPerEpoch = stepsPerEpoch
        self.selection = selection
        self.validateEvery = max(1, validateEvery ?? 1)
        self.outputs = outputs
        self.observer = observer
        self.progress = progress
        self.planEpoch = planEpoch
        self.step = step
        self.validate = validate
    }

    /// Loads the resume file into the model, optimizer and progress, checking it belongs to this run.
    func resume(from url: URL) throws {
        let file = try SafeTensors(contentsOf: url)
        let saved = try ResumeFile.progress(of: file, source: url.path)
        guard saved.kind == progress.kind else {
            throw WeakSupervisionError.invalidParameter(name: "resume file", reason: "\(url.path) resumes a \(saved.kind) run, not a \(progress.kind) run")
        }
        guard saved.config == progress.config else {
            throw WeakSupervisionError.invalidParameter(name: "resume file", reason: "\(url.path) was made with another training configuration")
        }
        guard saved.trainCases == progress.trainCases, saved.validationCases == progress.validationCases else {
            throw WeakSupervisionError.invalidParameter(name: "resume file", reason: "\(url.path) was trained on other cases than the data given now")
        }
        try ResumeFile.restore(file, source: url.path, model: model, optimizer: optimizer, average: average)
        progress = saved
    }

    private func writeResume() throws {
        guard isWriter else { return }
        try ResumeFile.write(to: outputs.resume, model: model, modelConfig: modelConfig, optimizer: optimizer, average: average,
                             progress: progress)
    }

    /// Runs `body` with the weights that are validated and kept: the average's, when there is one.
    private func withKeptWeights<T>(_ body: () throws -> T) rethrows -> T {
        guard let average else { return try body() }
        return try average.withAveragedWeights(in: model, body)
    }

    private func writeModel() throws {
        guard isWriter else { return }
        try withKeptWeights { try Checkpoint(config: modelConfig, module: model).write(to: outputs.model, overwrite: true) }
    }

    func run(resumed: Bool) throws -> TrainingSummary {
        var probe = TrainingStreams.epoch(0, seed: seed)
        let fullPlan = planEpoch(&probe)
        itemsPerEpoch = fullPlan.reduce(0) { $0 + $1.count }
        let perEpoch = min(fullPlan.count, stepsPerEpoch ?? Int.max)
        guard perEpoch > 0 else { throw WeakSupervisionError.emptyInput(what: "\(kind) training batches") }
        let total = perEpoch * epochs
        let schedule = settings.makeSchedule(totalSteps: total)
        if control(.started(TrainingStart(
            kind: kind, epochs: epochs, startEpoch: progress.epoch, stepsPerEpoch: perEpoch,
            trainCases: progress.trainCases.count, validationCases: progress.validationCases.count,
            itemsPerEpoch: itemsPerEpoch, posWeight: posWeight, resumed: resumed))) == .stop {
            return summary(stopped: true)
        }
        let clock = ContinuousClock.now
        var sessionSteps = 0
        func seconds() -> Double {
            let d = ContinuousClock.now - clock
            return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        while progress.epoch < epochs {
            var generator = TrainingStreams.epoch(progress.epoch, seed: seed)
            let plan = Array(planEpoch(&generator).prefix(perEpoch))
            if progress.batchInEpoch > 0 {
                guard let saved = TrainingStreams.decode(progress.generatorState) else {
                    throw WeakSupervisionError.invalidParameter(name: "resume file", reason: "bad generator state \(progress.generatorState)")
                }
                generator = saved
            }
            var stopAfterEpoch = false
            while progress.batchInEpoch < plan.count {
                let rate = schedule.learningRate(at: progress.globalStep)
                optimizer.learningRate = rate
                model.train()
                let loss = step(plan[progress.batchInEpoch], &generator)
                guard loss.isFinite else {
                    throw WeakSupervisionError.nonFiniteValues(what: "\(kind) training loss at epoch \(progress.epoch + 1), step \(progress.batchInEpoch + 1)", count: 1)
                }
                average?.update(from: model)
                progress.batchInEpoch += 1
                progress.globalStep += 1
                progress.lossSum += Double(loss)
                progress.generatorState = TrainingStreams.encode(generator)
                sessionSteps += 1
                let elapsed = seconds()
                let left = Double(total - progress.globalStep) * elapsed / Double(sessionSteps)
                let answer = control(.step(StepReport(
                    epoch: progress.epoch + 1, epochs: epochs, step: progress.batchInEpoch, stepsInEpoch: plan.count,
                    globalStep: progress.globalStep, totalSteps: total, loss: loss, learningRate: rate,
                    elapsedSeconds: elapsed, remainingSeconds: left)))
                if answer == .stop {
                    if progress.batchInEpoch < plan.count {
                        try writeResume()
                        return summary(stopped: true)
                    }
                    stopAfterEpoch = true
                }
            }
            let validates = (progress.epoch + 1) % validateEvery == 0 || progress.epoch + 1 == epochs
            let (score, validationLoss) = validates ? withKeptWeights { validate() } : (nil, nil)
            model.train()
            var improved = false
            if selection == .last {
                improved = true
            } else if let score, score.isFinite {
                if progress.bestScore == nil || !(progress.bestScore!.isFinite) || score > progress.bestScore! { improved = true }
            } else if progress.bestScore == nil || !(progress.bestScore!.isFinite) {
                improved = true  // nothing to compare: keep the latest
            }
            // the ranks must agree before rank 0 writes what they computed
            try checkRanksAgree()
            if improved {
                progress.bestScore = score
                progress.bestEpoch = progress.epoch + 1
                try writeModel()
            }
            let report = EpochReport(epoch: progress.epoch + 1, epochs: epochs, trainLoss: progress.lossSum / Double(plan.count),
                                     validationLoss: validationLoss, validationScore: score, scoreName: scoreName,
                                     improved: improved, globalStep: progress.globalStep,
                                     hardNegatives: hardNegativesIn?(plan))
            progress.history.append(report)
            progress.epoch += 1
            progress.batchInEpoch = 0
            progress.lossSum = 0
            progress.generatorState = []
            try writeResume()
            if control(.epoch(report)) == .stop || stopAfterEpoch {
                return summary(stopped: progress.epoch < epochs)
            }
        }
        communicator?.barrier()
        return summary(stopped: false)
    }

    /// Every rank must hold the same weights after each epoch (they start from one seed and apply
    /// the same summed gradients); a difference means a rank computed something else, and is an
    /// error, found before rank 0 writes the epoch's files.
    private func checkRanksAgree() throws {
        guard let communicator, communicator.size > 1 else { return }
        let prints = communicator.fingerprints(of: model)
        guard Set(prints).count == 1 else {
            throw WeakSupervisionError.invalidParameter(
                name: "distributed \(kind) training", reason: "the ranks ended with different weights (fingerprints \(prints.map { String($0, radix: 16) }))")
        }
    }

    func summary(stopped: Bool) -> TrainingSummary {
        TrainingSummary(kind: kind, epochsCompleted: progress.epoch, epochs: epochs, globalStep: progress.globalStep,
                        bestEpoch: progress.bestEpoch, bestScore: progress.bestScore, scoreName: scoreName,
                        history: progress.history, trainCases: progress.trainCases, validationCases: progress.validationCases,
                        posWeight: posWeight, modelPath: outputs.model.path, resumePath: outputs.resume.path, stopped: stopped,
                        selection: selection)
    }
}
