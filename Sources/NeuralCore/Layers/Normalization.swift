import Foundation

/// Batch normalisation over the channels of (N, C, H, W), `nn.BatchNorm2d` semantics.
///
/// Training: y = γ · (x − μ_B) / √(σ²_B + ε) + β with the batch mean μ_B and the **biased**
/// batch variance σ²_B over (N, H, W); the running statistics are updated with the
/// **unbiased** variance: r_μ ← (1 − m) r_μ + m μ_B, r_σ² ← (1 − m) r_σ² + m σ²_B · n/(n − 1),
/// and `num_batches_tracked` += 1. Evaluation: the running statistics replace the batch ones.
///
/// Backward (training), with x̂ the normalised input and n = N·H·W:
/// dγ = Σ g x̂, dβ = Σ g, dx = γ / (n √(σ²_B + ε)) · (n g − dβ − x̂ dγ).
///
/// - Parameters:
///   - x: (N, C, H, W).
///   - weight, bias: γ and β, (C).
///   - runningMean, runningVar: (C), updated in place in training mode.
///   - training: batch statistics (`true`) or running statistics (`false`).
///   - momentum: default 0.1. - epsilon: default 1e-5.
public func batchNorm2d(_ x: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor,
                        training: Bool, momentum: Float = 0.1, epsilon: Float = 1e-5) -> Tensor {
    precondition(x.rank == 4 || x.rank == 2, "batchNorm2d: input must be (N, C, H, W), got \(x.shape)")
    let n = x.shape[0], c = x.shape[1], hw = x.shape.dropFirst(2).reduce(1, *)
    precondition(weight.shape == [c] && bias.shape == [c] && runningMean.shape == [c] && runningVar.shape == [c],
                 "batchNorm2d: parameters must have \(c) channels")
    let count = n * hw
    if training { precondition(count > 1, "batchNorm2d: training needs more than one value per channel, got input \(x.shape)") }
    var mean = [Float](repeating: 0, count: c)
    var invStd = [Float](repeating: 0, count: c)
    var batchVar = [Float](repeating: 0, count: c)
    let out = Tensor(shape: x.shape) { y in
        x.withUnsafeBufferPointer { px in
            mean.withUnsafeMutableBufferPointer { pm in
                invStd.withUnsafeMutableBufferPointer { ps in
                  batchVar.withUnsafeMutableBufferPointer { pv in
                    let v = SharedPointer(pv.baseAddress!)
                    let src = SharedPointer(px.baseAddress!), dst = SharedPointer(y.baseAddress!)
                    let m = SharedPointer(pm.baseAddress!), s = SharedPointer(ps.baseAddress!)
                    let gamma = weight.data, beta = bias.data, rm = runningMean.data, rv = runningVar.data
                    Parallel.forEach(c, costPerItem: 3 * count) { ch in
                        var mu: Float, istd: Float
                        if training {
                            // Two passes, Float SIMD sums over blocks of 256 added in Double: exact enough for ε-sized variances.
                            var sum = 0.0
                            for b in 0 ..< n { sum += BlockSums.sum(src.base + (b * c + ch) * hw, hw) }
                            let mean = sum / Double(count)
                            var sq = 0.0
                            for b in 0 ..< n { sq += BlockSums.squaredDeviations(src.base + (b * c + ch) * hw, hw, from: mean) }
                            mu = Float(mean)
                            v.base[ch] = Float(sq / Double(count))   // biased
                            istd = Float(1 / (sq / Double(count) + Double(epsilon)).squareRoot())
                        } else {
                            mu = rm[ch]
                            istd = Float(1 / (Double(rv[ch]) + Double(epsilon)).squareRoot())
                        }
                        m.base[ch] = mu
                        let scale = gamma[ch] * istd, shift = beta[ch] - mu * scale
                        for b in 0 ..< n {
                            let p = src.base + (b * c + ch) * hw, q = dst.base + (b * c + ch) * hw
                            for i in 0 ..< hw { q[i] = p[i] * scale + shift }
                        }
                        s.base[ch] = istd
                    }
                  }
                }
            }
        }
    }
    if training {
        // Running statistics (no graph): unbiased variance = biased · n/(n-1).
        let unbias = Float(count) / Float(count - 1)
        for ch in 0 ..< c {
            let variance = batchVar[ch]
            runningMean.data[ch] = (1 - momentum) * runningMean.data[ch] + momentum * mean[ch]
            runningVar.data[ch] = (1 - momentum) * runningVar.data[ch] + momentum * variance * unbias
        }
    }
    let savedMean = mean, savedInvStd = invStd
    return Tensor.record(out, parents: [x, weight, bias], name: "batchNorm2d") { g, needs in
        var dgamma = [Float](repeating: 0, count: c), dbeta = [Float](repeating: 0, count: c)
        let needDx = needs[0]
        // Every element is written below when needed (no zeroing pass over a whole activation).
        var dx = needDx ? Kernel.uninitialized(x.count) : [0]
        let gamma = weight.data
        x.withUnsafeBufferPointer { px in
            g.withUnsafeBufferPointer { pg in
                dgamma.withUnsafeMutableBufferPointer { pdg in
                    dbeta.withUnsafeMutableBufferPointer { pdb in
                        let src = SharedPointer(px.baseAddress!), grad = SharedPointer(pg.baseAddress!)
                        let dG = SharedPointer(pdg.baseAddress!), dB = SharedPointer(pdb.baseAddress!)
                      dx.withUnsafeMutableBufferPointer { pdx in
                        let dxp = SharedPointer(pdx.baseAddress!)
                        Parallel.forEach(c, costPerItem: 4 * count) { ch in
                            let mu = savedMean[ch], istd = savedInvStd[ch]
                            var sg = 0.0, sgx = 0.0
                            for b in 0 ..< n {
                                let (a, d) = BlockSums.gradientSums(src.base + (b * c + ch) * hw, grad.base + (b * c + ch) * hw, hw, mean: mu, invStd: istd)
                                sg += a; sgx += d
                            }
                            dG.base[ch] = Float(sgx)
                            dB.base[ch] = Float(sg)
                            guard needDx else { return }
                            if training {
                                let k = gamma[ch] * istd / Float(count)
                                let fsg = Float(sg), fsgx = Float(sgx), fn = Float(count)
                                for b in 0 ..< n {
                                    let p = src.base + (b * c + ch) * hw, q = grad.base + (b * c + ch) * hw, d = dxp.base + (b * c + ch) * hw
                                    for i in 0 ..< hw { d[i] = k * (fn * q[i] - fsg - (p[i] - mu) * istd * fsgx) }
                                }
                            } else {
                                let k = gamma[ch] * istd
                                for b in 0 ..< n {
                                    let q = grad.base + (b * c + ch) * hw, d = dxp.base + (b * c + ch) * hw
                                    for i in 0 ..< hw { d[i] = k * q[i] }
                                }
                            }
                        }
                      }
                    }
                }
            }
        }
        return [needDx ? Tensor(shape: x.shape, data: dx) : nil,
                needs[1] ? Tensor(shape: [c], data: dgamma) : nil,
                needs[2] ? Tensor(shape: [c], data: dbeta) : nil]
    }
}

/// `nn.BatchNorm2d(channels)`: affine, tracking running statistics, eps 1e-5, momentum 0.1.
///
/// State (PyTorch names): `weight` (γ, ones), `bias` (β, zeros), buffers `running_mean` (zeros),
/// `running_var` (ones), `num_batches_tracked` (a scalar holding an integer; int64 in checkpoints).
public final class BatchNorm2d: Module {
    /// γ, (C).
    public let weight: Tensor
    /// β, (C).
    public let bias: Tensor
    /// Running mean, (C) (buffer).
    public let runningMean: Tensor
    /// Running (unbiased) variance, (C) (buffer).
    public let runningVar: Tensor
    /// Number of training batches seen, a scalar with an integer value (buffer).
    public let numBatchesTracked: Tensor
    /// Weight of the newest batch in the running statistics (default 0.1).
    public let momentum: Float
    /// Added to the variance (default 1e-5).
    public let epsilon: Float
    /// Batch statistics over the ranks of a data-parallel run (nil: this process's batch only,
    /// the default); set by ``Module/synchronizeBatchStatistics(_:)``. Used in training mode only.
    public var synchronization: BatchStatisticsSync?

    /// A batch normalisation over `channels` channels (γ = 1, β = 0, running mean 0, variance 1).
    public init(_ channels: Int, momentum: Float = 0.1, epsilon: Float = 1e-5) {
        weight = Tensor(zeros: [channels], value: 1, requiresGrad: true)
        bias = Tensor(zeros: [channels], requiresGrad: true)
        runningMean = Tensor(zeros: [channels])
        runningVar = Tensor(zeros: [channels], value: 1)
        numBatchesTracked = Tensor(scalar: 0)
        numBatchesTracked.isIntegral = true
        self.momentum = momentum
        self.epsilon = epsilon
        super.init()
    }

    /// `runningMean`, `runningVar` and `numBatchesTracked` are buffers.
    override public var bufferNames: Set<String> { ["runningMean", "runningVar", "numBatchesTracked"] }

    /// Normalises with batch statistics in training mode (updating the running ones), else with
    /// the running statistics.
    override public func forward(_ x: Tensor) -> Tensor {
        if isTraining { numBatchesTracked.data[0] += 1 }
        if isTraining, let synchronization, synchronization.communicator.size > 1 {
            return synchronizedBatchNorm2d(x, weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar,
                                           momentum: momentum, epsilon: epsilon, sync: synchronization)
        }
        return batchNorm2d(x, weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar,
                           training: isTraining, momentum: momentum, epsilon: epsilon)
    }
}
