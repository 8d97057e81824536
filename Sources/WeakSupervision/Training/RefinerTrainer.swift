import Foundation
import CTVolume
import NeuralCore

/// Trains the UNetLite refiner (stage 5) on (slice, mask) pairs: pseudo-masks for the weakly
/// supervised pipeline, true masks for the fully supervised upper bound (same code, same budget).
///
/// Each epoch uses every slice whose target is non-empty and a fresh seeded sample of
/// ``RefinerTrainingConfig/negativeFraction`` of the empty ones (Docs/method.md#7-the-pytorch-prototype-behind-the-defaults: most
/// slices are negative; with ``RefinerTrainingConfig/labelledNegatives``, only those whose weak
/// label is negative: a slice labelled positive with an empty target holds blood the target
/// missed, and is left out rather than taught as background). Shuffled and cut into batches of slices; each slice and its target get
/// one seeded draw of the augmentation (geometry on both, intensity on the image only). A 2.5-D
/// refiner (``UNetLiteConfig/contextSlices``) sees each slice with its neighbours
/// (``PreparedCase/slices(_:context:)``), under the same draw.
/// Loss = bceWeight · BCE(logits, target) + diceWeight · soft Dice (per slice, smoothing 1; with
/// ``RefinerTrainingConfig/diceSkipsEmptyTargets``, over the slices whose target is not empty).
/// After each epoch, every slice of the validation cases is segmented (logit > 0) and the
/// pooled Dice against targets ≥ 0.5 decides whether the model is kept.
///
/// ```swift
/// let trainer = RefinerTrainer(config: RefinerTrainingConfig(epochs: 6))
/// let summary = try trainer.train(training: cases, validation: held, outputs: TrainingOutputs(model: url))
/// ```
public struct RefinerTrainer {
    /// The run's every choice.
    public var config: RefinerTrainingConfig

    /// A trainer for `config`.
    public init(config: RefinerTrainingConfig) { self.config = config }

    /// Splits a dataset's cases (seeded as ``ClassifierTrainer/split(_:validationFraction:testFraction:seed:)``)
    /// and preprocesses each with its mask from `masks` (`masks/NAME.nii(.gz)`, on the scan's grid).
    /// Cases without a mask file there are left out and listed in `skipped`.
    ///
    /// - Parameters:
    ///   - dataset: the scans. - masks: folder of target masks (pseudo or true).
    ///   - shard: this rank's shard for data-parallel training on sharded data, as for
    ///     ``ClassifierTrainer/prepare(dataset:shard:)``; outlines keep their targets (the epoch
    ///     plan and the crops need every case's), not their slices. Default ``Shard/whole``.
    public func prepare(dataset: Dataset, masks: URL, shard: Shard = .whole) throws -> (training: [PreparedCase], validation: [PreparedCase], skipped: [String]) {
        try config.validate()
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: masks.path) else {
            throw WeakSupervisionError.invalidParameter(name: "masks", reason: "\(masks.path): no such folder, or it cannot be listed")
        }
        var files: [String: URL] = [:]
        for file in names.sorted() where !file.hasPrefix(".") {
            if let name = Dataset.caseName(ofFile: file) { files[name] = masks.appendingPathComponent(file) }
        }
        let usable = dataset.cases.filter { files[$0.name] != nil }
        guard !usable.isEmpty else {
            throw WeakSupervisionError.emptyInput(what: "\(masks.path): no mask named like a case of \(dataset.root.path)")
        }
        let split = try ClassifierTrainer.split(usable, validationFraction: config.validationFraction, testFraction: config.testFraction, seed: config.seed)
        let windows = config.model.windows.map { Window(center: Float($0.center), width: Float($0.width)) }
        let size = config.model.inputSize
        let hold = { (c: DatasetCase) in try PreparedCase(loading: c, maskURL: files[c.name], size: size, windows: windows) }
        let outline = { (c: DatasetCase) in try PreparedCase(outlineLoading: c, maskURL: files[c.name], size: size, channels: windows.count) }
        return (try shard.prepare(split.train, hold: hold, outline: outline), try shard.prepare(split.validation, hold: hold, outline: outline),
                dataset.cases.filter { files[$0.name] == nil }.map(\.name))
    }

    /// Trains from scratch (or resumes) and writes the outputs; see ``ClassifierTrainer/train(training:validation:outputs:resume:initial:overwrite:observer:communicator:)``
    /// for the parameters (data parallelism included). Every case needs ``PreparedCase/masks``.
    public func train(training: [PreparedCase], validation: [PreparedCase], outputs: TrainingOutputs,
                      resume: URL? = nil, initial: Checkpoint? = nil, overwrite: Bool = false,
                      observer: TrainingObserver = TrainingCallback.silent,
                      communicator: (any Communicator)? = nil) throws -> TrainingSummary {
        try config.validate()
        guard !training.isEmpty else { throw WeakSupervisionError.emptyInput(what: "refiner training cases") }
        let c = config
        // a case holds one channel per window; the network sees them for 2k + 1 slices
        let size = c.model.inputSize, channels = c.model.inChannels, plane = size * size
        let windowChannels = c.model.windows.count, context = c.model.contextSlices
        for item in training + validation {
            guard item.size == size, item.channels == windowChannels else {
                throw WeakSupervisionError.shapeMismatch(what: "case \(item.name)", expected: "\(windowChannels)x\(size)x\(size) slices",
                                                         got: "\(item.channels)x\(item.size)x\(item.size)")
            }
            guard item.hasTargets else { throw WeakSupervisionError.missingInput(method: "refiner training", input: "target masks for case \(item.name)") }
        }
        if c.hardNegatives != nil, let communicator, communicator.size > 1 {
            throw WeakSupervisionError.invalidParameter(name: "hardNegatives", reason: "hard-negative mining runs in one process only, not on \(communicator.size) ranks")
        }
        try outputs.refuseExisting(unless: resume != nil || overwrite)
        let parallel = try DataParallel.over(communicator, training: training, validation: validation)
        let model = UNetLite(config: c.model, seed: c.seed)
        model.synchronizeBatchStatistics(parallel?.sync)
        try initial?.loadInitialWeights(into: model, as: .unetLite(c.model))
        model.train()
        let optimizer = c.optimizer.makeOptimizer()
        // Items: (case, slice), in case then slice order.
        var items: [(Int, Int)] = [], positives: [Int] = [], negatives: [Int] = []
        for (ci, item) in training.enumerated() {
            for k in 0..<item.sliceCount {
                if item.mask(k).contains(where: { $0 > 0 }) {
                    positives.append(items.count)
                } else if c.labelledNegatives != true || item.labels[k] < 0.5 {
                    negatives.append(items.count)
                } else {
                    continue   // labelledNegatives: labelled positive, empty target, neither (see the type's doc)
                }
                items.append((ci, k))
            }
        }
        let negativeCount = Int((Double(negatives.count) * c.negativeFraction).rounded())
        if c.priorBias == true, initial == nil, resume == nil, let bias = model.head.bias {
            bias.data = [Self.priorLogit(training: training, items: items, positives: positives, negativeCount: negativeCount, plane: plane)]
        }
        let augment = c.augmentation != .none
        let mining = HardNegativeMining()
        // the first `count` of a seeded permutation of `items` (partial Fisher–Yates)
        func draw(_ count: Int, of items: [Int], using generator: inout SeededGenerator) -> [Int] {
            var pool = items
            if count < pool.count {
                for i in 0..<count {
                    let j = i + Int(generator.next().multipliedFullWidth(by: UInt64(pool.count - i)).high)
                    pool.swapAt(i, j)
                }
            }
            return Array(pool.prefix(count))
        }

        let plan: (inout SeededGenerator) -> [[Int]] = { generator in
            var drawn = draw(negativeCount, of: negatives, using: &generator)
            mining.focus = [:]
            mining.mined = false
            let probe = mining.skipNext
            mining.skipNext = false
            if let hard = c.hardNegatives, mining.trained, !probe {
                let wanted = Int(Double(negativeCount) * hard.share)
                mining.mined = true
                if wanted > 0 {
                    // the pool: a second draw from the epoch's stream, after the ordinary one
                    let candidates = draw(min(hard.pool, negatives.count), of: negatives, using: &generator)
                    let called = Self.calledPixels(of: candidates.map { items[$0] }, in: training, model: model, context: context)
                    let (negatives, hardOnes) = Self.withHardNegatives(drawn: drawn, candidates: candidates, called: called, wanted: wanted)
                    drawn = negatives
                    for h in hardOnes { mining.focus[h.item] = h.pixels }
                }
            }
            var chosen = positives + drawn
            if c.shuffle { generator.fisherYates(&chosen) } else { chosen.sort() }
            return stride(from: 0, to: chosen.count, by: c.batchSize).map { Array(chosen[$0..<min($0 + c.batchSize, chosen.count)]) }
        }

        let side = c.cropSize ?? size
        let step: ([Int], inout SeededGenerator) -> Float = { batch, generator in
            var x = [Float](), y = [Float](), own = 0
            for (j, i) in batch.enumerated() {
                let (ci, k) = items[i]
                let mine = parallel?.owns(j, case: ci) ?? true
                // every rank draws every item's augmentation and crop, so the streams stay in step
                let draw = augment ? c.augmentation.draw(size: size, using: &generator) : nil
                guard mine || side < size else { continue }
                var image = mine ? training[ci].slice(k, context: context) : [], target = training[ci].mask(k)
                if let draw {
                    if mine { draw.apply(to: &image, size: size, intensity: true) }
                    draw.apply(to: &target, size: size, intensity: false)
                }
                if side < size {
                    let (around, share) = Self.cropAnchor(target: target, called: mining.focus[i], draw: draw, size: size,
                                                          foreground: c.cropForeground)
                    let (y0, x0) = Self.cropOrigin(target: around, size: size, crop: side, foreground: share, using: &generator)
                    guard mine else { continue }
                    image = Self.crop(image, channels: channels, size: size, y0: y0, x0: x0, crop: side)
                    target = Self.crop(target, channels: 1, size: size, y0: y0, x0: x0, crop: side)
                }
                x += image
                y += target
                own += 1
            }
            model.zeroGrad()
            mining.trained = true
            let placeholder = own == 0
            if placeholder {
                // this rank has no item of the batch: a zero slice that adds nothing
                x = [Float](repeating: 0, count: channels * side * side)
                y = [Float](repeating: 0, count: side * side)
            }
            parallel?.sync.isPlaceholder = placeholder
            defer { parallel?.sync.isPlaceholder = false }
            let rows = max(own, 1)
            let logits = model(Tensor(shape: [rows, channels, side, side], data: x))
            let targets = Tensor(shape: [rows, 1, side, side], data: y)
            let skip = c.diceSkipsEmptyTargets ?? false
            var diceScale: Float = 1
            if skip, let parallel {
                // The Dice term is a mean over the global batch's samples with a target pixel.
                // This rank's loss is a mean over its own `n` of them, which the backward pass
                // weights by own / total; scaled by n · total / (own · N), the ranks' terms sum
                // to one process's mean over all N.
                let plane = side * side
                let n = placeholder ? 0 : (0..<own).filter { k in y[(k * plane)..<((k + 1) * plane)].contains { $0 > 0 } }.count
                var counts = [Double(n)]
                parallel.communicator.sum(&counts)
                diceScale = n == 0 ? 0 : Float(n) * Float(batch.count) / (Float(own) * Float(counts[0]))
            }
            let loss = Self.loss(logits, targets, bceWeight: c.bceWeight, diceWeight: c.diceWeight * diceScale,
                                diceSkipsEmptyTargets: skip)
            return DataParallel.step(loss, parallel: parallel, own: own, total: batch.count, model: model, optimizer: optimizer)
        }

        let validate: () -> (score: Double?, loss: Double?) = {
            guard !validation.isEmpty else { return (nil, nil) }
            model.eval()
            var inter = 0.0, predicted = 0.0, truth = 0.0, lossSum = 0.0, count = 0
            for (v, item) in validation.enumerated() where parallel?.validates(v) ?? true {
                for start in stride(from: 0, to: item.sliceCount, by: 16) {
                    let n = min(16, item.sliceCount - start)
                    let x = Tensor(shape: [n, channels, size, size], data: Array(item.slices(start..<(start + n), context: context)))
                    let y = Tensor(shape: [n, 1, size, size], data: Array(item.masks(start..<(start + n))))
                    let (logits, loss) = withoutGradients { () -> (Tensor, Tensor) in
                        let l = model(x)
                        return (l, Self.loss(l, y, bceWeight: c.bceWeight, diceWeight: c.diceWeight,
                                diceSkipsEmptyTargets: c.diceSkipsEmptyTargets ?? false))
                    }
                    lossSum += Double(loss.item) * Double(n)
                    count += n
                    for i in 0..<logits.count {
                        let p = logits.data[i] > 0, g = y.data[i] >= 0.5
                        if p { predicted += 1 }
                        if g { truth += 1 }
                        if p && g { inter += 1 }
                    }
                }
            }
            if let parallel {
                // each rank validated its share of the cases: the counts over all of them
                var totals = [inter, predicted, truth, lossSum, Double(count)]
                parallel.communicator.sum(&totals)
                (inter, predicted, truth, lossSum, count) = (totals[0], totals[1], totals[2], totals[3], Int(totals[4]))
            }
            let dice = predicted + truth > 0 ? 2 * inter / (predicted + truth) : Double.nan
            return (dice, lossSum / Double(max(count, 1)))
        }

        let progress = TrainingProgress(kind: "refiner", config: try ClassifierTrainer.json(c), epoch: 0, batchInEpoch: 0, globalStep: 0,
                                        generatorState: [], lossSum: 0, bestScore: nil, bestEpoch: nil, history: [],
                                        trainCases: training.map(\.name), validationCases: validation.map(\.name))
        let loop = TrainingLoop(kind: "refiner", scoreName: "dice", model: model, modelConfig: .unetLite(c.model),
                                optimizer: optimizer, averageDecay: c.averageDecay, settings: c.optimizer, seed: c.seed, epochs: c.epochs,
                                stepsPerEpoch: c.stepsPerEpoch, selection: c.selection ?? .best, validateEvery: c.validateEvery, outputs: outputs, observer: observer, progress: progress,
                                planEpoch: plan, step: step, validate: validate)
        loop.communicator = parallel?.communicator
        if c.hardNegatives != nil {
            // the hard negatives among the items the epoch trained on (its plan cut to stepsPerEpoch)
            loop.hardNegativesIn = { plan in mining.mined ? plan.joined().filter { mining.focus[$0] != nil }.count : nil }
        }
        if let resume {
            try loop.resume(from: resume)
            if c.hardNegatives != nil {
                guard loop.progress.batchInEpoch == 0 else {
                    throw WeakSupervisionError.invalidParameter(name: "resume file", reason: "\(resume.path) stopped within an epoch; a run with hard negatives resumes only at an epoch's end (the epoch's hard negatives were those of the weights at its start)")
                }
                mining.trained = loop.progress.epoch > 0
                // TrainingLoop.run's first plan only sizes the epochs: no pass over the pool for it
                mining.skipNext = mining.trained
            }
        }
        return try loop.run(resumed: resume != nil)
    }

    /// An epoch's negatives with hard ones in: the `candidates` with at least one pixel called
    /// (`called[i]` for `candidates[i]`), most pixels first and ties in candidate order, at most
    /// `wanted` of them, then the random `drawn` negatives that are not among them, as many as
    /// keep the count at `drawn.count`.
    /// - Returns: the negatives (hard ones first) and each hard one's item and called pixels.
    static func withHardNegatives(drawn: [Int], candidates: [Int], called: [[Int]], wanted: Int)
        -> (negatives: [Int], hard: [(item: Int, pixels: [Int])]) {
        precondition(candidates.count == called.count, "withHardNegatives: \(candidates.count) candidates, \(called.count) call lists")
        let ranked = candidates.indices.filter { !called[$0].isEmpty }
            .sorted { called[$0].count != called[$1].count ? called[$0].count > called[$1].count : $0 < $1 }
            .prefix(min(max(wanted, 0), drawn.count))
        let hard = ranked.map { (item: candidates[$0], pixels: called[$0]) }
        let taken = Set(hard.map(\.item))
        return (hard.map(\.item) + drawn.filter { !taken.contains($0) }.prefix(drawn.count - hard.count), hard)
    }

    /// A hard negative's crop anchor: a `size`-sided plane with 1 at the `called` pixels, moved
    /// by `draw` as the slice and its target are (a fractional shift spreads a mark over its
    /// neighbours, so a crop on it holds a called pixel to within one pixel; a shift can move
    /// every mark off the slice, and the crop then lies anywhere).
    static func calledPlane(_ called: [Int], size: Int, draw: AugmentationDraw?) -> ArraySlice<Float> {
        var marks = [Float](repeating: 0, count: size * size)[...]
        for p in called { marks[p] = 1 }
        draw?.apply(to: &marks, size: size, intensity: false)
        return marks
    }

    /// Where a sample's crop is drawn around, and with which foreground share: its target and
    /// the configured share, or for a hard negative (`called` pixels) ``calledPlane(_:size:draw:)``
    /// with every crop on it (share nil).
    static func cropAnchor(target: ArraySlice<Float>, called: [Int]?, draw: AugmentationDraw?, size: Int,
                           foreground: Double?) -> (anchor: ArraySlice<Float>, share: Double?) {
        guard let called else { return (target, foreground) }
        return (calledPlane(called, size: size, draw: draw), nil)
    }

    /// What the hard-negative mining of one run keeps between its plan and its steps.
    final class HardNegativeMining {
        /// Whether a step has been taken (the first epoch's plan mines nothing).
        var trained = false
        /// Skip the next plan's mining: a resumed run's first plan, which only sizes the epochs.
        var skipNext = false
        /// Whether this epoch's plan was mined.
        var mined = false
        /// The called pixels of this epoch's hard negatives, by item.
        var focus: [Int: [Int]] = [:]
    }

    /// The pixels (indices in the slice's plane) that `model` calls blood on (logit > 0) in
    /// each (case, slice) item, segmented whole in batches of 16 with BatchNorm's running
    /// statistics; the model is left in training mode.
    static func calledPixels(of items: [(Int, Int)], in cases: [PreparedCase], model: UNetLite, context: Int) -> [[Int]] {
        let size = model.config.inputSize, plane = size * size, channels = model.config.inChannels
        var out: [[Int]] = []
        out.reserveCapacity(items.count)
        model.eval()
        defer { model.train() }
        for start in stride(from: 0, to: items.count, by: 16) {
            let batch = items[start..<min(start + 16, items.count)]
            var x = [Float]()
            x.reserveCapacity(batch.count * channels * plane)
            for (ci, k) in batch { x += cases[ci].slice(k, context: context) }
            let logits = withoutGradients { model(Tensor(shape: [batch.count, channels, size, size], data: x)) }
            logits.withUnsafeBufferPointer { l in
                for b in 0..<batch.count {
                    out.append((0..<plane).filter { l[b * plane + $0] > 0 })
                }
            }
        }
        return out
    }

    /// The top-left corner of a `crop`-sided window of a `size`-sided slice: one that holds a
    /// target pixel (> 0) drawn uniformly when there is one, else anywhere; two or three draws.
    /// With a `foreground` share below 1, a first draw decides whether a slice with target
    /// pixels gets such a window (with that probability) or one anywhere.
    static func cropOrigin(target: ArraySlice<Float>, size: Int, crop: Int, foreground share: Double? = nil,
                           using generator: inout SeededGenerator) -> (Int, Int) {
        let foreground = target.indices.filter { target[$0] > 0 }
        let last = size - crop
        var anywhere = foreground.isEmpty
        if !anywhere, let share, share < 1 {
            anywhere = !generator.nextBernoulli(share)
        }
        if anywhere {
            return (generator.nextInt(in: 0...last), generator.nextInt(in: 0...last))
        }
        let pick = foreground[generator.nextInt(in: 0...(foreground.count - 1))] - target.startIndex
        let (py, px) = (pick / size, pick % size)
        // origins whose window [o, o + crop) holds p, within the slice
        let y0 = generator.nextInt(in: max(0, py - crop + 1)...min(py, last))
        let x0 = generator.nextInt(in: max(0, px - crop + 1)...min(px, last))
        return (y0, x0)
    }

    /// The `crop`-sided window at (y0, x0) of each channel of a (channels, size, size) slice.
    static func crop(_ values: ArraySlice<Float>, channels: Int, size: Int, y0: Int, x0: Int, crop: Int) -> ArraySlice<Float> {
        var out = [Float]()
        out.reserveCapacity(channels * crop * crop)
        let base = values.startIndex
        for ch in 0..<channels {
            for y in y0..<(y0 + crop) {
                let row = base + (ch * size + y) * size
                out += values[(row + x0)..<(row + x0 + crop)]
            }
        }
        return out[...]
    }

    /// log(π / (1 − π)) for π = the foreground share of an epoch's targets: the positive slices'
    /// mask values summed, over (positives + sampled negatives) · plane; π is kept in [1e-4, 0.5].
    static func priorLogit(training: [PreparedCase], items: [(Int, Int)], positives: [Int], negativeCount: Int, plane: Int) -> Float {
        var foreground = 0.0
        for i in positives {
            let (ci, k) = items[i]
            foreground += training[ci].mask(k).reduce(0.0) { $0 + Double($1) }
        }
        let share = min(max(foreground / Double(max(1, (positives.count + negativeCount) * plane)), 1e-4), 0.5)
        return Float(log(share / (1 - share)))
    }

    /// bceWeight · BCE(logits, targets) + diceWeight · softDice(logits, targets) (per sample,
    /// smoothing 1; with `diceSkipsEmptyTargets`, as ``RefinerTrainingConfig/diceSkipsEmptyTargets``,
    /// over the samples whose target is not empty).
    public static func loss(_ logits: Tensor, _ targets: Tensor, bceWeight: Float = 1, diceWeight: Float = 1,
                            diceSkipsEmptyTargets: Bool = false) -> Tensor {
        let bce = binaryCrossEntropyWithLogits(logits, targets: targets)
        let dice = softDiceLoss(logits, targets: targets, skipEmptyTargets: diceSkipsEmptyTargets)
        return bce * bceWeight + dice * diceWeight
    }

    /// The configuration stored in a refiner resume file.
    public static func config(ofResumeFile url: URL) throws -> RefinerTrainingConfig {
        let progress = try ResumeFile.progress(of: try SafeTensors(contentsOf: url), source: url.path)
        guard progress.kind == "refiner" else {
            throw WeakSupervisionError.invalidParameter(name: "resume file", reason: "\(url.path) resumes a \(progress.kind) run, not a refiner run")
        }
        return try JSONDecoder().decode(RefinerTrainingConfig.self, from: Data(progress.config.utf8))
    }
}
