/// Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay,
/// exactly as PyTorch's `torch.optim.SGD` (single-tensor path, dampening 0).
///
/// For each parameter p with gradient g, at step t:
///
///     g ← g + λ p                                  (weight decay λ)
///     b ← g                      if t = 1          (momentum buffer)
///     b ← μ b + g                otherwise
///     g ← g + μ b  (Nesterov)    or   g ← b
///     p ← p − η g
///
/// With μ = 0 no buffer is kept. Buffers are saved as `<parameter>.momentum_buffer`.
public final class SGD: Optimizer {
    /// Momentum factor μ (default 0).
    public var momentum: Float
    /// L2 penalty λ added to the gradient (default 0).
    public var weightDecay: Float
    /// Nesterov momentum (default `false`; needs μ > 0).
    public var nesterov: Bool

    /// SGD with the given hyper-parameters.
    ///
    /// - Parameters:
    ///   - learningRate: η.
    ///   - momentum: μ ≥ 0 (default 0).
    ///   - weightDecay: λ ≥ 0 (default 0).
    ///   - nesterov: Nesterov momentum (default `false`).
    public init(learningRate: Float, momentum: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        precondition(momentum >= 0 && weightDecay >= 0, "SGD: momentum and weight decay must be ≥ 0")
        precondition(!nesterov || momentum > 0, "SGD: Nesterov momentum needs momentum > 0")
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        super.init(learningRate: learningRate)
    }

    /// `sgd`.
    override public var kind: String { "sgd" }

    /// η, μ, λ and Nesterov (1 or 0).
    override public var hyperparameters: [String: Double] {
        ["lr": Double(learningRate), "momentum": Double(momentum), "weight_decay": Double(weightDecay), "nesterov": nesterov ? 1 : 0]
    }

    /// `momentum_buffer`.
    override public var bufferNames: [String] { ["momentum_buffer"] }

    /// One SGD step of one parameter (see the type's formula).
    override public func apply(name: String, parameter p: UnsafeMutableBufferPointer<Float>, gradient g: UnsafeBufferPointer<Float>) {
        let n = p.count
        let (lr, mu, wd, nesterov) = (learningRate, momentum, weightDecay, self.nesterov)
        if mu == 0 {
            for i in 0..<n { p[i] += -lr * (wd != 0 ? g[i] + wd * p[i] : g[i]) }
            return
        }
        // Moved out of the dictionary so that it is mutated in place (no copy of the buffer).
        var buffers = state.removeValue(forKey: name) ?? [:]
        let first = buffers["momentum_buffer"] == nil
        var b = buffers.removeValue(forKey: "momentum_buffer") ?? [Float](repeating: 0, count: n)
        precondition(b.count == n, "SGD: saved momentum buffer of \(name) has \(b.count) values, the parameter \(n)")
        b.withUnsafeMutableBufferPointer { b in
            for i in 0..<n {
                let d = wd != 0 ? g[i] + wd * p[i] : g[i]
                b[i] = first ? d : b[i] * mu + d
                p[i] += -lr * (nesterov ? d + mu * b[i] : b[i])
            }
        }
        buffers["momentum_buffer"] = b
        state[name] = buffers
    }
}
