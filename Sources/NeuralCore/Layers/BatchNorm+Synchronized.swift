import Foundation

/// ``batchNorm2d(_:weight:bias:runningMean:runningVar:training:momentum:epsilon:)`` in training
/// mode with its statistics taken over every rank of `sync` (synchronised BatchNorm, as
/// `torch.nn.SyncBatchNorm`).
///
/// With n the samples' values per channel summed over the ranks:
/// - forward: μ = Σ_ranks Σ x / n (one sum of [channel sums, count]); σ² = Σ_ranks Σ (x − μ)² / n
///   (a second sum: the same two passes as one process); the running variance uses n/(n − 1);
/// - backward: Σ g and Σ g x̂ are summed over the ranks for dx = γ / (n √(σ² + ε)) · (n g − Σ g − x̂ Σ g x̂),
///   while dγ and dβ stay this rank's own sums (the gradient sum over the ranks adds them up).
///
/// A rank whose batch is a placeholder (``BatchStatisticsSync/isPlaceholder``) adds zeros and a
/// count of 0, and its dx, dγ and dβ are zero (its samples are not part of the batch).
func synchronizedBatchNorm2d(_ x: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor,
                             momentum: Float, epsilon: Float, sync: BatchStatisticsSync) -> Tensor {
    precondition(x.rank == 4 || x.rank == 2, "batchNorm2d: input must be (N, C, H, W), got \(x.shape)")
    let n = x.shape[0], c = x.shape[1], hw = x.shape.dropFirst(2).reduce(1, *)
    let placeholder = sync.isPlaceholder
    let communicator = sync.communicator
    // channel sums and the count, over the ranks
    var first = [Double](repeating: 0, count: c + 1)
    if !placeholder {
        x.withUnsafeBufferPointer { px in
            first.withUnsafeMutableBufferPointer { pf in
                let src = SharedPointer(px.baseAddress!), f = SharedPointer(pf.baseAddress!)
                Parallel.forEach(c, costPerItem: n * hw) { ch in
                    var sum = 0.0
                    for b in 0 ..< n { sum += BlockSums.sum(src.base + (b * c + ch) * hw, hw) }
                    f.base[ch] = sum
                }
            }
        }
        first[c] = Double(n * hw)
    }
    communicator.sum(&first)
    let count = first[c]
    precondition(count > 1, "batchNorm2d: training needs more than one value per channel over the ranks, got \(count)")
    let means = (0 ..< c).map { first[$0] / count }
    var squares = [Double](repeating: 0, count: c)
    if !placeholder {
        x.withUnsafeBufferPointer { px in
            squares.withUnsafeMutableBufferPointer { ps in
                let src = SharedPointer(px.baseAddress!), s = SharedPointer(ps.baseAddress!)
                Parallel.forEach(c, costPerItem: 2 * n * hw) { ch in
                    var sq = 0.0
                    for b in 0 ..< n { sq += BlockSums.squaredDeviations(src.base + (b * c + ch) * hw, hw, from: means[ch]) }
                    s.base[ch] = sq
                }
            }
        }
    }
    communicator.sum(&squares)
    let variances = squares.map { Float($0 / count) }   // biased
    let mean = means.map(Float.init)
    let invStd = (0 ..< c).map { Float(1 / (squares[$0] / count + Double(epsilon)).squareRoot()) }
    let gamma = weight.data, beta = bias.data
    let out = Tensor(shape: x.shape) { y in
        x.withUnsafeBufferPointer { px in
            let src = SharedPointer(px.baseAddress!), dst = SharedPointer(y.baseAddress!)
            Parallel.forEach(c, costPerItem: n * hw) { ch in
                let scale = gamma[ch] * invStd[ch], shift = beta[ch] - mean[ch] * scale
                for b in 0 ..< n {
                    let p = src.base + (b * c + ch) * hw, q = dst.base + (b * c + ch) * hw
                    for i in 0 ..< hw { q[i] = p[i] * scale + shift }
                }
            }
        }
    }
    // running statistics from the ranks' batch: unbiased variance = biased · n/(n − 1)
    let unbias = Float(count / (count - 1))
    for ch in 0 ..< c {
        runningMean.data[ch] = (1 - momentum) * runningMean.data[ch] + momentum * mean[ch]
        runningVar.data[ch] = (1 - momentum) * runningVar.data[ch] + momentum * variances[ch] * unbias
    }
    return Tensor.record(out, parents: [x, weight, bias], name: "batchNorm2d(synchronized)") { g, needs in
        // this rank's Σ g and Σ g x̂ per channel
        var local = [Double](repeating: 0, count: 2 * c)
        if !placeholder {
            x.withUnsafeBufferPointer { px in
                g.withUnsafeBufferPointer { pg in
                    local.withUnsafeMutableBufferPointer { pl in
                        let src = SharedPointer(px.baseAddress!), grad = SharedPointer(pg.baseAddress!), l = SharedPointer(pl.baseAddress!)
                        Parallel.forEach(c, costPerItem: 4 * n * hw) { ch in
                            var sg = 0.0, sgx = 0.0
                            for b in 0 ..< n {
                                let (a, d) = BlockSums.gradientSums(src.base + (b * c + ch) * hw, grad.base + (b * c + ch) * hw, hw,
                                                                    mean: mean[ch], invStd: invStd[ch])
                                sg += a; sgx += d
                            }
                            l.base[ch] = sg
                            l.base[c + ch] = sgx
                        }
                    }
                }
            }
        }
        var global = local
        communicator.sum(&global)
        let dbeta = (0 ..< c).map { Float(local[$0]) }, dgamma = (0 ..< c).map { Float(local[c + $0]) }
        var dx: Tensor? = nil
        if needs[0] && placeholder {
            // the global sums would give the placeholder's zeros a gradient of their own
            dx = Tensor(zeros: x.shape)
        } else if needs[0] {
            let fn = Float(count)
            dx = Tensor(shape: x.shape) { d in
                x.withUnsafeBufferPointer { px in
                    g.withUnsafeBufferPointer { pg in
                        let src = SharedPointer(px.baseAddress!), grad = SharedPointer(pg.baseAddress!), dst = SharedPointer(d.baseAddress!)
                        Parallel.forEach(c, costPerItem: 4 * n * hw) { ch in
                            let mu = mean[ch], istd = invStd[ch]
                            let k = gamma[ch] * istd / fn, fsg = Float(global[ch]), fsgx = Float(global[c + ch])
                            for b in 0 ..< n {
                                let p = src.base + (b * c + ch) * hw, q = grad.base + (b * c + ch) * hw, o = dst.base + (b * c + ch) * hw
                                for i in 0 ..< hw { o[i] = k * (fn * q[i] - fsg - (p[i] - mu) * istd * fsgx) }
                            }
                        }
                    }
                }
            }
        }
        return [dx, needs[1] ? Tensor(shape: [c], data: dgamma) : nil, needs[2] ? Tensor(shape: [c], data: dbeta) : nil]
    }
}
