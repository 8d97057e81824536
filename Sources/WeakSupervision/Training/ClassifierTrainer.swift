import Foundation
import CTVolume
import ImageCore
import Metrics
import NeuralCore

/// Trains the ResNet-LSTM slice classifier (stage 1) from weak slice labels.
///
/// Each epoch: the training cases' sequences of L contiguous slices (``SliceSequence/covering(caseIndex:sliceCount:length:)``)
/// are shuffled with the epoch's seeded stream, grouped into batches of B sequences of equal
/// length (the batch order shuffled again), each sequence augmented with one seeded draw
/// (``Augmentation``); loss = BCE with logits over all slices of the batch with
/// `pos_weight` = negatives / positives of the training slices (unless set), or with
/// ``TrainingConfig/positionBalance`` per-slice weights that balance the labels within bands
/// of position (``positionWeights(for:bands:)``); one
/// optimizer step per batch at the schedule's rate. After the epoch, every validation case
/// runs as one sequence of all its slices (evaluation mode) and the slice AUC
/// (``SliceClassification/rocAUC(scores:labels:)``) decides whether the model is kept.
///
/// ```swift
/// let trainer = ClassifierTrainer(config: TrainingConfig(epochs: 12, seed: 7))
/// let (train, validation) = try trainer.prepare(dataset: try Dataset(root: root))
/// let summary = try trainer.train(training: train, validation: validation,
///                                 outputs: TrainingOutputs(model: url), observer: myObserver)
/// ```
public struct ClassifierTrainer {
    /// The run's every choice.
    public var config: TrainingConfig

    /// A trainer for `config`.
    public init(config: TrainingConfig) { self.config = config }

    /// Splits a dataset's cases (``DatasetSplit``, seeded by ``TrainingConfig/seed``) and
    /// preprocesses the training and validation cases into memory.
    ///
    /// - Parameters:
    ///   - dataset: the cases; weak labels from masks or `slices.csv`.
    ///   - shard: for data-parallel training on sharded data, this rank's shard
    ///     (`Shard(index: rank, count: ranks)`): the cases at positions K, K + N, ... of each list
    ///     are preprocessed, the others kept as outlines (their labels only,
    ///     ``PreparedCase/init(outlineLoading:maskURL:size:channels:)``), and ``train(training:validation:outputs:resume:initial:overwrite:observer:communicator:)``
    ///     with the same ranks sends each item to the rank that holds its case. Default
    ///     ``Shard/whole``: every case on every rank.
    /// - Returns: training and validation cases (test cases, if any fraction, left out).
    public func prepare(dataset: Dataset, shard: Shard = .whole) throws -> (training: [PreparedCase], validation: [PreparedCase]) {
        try config.validate()
        let split = try Self.split(dataset.cases, validationFraction: config.validationFraction, testFraction: config.testFraction, seed: config.seed)
        let windows = config.model.windows.map { Window(center: Float($0.center), width: Float($0.width)) }
        let size = config.model.inputSize
        let hold = { (c: DatasetCase) in try PreparedCase(loading: c, size: size, windows: windows) }
        let outline = { (c: DatasetCase) in try PreparedCase(outlineLoading: c, size: size, channels: windows.count) }
        return (try shard.prepare(split.train, hold: hold, outline: outline), try shard.prepare(split.validation, hold: hold, outline: outline))
    }

    /// The case-level split every trainer uses: ``DatasetSplit`` drawing from a ``SeededGenerator``
    /// stream of `seed` reserved for the split.
    public static func split(_ cases: [DatasetCase], validationFraction: Double, testFraction: Double, seed: UInt64) throws -> DatasetSplit {
        var generator = TrainingStreams.split(seed: seed)
        return try DatasetSplit(cases: cases, validationFraction: validationFraction, testFraction: testFraction, using: &generator)
    }

    /// The `pos_weight` of BCE for these cases: negatives / positives over all their slices
    /// (1 when there is no positive or no negative slice).
    public static func posWeight(for cases: [PreparedCase]) -> Float {
        let labels = cases.flatMap(\.labels)
        let positives = labels.filter { $0 > 0.5 }.count
        let negatives = labels.count - positives
        return positives > 0 && negatives > 0 ? Float(negatives) / Float(positives) : 1
    }

    /// Per-slice loss weights that make a slice's position in its scan carry no label
    /// (``TrainingConfig/positionBalance``).
    ///
    /// Slice k of a case of n slices lies at distance d = |k/(n − 1) − 1/2| · 2 ∈ [0, 1] from
    /// the middle (d = 0 when n = 1), folded so that the stored slice order (head first or
    /// feet first) does not matter; band b = min(⌊d · B⌋, B − 1). Over all slices of `cases`,
    /// a band of T slices, P positive and N negative, gives each positive T / (2P) and each
    /// negative T / (2N), so its positives and negatives weigh T/2 each; a band without
    /// positives or without negatives weighs each slice 1. Every band's weights thus sum to its
    /// slice count, so they average 1 over the slices, as unweighted BCE does.
    ///
    /// - Returns: one weight per slice of each case, in the cases' order.
    public static func positionWeights(for cases: [PreparedCase], bands: Int) -> [[Float]] {
        precondition(bands >= 1, "positionWeights: bands must be ≥ 1")
        func band(_ k: Int, _ n: Int) -> Int {
            let d = n > 1 ? abs(Double(k) / Double(n - 1) - 0.5) * 2 : 0
            return min(Int(d * Double(bands)), bands - 1)
        }
        var positives = [Int](repeating: 0, count: bands), totals = [Int](repeating: 0, count: bands)
        for item in cases {
            for (k, label) in item.labels.enumerated() {
                let b = band(k, item.labels.count)
                totals[b] += 1
                if label > 0.5 { positives[b] += 1 }
            }
        }
        return cases.map { item in
            item.labels.enumerated().map { k, label -> Float in
                let b = band(k, item.labels.count)
                let (p, t) = (positives[b], totals[b])
                guard p > 0 && p < t else { return 1 }
                return Float(label > 0.5 ? Double(t) / (2 * Double(p)) : Double(t) / (2 * Double(t - p)))
            }
        }
    }

    /// Trains from scratch (or resumes) and writes the outputs.
    ///
    /// - Parameters:
    ///   - training: cases to train on (network size and channels must match the configuration).
    ///   - validation: cases for the per-epoch slice AUC (may be empty: then the last model is kept).
    ///   - outputs: where the kept model and the resume file go.
    ///   - resume: a resume file of this same configuration and cases, or `nil`.
    ///   - initial: starting weights (a checkpoint of this architecture) instead of the seeded
    ///     initialisation, e.g. to fine-tune (default `nil`).
    ///   - overwrite: replace existing outputs when starting afresh (default `false`).
    ///   - observer: receives events and may stop the run (default silent).
    ///   - communicator: the ranks of a data-parallel run (``DataParallel``: each rank computes
    ///     its share of every global batch of ``TrainingConfig/batchSize``, and the weights are
    ///     those of one process with that batch); rank 0 alone writes the outputs. nil (default)
    ///     or one rank: this process alone. Every rank must be given the same configuration
    ///     and cases, or on sharded data each its own shard of the same lists
    ///     (``prepare(dataset:shard:)``: outlines of the cases other ranks hold), in which case
    ///     each item is computed by the rank that holds its case.
    /// - Returns: the run's summary.
    /// - Throws: invalid configuration or data, existing outputs, a foreign resume file, a
    ///   non-finite loss, ranks that end with different weights, and file errors.
    public func train(training: [PreparedCase], validation: [PreparedCase], outputs: TrainingOutputs,
                      resume: URL? = nil, initial: Checkpoint? = nil, overwrite: Bool = false,
                      observer: TrainingObserver = TrainingCallback.silent,
                      communicator: (any Communicator)? = nil) throws -> TrainingSummary {
        try config.validate()
        guard !training.isEmpty else { throw WeakSupervisionError.emptyInput(what: "classifier training cases") }
        let c = config
        for item in training + validation where item.size != c.model.inputSize || item.channels != c.model.inChannels {
            throw WeakSupervisionError.shapeMismatch(what: "case \(item.name)", expected: "\(c.model.inChannels)x\(c.model.inputSize)x\(c.model.inputSize) slices",
                                                     got: "\(item.channels)x\(item.size)x\(item.size)")
        }
        try outputs.refuseExisting(unless: resume != nil || overwrite)
        let parallel = try DataParallel.over(communicator, training: training, validation: validation)
        let model = ResNetLSTM(config: c.model, seed: c.seed)
        model.synchronizeBatchStatistics(parallel?.sync)
        try initial?.loadInitialWeights(into: model, as: .resnetLSTM(c.model))
        model.train()
        let optimizer = c.optimizer.makeOptimizer()
        // the position balance weighs positives within each band; otherwise one pos_weight
        let sliceWeights = c.positionBalance.map { Self.positionWeights(for: training, bands: $0) }
        let posWeight = sliceWeights != nil ? 1 : c.posWeight ?? Self.posWeight(for: training)
        var sequences: [SliceSequence] = []
        for (i, item) in training.enumerated() {
            sequences += SliceSequence.covering(caseIndex: i, sliceCount: item.sliceCount, length: c.sequenceLength)
        }
        let augment = c.augmentation != .none
        let size = c.model.inputSize, channels = c.model.inChannels

        let plan: (inout SeededGenerator) -> [[Int]] = { generator in
            var order = Array(sequences.indices)
            if c.shuffle { generator.fisherYates(&order) }
            // Batches hold sequences of one length; group in order of first appearance.
            var groups: [Int: [Int]] = [:], lengths: [Int] = []
            for i in order {
                let l = sequences[i].length
                if groups[l] == nil { lengths.append(l) }
                groups[l, default: []].append(i)
            }
            var batches: [[Int]] = []
            for l in lengths {
                let g = groups[l]!
                batches += stride(from: 0, to: g.count, by: c.batchSize).map { Array(g[$0..<min($0 + c.batchSize, g.count)]) }
            }
            if c.shuffle { generator.fisherYates(&batches) }
            return batches
        }

        let step: ([Int], inout SeededGenerator) -> Float = { batch, generator in
            let t = sequences[batch[0]].length
            let stride = channels * size * size
            var x = [Float](), y = [Float](), w = [Float](), own = 0
            x.reserveCapacity(batch.count * t * stride)
            var mine: [(sequence: SliceSequence, draw: AugmentationDraw?)] = []
            for (j, i) in batch.enumerated() {
                // every rank draws every item's augmentation, so the streams stay in step
                let draw = augment ? c.augmentation.draw(size: size, using: &generator) : nil
                guard parallel?.owns(j, case: sequences[i].caseIndex) ?? true else { continue }
                mine.append((sequences[i], draw))
            }
            // the drawn augmentations applied on every core, each sequence into its own slot
            let augmented = SharedBuffer<ArraySlice<Float>>(count: mine.count, repeating: [])
            parallelFor(mine.count) { n in
                let s = mine[n].sequence
                var values = training[s.caseIndex].slices(s.start..<(s.start + t))
                mine[n].draw?.apply(to: &values, size: size, intensity: true)
                augmented.pointer[n] = values
            }
            for (n, (s, _)) in mine.enumerated() {
                x += augmented.pointer[n]
                y += training[s.caseIndex].labels[s.start..<(s.start + t)]
                if let sliceWeights { w += sliceWeights[s.caseIndex][s.start..<(s.start + t)] }
                own += 1
            }
            model.zeroGrad()
            let placeholder = own == 0
            if placeholder {
                // this rank has no item of the batch: a zero sequence that adds nothing
                x = [Float](repeating: 0, count: t * stride)
                y = [Float](repeating: 0, count: t)
                w = [Float](repeating: 0, count: sliceWeights == nil ? 0 : t)
            }
            parallel?.sync.isPlaceholder = placeholder
            defer { parallel?.sync.isPlaceholder = false }
            let rows = max(own, 1)
            let logits = model(Tensor(shape: [rows, t, channels, size, size], data: x))
            let loss = binaryCrossEntropyWithLogits(logits, targets: Tensor(shape: [rows, t], data: y), posWeight: posWeight,
                                                    weights: sliceWeights == nil ? nil : Tensor(shape: [rows, t], data: w))
            return DataParallel.step(loss, parallel: parallel, own: own, total: batch.count, model: model, optimizer: optimizer)
        }

        let validate: () -> (score: Double?, loss: Double?) = {
            guard !validation.isEmpty else { return (nil, nil) }
            model.eval()
            var scores: [Double] = [], labels: [Bool] = [], lossSum = 0.0
            for (v, item) in validation.enumerated() where parallel?.validates(v) ?? true {
                // The encoder 16 slices at a time (bounded memory), the LSTM over the whole volume.
                let logits = withoutGradients { () -> Tensor in
                    let x = Tensor(shape: [item.sliceCount, channels, size, size], data: item.slices)
                    let maps = stride(from: 0, to: item.sliceCount, by: 16).map {
                        model.featureMaps(x.slice(axis: 0, $0..<min($0 + 16, item.sliceCount)))
                    }
                    return model.head(maps.count == 1 ? maps[0] : Tensor.concatenate(maps, axis: 0), batch: 1, time: item.sliceCount)
                }
                let targets = Tensor(shape: [1, item.sliceCount], data: item.labels)
                lossSum += Double(withoutGradients { binaryCrossEntropyWithLogits(logits, targets: targets) }.item) * Double(item.sliceCount)
                scores += logits.data.map { 1 / (1 + Foundation.exp(-Double($0))) }
                labels += item.labels.map { $0 > 0.5 }
            }
            if let parallel {
                // each rank scored its share of the cases: every rank gets all of them
                let parts = parallel.communicator.gather(scores + labels.map { $0 ? 1 : 0 })
                scores = parts.flatMap { $0.prefix($0.count / 2) }
                labels = parts.flatMap { $0.suffix($0.count / 2).map { $0 > 0.5 } }
                var total = [lossSum]
                parallel.communicator.sum(&total)
                lossSum = total[0]
            }
            return (SliceClassification.rocAUC(scores: scores, labels: labels), lossSum / Double(labels.count))
        }

        let configJSON = try Self.json(c)
        let progress = TrainingProgress(kind: "classifier", config: configJSON, epoch: 0, batchInEpoch: 0, globalStep: 0,
                                        generatorState: [], lossSum: 0, bestScore: nil, bestEpoch: nil, history: [],
                                        trainCases: training.map(\.name), validationCases: validation.map(\.name))
        let loop = TrainingLoop(kind: "classifier", scoreName: "auc", model: model, modelConfig: .resnetLSTM(c.model),
                                optimizer: optimizer, averageDecay: c.averageDecay, settings: c.optimizer, seed: c.seed, epochs: c.epochs,
                                stepsPerEpoch: c.stepsPerEpoch, selection: c.selection ?? .best, validateEvery: c.validateEvery, outputs: outputs, observer: observer, progress: progress,
                                planEpoch: plan, step: step, validate: validate)
        loop.posWeight = posWeight
        loop.communicator = parallel?.communicator
        if let resume { try loop.resume(from: resume) }
        return try loop.run(resumed: resume != nil)
    }

    /// The configuration stored in a classifier resume file (to continue a run with it).
    public static func config(ofResumeFile url: URL) throws -> TrainingConfig {
        let progress = try ResumeFile.progress(of: try SafeTensors(contentsOf: url), source: url.path)
        guard progress.kind == "classifier" else {
            throw WeakSupervisionError.invalidParameter(name: "resume file", reason: "\(url.path) resumes a \(progress.kind) run, not a classifier run")
        }
        return try JSONDecoder().decode(TrainingConfig.self, from: Data(progress.config.utf8))
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
