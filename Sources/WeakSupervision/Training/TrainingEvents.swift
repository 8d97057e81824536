import Foundation

/// What a training run reports as it goes. The library only reports; a command-line tool or an
/// app decides how to show it (``TrainingObserver``).
public enum TrainingEvent: Sendable {
    /// The run starts (or resumes).
    case started(TrainingStart)
    /// One optimization step is done.
    case step(StepReport)
    /// One epoch is done: validated, checkpoints written.
    case epoch(EpochReport)
}

/// Whether a run should go on after an event.
public enum TrainingControl: Sendable {
    /// Continue.
    case proceed
    /// Stop now: the resume file is written at the current step and the run returns; resuming
    /// from it continues exactly as if it had not stopped.
    case stop
}

/// Receives a run's events and may stop it.
public protocol TrainingObserver {
    /// Called on the training thread after each event.
    func observe(_ event: TrainingEvent) -> TrainingControl
}

/// A ``TrainingObserver`` from a closure.
public struct TrainingCallback: TrainingObserver {
    private let body: (TrainingEvent) -> TrainingControl

    /// An observer calling `body` on every event.
    public init(_ body: @escaping (TrainingEvent) -> TrainingControl) { self.body = body }

    /// Calls the closure.
    public func observe(_ event: TrainingEvent) -> TrainingControl { body(event) }

    /// An observer that ignores every event.
    public static var silent: TrainingCallback { TrainingCallback { _ in .proceed } }
}

/// The shape of a run, reported once at its start.
public struct TrainingStart: Sendable, Codable {
    /// `classifier` or `refiner`.
    public var kind: String
    /// Total epochs of the run.
    public var epochs: Int
    /// The 0-based epoch the run starts in (> 0 or mid-epoch when resumed).
    public var startEpoch: Int
    /// Optimization steps per epoch.
    public var stepsPerEpoch: Int
    /// Training and validation case counts.
    public var trainCases: Int, validationCases: Int
    /// Sequences (classifier) or slices (refiner, positives plus sampled negatives) per epoch.
    public var itemsPerEpoch: Int
    /// BCE `pos_weight` (classifier), or `nil`.
    public var posWeight: Float?
    /// Whether the run continues from a resume file.
    public var resumed: Bool
}

/// One step.
public struct StepReport: Sendable, Codable {
    /// 1-based epoch and the total.
    public var epoch: Int, epochs: Int
    /// 1-based step within the epoch and the steps of the epoch.
    public var step: Int, stepsInEpoch: Int
    /// Steps done since the start of training (resumed runs included) and the total planned.
    public var globalStep: Int, totalSteps: Int
    /// The batch's loss before the update.
    public var loss: Float
    /// The learning rate used for this step.
    public var learningRate: Float
    /// Seconds since this session started.
    public var elapsedSeconds: Double
    /// Estimated seconds left (steps left × mean step time of this session, validation excluded).
    public var remainingSeconds: Double
}

/// One epoch.
public struct EpochReport: Sendable, Codable, Equatable {
    /// 1-based epoch and the total.
    public var epoch: Int, epochs: Int
    /// Mean training loss over the epoch's steps.
    public var trainLoss: Double
    /// Mean validation loss (plain BCE for the classifier, BCE + Dice for the refiner), when validated.
    public var validationLoss: Double?
    /// Validation score: slice AUC (classifier) or pooled Dice (refiner); `nil` without
    /// validation cases, NaN when undefined (one class only, or empty masks).
    public var validationScore: Double?
    /// `auc` or `dice`.
    public var scoreName: String
    /// Whether this epoch's model became the kept (best) one.
    public var improved: Bool
    /// Global steps done at the end of the epoch.
    public var globalStep: Int
    /// Hard negatives among the items the epoch trained on (a refiner with
    /// ``RefinerTrainingConfig/hardNegatives``, from its second epoch); `nil` otherwise.
    public var hardNegatives: Int?
}

/// What a finished (or stopped) run did.
public struct TrainingSummary: Sendable, Codable {
    /// `classifier` or `refiner`.
    public var kind: String
    /// Epochs completed and planned.
    public var epochsCompleted: Int, epochs: Int
    /// Steps done.
    public var globalStep: Int
    /// The epoch (1-based) whose model is kept at ``modelPath``, and its score: the best
    /// validation epoch, or the last one under ``ModelSelection/last`` (see ``selection``).
    public var bestEpoch: Int?, bestScore: Double?
    /// `auc` or `dice`.
    public var scoreName: String
    /// Every completed epoch.
    public var history: [EpochReport]
    /// The cases trained and validated on.
    public var trainCases: [String], validationCases: [String]
    /// BCE `pos_weight` used (classifier).
    public var posWeight: Float?
    /// The kept model (a plain network checkpoint) and the resume file.
    public var modelPath: String, resumePath: String
    /// Whether an observer stopped the run before its last epoch.
    public var stopped: Bool
    /// The rule that chose ``bestEpoch`` (nil in summaries written before it existed: best).
    public var selection: ModelSelection?
}
