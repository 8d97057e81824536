import Foundation

/// Adam (Kingma & Ba 2015) exactly as PyTorch's `torch.optim.Adam` single-tensor path
/// (`foreach=False`), with optional L2 weight decay added to the gradient.
///
/// For each parameter p with gradient g, at step t (β₁, β₂, ε, λ):
///
///     g ← g + λ p
///     m ← m + (1 − β₁)(g − m)                   (torch's lerp)
///     v ← β₂ v + (1 − β₂) g²
///     p ← p − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// ε is added outside the square root, after the bias correction of v. Buffers are saved as
/// `<parameter>.exp_avg` and `<parameter>.exp_avg_sq`.
public class Adam: Optimizer {
    /// β₁, decay of the first moment (default 0.9).
    public var beta1: Float
    /// β₂, decay of the second moment (default 0.999).
    public var beta2: Float
    /// ε added to the denominator (default 1e-8).
    public var eps: Float
    /// λ: L2 penalty added to the gradient (Adam) or decoupled decay (AdamW).
    public var weightDecay: Float

    /// Adam with the given hyper-parameters.
    ///
    /// - Parameters:
    ///   - learningRate: η (default 1e-3).
    ///   - beta1: β₁ in [0, 1) (default 0.9).
    ///   - beta2: β₂ in [0, 1) (default 0.999).
    ///   - eps: ε > 0 (default 1e-8).
    ///   - weightDecay: λ ≥ 0 (default 0).
    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0) {
        precondition((0..<1).contains(beta1) && (0..<1).contains(beta2), "Adam: betas must lie in [0, 1)")
        precondition(eps >= 0 && weightDecay >= 0, "Adam: eps and weight decay must be ≥ 0")
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        super.init(learningRate: learningRate)
    }

    /// `adam`.
    override public var kind: String { "adam" }

    /// η, β₁, β₂, ε, λ.
    override public var hyperparameters: [String: Double] {
        ["lr": Double(learningRate), "beta1": Double(beta1), "beta2": Double(beta2), "eps": Double(eps), "weight_decay": Double(weightDecay)]
    }

    /// `exp_avg`, `exp_avg_sq`.
    override public var bufferNames: [String] { ["exp_avg", "exp_avg_sq"] }

    /// Whether λ is decoupled from the gradient (AdamW) rather than added to it (Adam).
    var decoupledWeightDecay: Bool { false }

    /// One Adam step of one parameter (see the type's formula).
    override public func apply(name: String, parameter p: UnsafeMutableBufferPointer<Float>, gradient g: UnsafeBufferPointer<Float>) {
        let n = p.count
        // Scalars in double as Python computes them, then rounded to float as torch's kernels do.
        let t = Double(stepCount)
        let lr = Double(learningRate)
        if decoupledWeightDecay && weightDecay != 0 {
            let factor = Float(1 - lr * Double(weightDecay))
            for i in 0..<n { p[i] *= factor }
        }
        let l2 = decoupledWeightDecay ? 0 : weightDecay
        let w1 = 1 - beta1
        let w2 = 1 - beta2
        let b2 = beta2
        let stepSize = Float(lr / (1 - pow(Double(beta1), t)))
        let correction2 = Float((1 - pow(Double(beta2), t)).squareRoot())
        let e = eps
        // Moved out of the dictionary so that they are mutated in place (no copy of the moments).
        var buffers = state.removeValue(forKey: name) ?? [:]
        var m = buffers.removeValue(forKey: "exp_avg") ?? [Float](repeating: 0, count: n)
        var v = buffers.removeValue(forKey: "exp_avg_sq") ?? [Float](repeating: 0, count: n)
        precondition(m.count == n && v.count == n, "Adam: saved moments of \(name) do not match the parameter's \(n) values")
        let step = AdamStep(l2: l2, w1: w1, w2: w2, beta2: b2, stepSize: stepSize, correction2: correction2, eps: e)
        if n > 0 {
            m.withUnsafeMutableBufferPointer { m in
                v.withUnsafeMutableBufferPointer { v in
                    let (pp, gp) = (SharedPointer(p.baseAddress!), SharedPointer(g.baseAddress!))
                    let (mp, vp) = (SharedPointer(m.baseAddress!), SharedPointer(v.baseAddress!))
                    // every element is independent, so any split over threads gives the same bits
                    Parallel.ranges(n, costPerItem: 16) { range in
                        step.apply(pp.base, gp.base, mp.base, vp.base, range)
                    }
                }
            }
        }
        buffers["exp_avg"] = m
        buffers["exp_avg_sq"] = v
        state[name] = buffers
    }
}

/// The element-wise Adam update over a range, eight lanes at a time. Every lane performs the
/// scalar formula's operations in the same order (IEEE add, multiply, divide and square root,
/// no fused multiply-add), so the result is bit-identical to the scalar loop.
struct AdamStep {
    let l2, w1, w2, beta2, stepSize, correction2, eps: Float

    func apply(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>,
               _ v: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
        typealias V = SIMD8<Float>
        var i = range.lowerBound
        let end = range.upperBound
        let (l2v, w1v, w2v, b2v) = (V(repeating: l2), V(repeating: w1), V(repeating: w2), V(repeating: beta2))
        let (sv, cv, ev) = (V(repeating: -stepSize), V(repeating: correction2), V(repeating: eps))
        func load(_ q: UnsafeMutablePointer<Float>) -> V { UnsafeRawPointer(q + i).loadUnaligned(as: V.self) }
        func store(_ x: V, _ q: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(q + i).storeBytes(of: x, as: V.self) }
        while i + 8 <= end {
            let pi = load(p)
            let gi = l2 != 0 ? load(g) + l2v * pi : load(g)
            let m0 = load(m)
            let mi = m0 + w1v * (gi - m0)
            let vi = load(v) * b2v + w2v * gi * gi
            store(mi, m)
            store(vi, v)
            let denom = vi.squareRoot() / cv + ev
            store(pi + sv * (mi / denom), p)
            i += 8
        }
        while i < end {
            let gi = l2 != 0 ? g[i] + l2 * p[i] : g[i]
            let mi = m[i] + w1 * (gi - m[i])
            let vi = v[i] * beta2 + w2 * gi * gi
            m[i] = mi
            v[i] = vi
            let denom = vi.squareRoot() / correction2 + eps
            p[i] += -stepSize * (mi / denom)
            i += 1
        }
    }
}

/// AdamW (Loshchilov & Hutter 2019) as PyTorch's `torch.optim.AdamW`: Adam whose weight decay
/// is decoupled, `p ← p (1 − η λ)` before the Adam step, instead of added to the gradient.
/// Default λ = 0.01 as in PyTorch.
public final class AdamW: Adam {
    /// AdamW with the given hyper-parameters (see ``Adam/init(learningRate:beta1:beta2:eps:weightDecay:)``;
    /// here λ defaults to 0.01).
    override public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.01) {
        super.init(learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay)
    }

    /// `adamw`.
    override public var kind: String { "adamw" }

    override var decoupledWeightDecay: Bool { true }
}
