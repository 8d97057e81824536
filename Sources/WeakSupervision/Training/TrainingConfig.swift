import Foundation
import NeuralCore

/// The optimizer and learning-rate schedule of a training run.
///
/// The rate at global step s follows ``CosineWithWarmup`` (linear warm-up over
/// ``warmupSteps``, cosine decay to ``minimumLearningRate`` at the last step) or stays constant.
public struct OptimizerSettings: Codable, Sendable, Equatable {
    /// Adam (default), AdamW or SGD.
    public var kind: OptimizerKind
    /// Peak learning rate (default 1e-3).
    public var learningRate: Float
    /// SGD momentum μ (default 0.9; ignored by Adam).
    public var momentum: Float
    /// Weight decay λ (default 0: Adam/SGD add λp to the gradient, AdamW decouples it).
    public var weightDecay: Float
    /// Cosine with warm-up (default) or constant.
    public var schedule: ScheduleKind
    /// Linear warm-up steps W (default 0).
    public var warmupSteps: Int
    /// Floor of the cosine decay (default 0).
    public var minimumLearningRate: Float

    /// Settings; every default as documented on the properties.
    public init(kind: OptimizerKind = .adam, learningRate: Float = 1e-3, momentum: Float = 0.9, weightDecay: Float = 0,
                schedule: ScheduleKind = .cosine, warmupSteps: Int = 0, minimumLearningRate: Float = 0) {
        self.kind = kind
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.schedule = schedule
        self.warmupSteps = warmupSteps
        self.minimumLearningRate = minimumLearningRate
    }

    /// Throws for an out-of-range number.
    public func validate() throws {
        guard learningRate > 0, learningRate.isFinite else {
            throw WeakSupervisionError.invalidParameter(name: "learning rate", reason: "\(learningRate) must be finite and > 0")
        }
        guard momentum >= 0, weightDecay >= 0, warmupSteps >= 0, minimumLearningRate >= 0 else {
            throw WeakSupervisionError.invalidParameter(name: "optimizer", reason: "momentum, weight decay, warm-up and minimum rate must be ≥ 0")
        }
    }

    /// A fresh optimizer of this kind.
    public func makeOptimizer() -> Optimizer {
        switch kind {
        case .sgd: return SGD(learningRate: learningRate, momentum: momentum, weightDecay: weightDecay)
        case .adamw: return AdamW(learningRate: learningRate, weightDecay: weightDecay)
        case .adam: return Adam(learningRate: learningRate, weightDecay: weightDecay)
        }
    }

    /// The schedule over `totalSteps` steps.
    public func makeSchedule(totalSteps: Int) -> any LearningRateSchedule {
        if schedule == .constant || totalSteps <= warmupSteps { return ConstantLearningRate(base: learningRate) }
        return CosineWithWarmup(base: learningRate, warmupSteps: warmupSteps, totalSteps: totalSteps, minimum: minimumLearningRate)
    }
}

/// Which epoch's model a training run keeps at ``TrainingOutputs/model``.
///
/// `best` is the usual early-stopping choice. `last` suits a schedule that decays to its end
/// when the validation set is too small to rank epochs: in a 24-epoch run of the full demo's
/// classifier, slice AUC on the 40 validation cases stayed between 0.951 and 0.958 from epoch
/// 11 on, while on the 60 test cases it went from 0.92 to 0.95 (not monotonically: 0.921 at
/// epoch 14); the best validation epoch (18) scored 0.942 there, the last 0.949 (Docs/pipeline.md,
/// run log).
public enum ModelSelection: String, Codable, Sendable, CaseIterable {
    /// The epoch with the best validation score (the latest, when there is no validation).
    case best
    /// The last completed epoch, whatever its validation score; validation is still run and
    /// reported. Every epoch counts as kept (``EpochReport/improved``), so patience never stops a run.
    case last
}

/// Every choice of a classifier (stage 1) training run, seed included: the run is a function
/// of this value and the data. Stored in every resume file.
public struct TrainingConfig: Codable, Sendable, Equatable {
    /// The architecture (input size, width, blocks, hidden, bidirectional, windows).
    public var model: ResNetLSTMConfig
    /// Optimizer and schedule.
    public var optimizer: OptimizerSettings
    /// Epochs (default 10).
    public var epochs: Int
    /// Slices per sequence L (default 16; 0 = whole volumes).
    public var sequenceLength: Int
    /// Sequences per batch B (default 2); a batch holds sequences of one length.
    public var batchSize: Int
    /// At most this many steps per epoch (default `nil`: all batches).
    public var stepsPerEpoch: Int?
    /// Seed of the network's initialisation, the split, the shuffles and the augmentation (default 0).
    public var seed: UInt64
    /// Share of cases held out for validation (default 0.15).
    public var validationFraction: Double
    /// Share of cases held out for testing, not used here but excluded (default 0).
    public var testFraction: Double
    /// Shuffle the sequences every epoch (default `true`).
    public var shuffle: Bool
    /// Training augmentation (default ``Augmentation/init(horizontalFlip:verticalFlip:maxRotationDegrees:maxShift:intensityScale:intensityShift:maxZoom:)``).
    public var augmentation: Augmentation
    /// BCE `pos_weight`; `nil` (default) = negatives / positives over the training slices.
    public var posWeight: Float?
    /// Which epoch's model is kept; `nil` (default) = ``ModelSelection/best``. Optional so that
    /// configurations written before it decode, and keep their JSON, unchanged.
    public var selection: ModelSelection?
    /// Decay of an exponential moving average of the weights (``ExponentialMovingAverage``):
    /// when set, validation scores and the kept model use the averaged weights, and the resume
    /// file carries the average. `nil` (default) = no average; optional so that configurations
    /// written before it decode, and keep their JSON, unchanged.
    public var averageDecay: Float?
    /// Validate every this many epochs, and always after the last (`nil`, default: every
    /// epoch). Epochs left unvalidated report no score; under ``ModelSelection/best`` they are
    /// kept only while no validated epoch has a score. With ``ModelSelection/last`` the scores
    /// are only reported, so validating the last epoch alone saves the whole-slice passes over
    /// the validation cases that the other epochs would cost.
    public var validateEvery: Int?
    /// Bands of a slice's distance from the middle of its scan, B: when set, each training
    /// slice's loss is weighted so that within every band positive and negative slices weigh
    /// the same (``ClassifierTrainer/positionWeights(for:bands:)``), and `posWeight` must be
    /// nil. Slice position then predicts no label, so the network cannot score a slice by
    /// where it lies in the head (where bleeds are common) instead of by what it shows.
    /// `nil` (default) = the scalar `pos_weight`; optional so that configurations written
    /// before it decode, and keep their JSON, unchanged.
    public var positionBalance: Int?

    /// A configuration; every default as documented on the properties.
    public init(model: ResNetLSTMConfig = ResNetLSTMConfig(), optimizer: OptimizerSettings = OptimizerSettings(), epochs: Int = 10,
                sequenceLength: Int = 16, batchSize: Int = 2, stepsPerEpoch: Int? = nil, seed: UInt64 = 0,
                validationFraction: Double = 0.15, testFraction: Double = 0, shuffle: Bool = true,
                augmentation: Augmentation = Augmentation(), posWeight: Float? = nil, selection: ModelSelection? = nil,
                averageDecay: Float? = nil, validateEvery: Int? = nil, positionBalance: Int? = nil) {
        self.model = model
        self.optimizer = optimizer
        self.epochs = epochs
        self.sequenceLength = sequenceLength
        self.batchSize = batchSize
        self.stepsPerEpoch = stepsPerEpoch
        self.seed = seed
        self.validationFraction = validationFraction
        self.testFraction = testFraction
        self.shuffle = shuffle
        self.augmentation = augmentation
        self.posWeight = posWeight
        self.selection = selection
        self.averageDecay = averageDecay
        self.validateEvery = validateEvery
        self.positionBalance = positionBalance
    }

    /// Throws ``WeakSupervisionError/invalidParameter(name:reason:)`` naming the first bad field.
    public func validate() throws {
        try optimizer.validate()
        try augmentation.validate()
        if let bands = positionBalance {
            guard (1...1000).contains(bands) else {
                throw WeakSupervisionError.invalidParameter(name: "position balance", reason: "\(bands) must lie in 1...1000 (bands)")
            }
            guard posWeight == nil else {
                throw WeakSupervisionError.invalidParameter(name: "position balance", reason: "weights positives itself; pos_weight must not be set with it")
            }
        }
        try Self.checkAverage(averageDecay)
        try Self.checkValidateEvery(validateEvery)
        try Self.checkCommon(epochs: epochs, batchSize: batchSize, stepsPerEpoch: stepsPerEpoch,
                             validationFraction: validationFraction, testFraction: testFraction)
        guard sequenceLength >= 0 else { throw WeakSupervisionError.invalidParameter(name: "sequence length", reason: "\(sequenceLength) must be ≥ 0 (0 = whole volumes)") }
        if let posWeight, !(posWeight > 0 && posWeight.isFinite) {
            throw WeakSupervisionError.invalidParameter(name: "pos_weight", reason: "\(posWeight) must be finite and > 0")
        }
        do { try ModelConfig.resnetLSTM(model).validate(source: "training configuration") } catch {
            throw WeakSupervisionError.invalidParameter(name: "model", reason: "\(error)")
        }
    }

    static func checkValidateEvery(_ every: Int?) throws {
        if let every, every < 1 {
            throw WeakSupervisionError.invalidParameter(name: "validate every", reason: "\(every) must be ≥ 1 (epochs)")
        }
    }

    static func checkAverage(_ decay: Float?) throws {
        if let decay, !(decay >= 0 && decay < 1) {
            throw WeakSupervisionError.invalidParameter(name: "average decay", reason: "\(decay) must lie in [0, 1)")
        }
    }

    static func checkCommon(epochs: Int, batchSize: Int, stepsPerEpoch: Int?, validationFraction: Double, testFraction: Double) throws {
        guard epochs >= 1 else { throw WeakSupervisionError.invalidParameter(name: "epochs", reason: "\(epochs) must be ≥ 1") }
        guard batchSize >= 1 else { throw WeakSupervisionError.invalidParameter(name: "batch size", reason: "\(batchSize) must be ≥ 1") }
        if let s = stepsPerEpoch, s < 1 { throw WeakSupervisionError.invalidParameter(name: "steps per epoch", reason: "\(s) must be ≥ 1") }
        guard (0..<1).contains(validationFraction), (0..<1).contains(testFraction), validationFraction + testFraction < 1 else {
            throw WeakSupervisionError.invalidParameter(name: "validation/test fraction",
                                                        reason: "\(validationFraction) and \(testFraction) must lie in [0, 1) and sum to less than 1")
        }
    }
}

/// Every choice of a refiner (UNetLite, stage 5) training run, seed included.
///
/// The same code trains the weakly supervised refiner (targets = pseudo-masks) and the fully
/// supervised upper bound (targets = true masks, same budget).
public struct RefinerTrainingConfig: Codable, Sendable, Equatable {
    /// The architecture (input size, widths, windows, neighbouring slices).
    public var model: UNetLiteConfig
    /// Optimizer and schedule.
    public var optimizer: OptimizerSettings
    /// Epochs (default 6).
    public var epochs: Int
    /// Slices per batch (default 8).
    public var batchSize: Int
    /// At most this many steps per epoch (default `nil`: all batches).
    public var stepsPerEpoch: Int?
    /// Seed of the initialisation, split, negative sampling, shuffles and augmentation (default 0).
    public var seed: UInt64
    /// Share of cases held out for validation (default 0.15).
    public var validationFraction: Double
    /// Share of cases held out for testing (default 0).
    public var testFraction: Double
    /// Shuffle every epoch (default `true`).
    public var shuffle: Bool
    /// Share of the empty-target slices drawn afresh each epoch (default 0.25); every slice
    /// with a non-empty target is used every epoch (Docs/method.md#7-the-pytorch-prototype-behind-the-defaults).
    public var negativeFraction: Double
    /// Weight of BCE in the loss (default 1).
    public var bceWeight: Float
    /// Weight of soft Dice (per slice, smoothing 1) in the loss (default 1).
    public var diceWeight: Float
    /// Training augmentation (default ``Augmentation/flipsAndShifts``).
    public var augmentation: Augmentation
    /// Which epoch's model is kept; `nil` (default) = ``ModelSelection/best``. Optional so that
    /// configurations written before it decode, and keep their JSON, unchanged.
    public var selection: ModelSelection?
    /// Decay of an exponential moving average of the weights (``ExponentialMovingAverage``):
    /// when set, validation scores and the kept model use the averaged weights, and the resume
    /// file carries the average. `nil` (default) = no average; optional so that configurations
    /// written before it decode, and keep their JSON, unchanged.
    public var averageDecay: Float?
    /// Start the output layer's bias at the logit of the targets' foreground share (the
    /// positive slices' mask voxels over every voxel of an epoch's whole slices), so that the first
    /// steps do not go to learning that nearly every pixel is background (RetinaNet's prior
    /// initialisation). `nil` (default) = the layer's usual initialisation; ignored when
    /// training starts from an initial checkpoint or resumes.
    public var priorBias: Bool?
    /// Train on square crops of this side (a multiple of 2^(levels − 1), below the input size)
    /// cut from each augmented slice and its target, the way nnU-Net trains on patches: a step
    /// then costs about (crop / size)² of a whole slice's, so the same time buys more steps.
    /// On a slice whose target is not empty the crop holds a target pixel drawn at random; on
    /// an empty one it lies anywhere. Validation and inference use whole slices. `nil` (default)
    /// = whole slices.
    public var cropSize: Int?
    /// With ``cropSize``: the share of crops on slices with a non-empty target that are made
    /// to hold a target pixel; the others lie anywhere on the slice, as nnU-Net oversamples
    /// foreground in a third of its patches rather than in all. Crops that always hold blood
    /// show the network little of the tissue around it, and BatchNorm's statistics gathered on
    /// them lean towards blood. `nil` (default) = 1: every such crop holds a target pixel (and
    /// the draws are those of configurations written before this field).
    public var cropForeground: Double?
    /// Validate every this many epochs, and always after the last (`nil`, default: every
    /// epoch). Epochs left unvalidated report no score; under ``ModelSelection/best`` they are
    /// kept only while no validated epoch has a score. With ``ModelSelection/last`` the scores
    /// are only reported, so validating the last epoch alone saves the whole-slice passes over
    /// the validation cases that the other epochs would cost.
    public var validateEvery: Int?
    /// `true`: an empty-target slice is a negative only when its weak label
    /// (``PreparedCase/labels``) is negative too; a slice labelled positive whose target is empty
    /// (a pseudo-mask that found nothing on a bleeding slice) is left out of training rather than
    /// taught as background. `nil` (default, the presets) = every empty-target slice may be drawn
    /// as a negative. The pipeline's refiner stage sets it with `pseudoMasks.positiveSlices:
    /// labels`.
    public var labelledNegatives: Bool?
    /// `true`: the Dice term of the loss averages over the samples of a batch whose target
    /// holds a value above 0 (NeuralCore's `softDiceLoss(_:targets:smooth:perSample:skipEmptyTargets:)`),
    /// so that empty crops and negative slices are taught by the BCE term alone. With smoothing
    /// 1, an empty target's Dice pulls every logit of its sample towards background, harder the
    /// less the network calls there; with crops, most samples of a batch are empty. It also
    /// weighs each remaining sample's Dice by 1 / n (n of them) instead of 1 / batch size. On
    /// several ranks, n is the global batch's count, so that the step is one process's.
    /// `nil` (default, the presets) = every sample counts.
    public var diceSkipsEmptyTargets: Bool?
    /// Hard-negative mining (``HardNegatives``): from the second epoch on, part of each epoch's
    /// negatives are empty-target slices the network itself calls blood on, each cropped around
    /// what it called. `nil` (default, the presets) = every negative is a random draw.
    public var hardNegatives: HardNegatives?

    /// How ``RefinerTrainer`` mines hard negatives (``RefinerTrainingConfig/hardNegatives``).
    ///
    /// At the start of every epoch after the first, ``pool`` empty-target slices that may be
    /// drawn as negatives (a second seeded draw from the epoch's stream, after its ordinary
    /// draw of negatives, so that the epoch's later draws differ from a run without mining)
    /// are segmented whole with the current weights (BatchNorm's running statistics, logit >
    /// 0). Those with at least one pixel called, most pixels first (ties in draw order),
    /// replace up to ``share`` of the epoch's random negatives; the rest stay random draws. A
    /// hard negative's crop (with ``RefinerTrainingConfig/cropSize``) holds a pixel it was
    /// called on, moved with the slice by the augmentation (to within a pixel; anywhere if the
    /// shift moved them all off the slice). The pass costs a whole-slice forward pass per pool
    /// slice. Not on several ranks, and a run stopped within an epoch cannot be resumed (the
    /// pool's calls were those of the weights at the epoch's start).
    public struct HardNegatives: Codable, Sendable, Equatable {
        /// Largest share of an epoch's negatives taken from the pool's hard ones, in (0, 1]
        /// (default 0.5); the pool's called slices may hold fewer.
        public var share: Double
        /// Empty-target slices segmented per epoch to find them (at least 1; default 800).
        public var pool: Int

        /// Settings; see the properties.
        public init(share: Double = 0.5, pool: Int = 800) {
            self.share = share
            self.pool = pool
        }

        private enum CodingKeys: String, CodingKey { case share, pool }

        /// Reads settings; a missing field takes its default.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self), d = HardNegatives()
            self.init(share: try c.decodeIfPresent(Double.self, forKey: .share) ?? d.share,
                      pool: try c.decodeIfPresent(Int.self, forKey: .pool) ?? d.pool)
        }

        /// Checks both fields.
        /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` naming the field.
        public func validate() throws {
            guard share > 0, share <= 1 else {
                throw WeakSupervisionError.invalidParameter(name: "hardNegatives.share", reason: "\(share) is outside (0, 1]")
            }
            guard pool >= 1 else {
                throw WeakSupervisionError.invalidParameter(name: "hardNegatives.pool", reason: "\(pool) must be at least 1")
            }
        }
    }

    /// A configuration; every default as documented on the properties.
    public init(model: UNetLiteConfig = UNetLiteConfig(), optimizer: OptimizerSettings = OptimizerSettings(), epochs: Int = 6,
                batchSize: Int = 8, stepsPerEpoch: Int? = nil, seed: UInt64 = 0, validationFraction: Double = 0.15,
                testFraction: Double = 0, shuffle: Bool = true, negativeFraction: Double = 0.25, bceWeight: Float = 1,
                diceWeight: Float = 1, augmentation: Augmentation = .flipsAndShifts, selection: ModelSelection? = nil,
                averageDecay: Float? = nil, priorBias: Bool? = nil, cropSize: Int? = nil,
                validateEvery: Int? = nil, cropForeground: Double? = nil, labelledNegatives: Bool? = nil,
                diceSkipsEmptyTargets: Bool? = nil, hardNegatives: HardNegatives? = nil) {
        self.hardNegatives = hardNegatives
        self.labelledNegatives = labelledNegatives
        self.diceSkipsEmptyTargets = diceSkipsEmptyTargets
        self.model = model
        self.optimizer = optimizer
        self.epochs = epochs
        self.batchSize = batchSize
        self.stepsPerEpoch = stepsPerEpoch
        self.seed = seed
        self.validationFraction = validationFraction
        self.testFraction = testFraction
        self.shuffle = shuffle
        self.negativeFraction = negativeFraction
        self.bceWeight = bceWeight
        self.diceWeight = diceWeight
        self.augmentation = augmentation
        self.selection = selection
        self.averageDecay = averageDecay
        self.priorBias = priorBias
        self.cropSize = cropSize
        self.validateEvery = validateEvery
        self.cropForeground = cropForeground
    }

    /// Throws ``WeakSupervisionError/invalidParameter(name:reason:)`` naming the first bad field.
    public func validate() throws {
        try optimizer.validate()
        try augmentation.validate()
        try TrainingConfig.checkAverage(averageDecay)
        try TrainingConfig.checkValidateEvery(validateEvery)
        try TrainingConfig.checkCommon(epochs: epochs, batchSize: batchSize, stepsPerEpoch: stepsPerEpoch,
                                       validationFraction: validationFraction, testFraction: testFraction)
        guard (0...1).contains(negativeFraction) else {
            throw WeakSupervisionError.invalidParameter(name: "negative fraction", reason: "\(negativeFraction) is outside 0...1")
        }
        try hardNegatives?.validate()
        guard bceWeight >= 0, diceWeight >= 0, bceWeight + diceWeight > 0 else {
            throw WeakSupervisionError.invalidParameter(name: "loss weights", reason: "BCE and Dice weights must be ≥ 0, not both 0")
        }
        do { try ModelConfig.unetLite(model).validate(source: "refiner configuration") } catch {
            throw WeakSupervisionError.invalidParameter(name: "model", reason: "\(error)")
        }
        if let cropSize {
            let factor = 1 << (model.widths.count - 1)
            guard cropSize > 0, cropSize < model.inputSize, cropSize % factor == 0 else {
                throw WeakSupervisionError.invalidParameter(name: "crop size", reason: "\(cropSize) must be a multiple of \(factor) below the input size \(model.inputSize)")
            }
        }
        if let cropForeground {
            guard (0...1).contains(cropForeground) else {
                throw WeakSupervisionError.invalidParameter(name: "crop foreground", reason: "\(cropForeground) is outside 0...1")
            }
            guard cropSize != nil else {
                throw WeakSupervisionError.invalidParameter(name: "crop foreground", reason: "needs a crop size (whole slices are not cropped)")
            }
        }
    }
}
