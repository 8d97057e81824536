import Foundation

/// A learning rate as a function of the step (or epoch) index, counted from 0.
///
/// ```swift
/// let schedule = CosineWithWarmup(base: 1e-3, warmupSteps: 100, totalSteps: 5000)
/// for step in 0..<5000 {
///     optimizer.learningRate = schedule.learningRate(at: step)
///     ...
/// }
/// ```
public protocol LearningRateSchedule: Sendable {
    /// The learning rate to use for step `step` (0-based).
    func learningRate(at step: Int) -> Float
}

/// The same rate at every step.
public struct ConstantLearningRate: LearningRateSchedule {
    /// The rate.
    public var base: Float

    /// A constant rate `base`.
    public init(base: Float) { self.base = base }

    /// `base`.
    public func learningRate(at step: Int) -> Float { base }
}

/// Step decay as PyTorch's `StepLR`: `base · γ^⌊step / stepSize⌋`.
public struct StepDecay: LearningRateSchedule {
    /// Rate at step 0.
    public var base: Float
    /// Steps between decays (> 0).
    public var stepSize: Int
    /// Multiplicative factor per decay (default 0.1).
    public var gamma: Float

    /// Step decay.
    ///
    /// - Parameters:
    ///   - base: rate at step 0.
    ///   - stepSize: steps between decays, > 0.
    ///   - gamma: factor per decay (default 0.1).
    public init(base: Float, stepSize: Int, gamma: Float = 0.1) {
        precondition(stepSize > 0, "StepDecay: stepSize must be positive")
        self.base = base
        self.stepSize = stepSize
        self.gamma = gamma
    }

    /// `base · γ^⌊step / stepSize⌋`.
    public func learningRate(at step: Int) -> Float {
        Float(Double(base) * pow(Double(gamma), Double(max(step, 0) / stepSize)))
    }
}

/// Linear warm-up then cosine decay (the schedule of Hugging Face's
/// `get_cosine_schedule_with_warmup`, with a floor):
///
///     lr(s) = base · s / W                                        for s < W
///     lr(s) = min + (base − min) · ½ (1 + cos(π (s − W) / (T − W)))  for W ≤ s < T
///     lr(s) = min                                                 for s ≥ T
///
/// With W = 0 it is PyTorch's `CosineAnnealingLR` closed form with `T_max = T`, `eta_min = min`.
public struct CosineWithWarmup: LearningRateSchedule {
    /// Peak rate, reached at the end of the warm-up.
    public var base: Float
    /// Warm-up steps W (default 0).
    public var warmupSteps: Int
    /// Total steps T (> W).
    public var totalSteps: Int
    /// Floor of the decay (default 0).
    public var minimum: Float

    /// Warm-up then cosine decay.
    ///
    /// - Parameters:
    ///   - base: peak rate.
    ///   - warmupSteps: W ≥ 0 (default 0).
    ///   - totalSteps: T > W.
    ///   - minimum: final rate (default 0).
    public init(base: Float, warmupSteps: Int = 0, totalSteps: Int, minimum: Float = 0) {
        precondition(warmupSteps >= 0 && totalSteps > warmupSteps, "CosineWithWarmup: need 0 ≤ warmupSteps < totalSteps")
        self.base = base
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.minimum = minimum
    }

    /// The rate at `step` (see the type's formula).
    public func learningRate(at step: Int) -> Float {
        let s = max(step, 0)
        if s < warmupSteps { return Float(Double(base) * Double(s) / Double(warmupSteps)) }
        if s >= totalSteps { return minimum }
        let progress = Double(s - warmupSteps) / Double(totalSteps - warmupSteps)
        return Float(Double(minimum) + Double(base - minimum) * 0.5 * (1 + cos(Double.pi * progress)))
    }
}
