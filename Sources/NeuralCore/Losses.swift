import Foundation

/// Binary cross-entropy on logits, mean over all elements, `F.binary_cross_entropy_with_logits`
/// (numerically stable, with PyTorch's `pos_weight` rule).
///
/// ℓ = (1 − y)·x + w·softplus(−x), w = 1 + (pos_weight − 1)·y,
/// softplus(−x) = log1p(e^(−|x|)) + max(−x, 0); loss = mean ℓ.
/// dℓ/dx = (1 − y) + w·(σ(x) − 1), divided by the element count.
///
/// With `weights` (PyTorch's `weight` argument) each element's loss is multiplied by its
/// weight before the mean over all elements, e.g. 0 for padded slices of a batch of sequences.
///
/// - Parameters:
///   - logits: any shape. - targets: same shape, values in [0, 1] (no gradient).
///   - posWeight: weight of positive examples (default 1: plain BCE).
///   - weights: optional per-element weights, same shape (no gradient); default `nil` (all 1).
/// - Returns: a scalar.
public func binaryCrossEntropyWithLogits(_ logits: Tensor, targets: Tensor, posWeight: Float = 1, weights: Tensor? = nil) -> Tensor {
    precondition(logits.shape == targets.shape, "BCE: logits \(logits.shape) and targets \(targets.shape) differ")
    if let weights { precondition(weights.shape == logits.shape, "BCE: weights \(weights.shape) and logits \(logits.shape) differ") }
    precondition(logits.count > 0, "BCE of an empty tensor")
    let n = logits.count
    let elementWeights = weights?.data ?? [Float](repeating: 1, count: n)
    var acc = 0.0
    logits.withUnsafeBufferPointer { x in
        targets.withUnsafeBufferPointer { y in
            for i in 0 ..< n {
                let w = 1 + (Double(posWeight) - 1) * Double(y[i])
                let xi = Double(x[i])
                acc += Double(elementWeights[i]) * ((1 - Double(y[i])) * xi + w * (Foundation.log1p(Foundation.exp(-abs(xi))) + max(-xi, 0)))
            }
        }
    }
    let out = Tensor(scalar: Float(acc / Double(n)))
    return Tensor.record(out, parents: [logits], name: "bceWithLogits") { g, _ in
        let scale = g.data[0] / Float(n)
        let d = Kernel.zip(logits.data, targets.data) { x, y, d, count in
            for i in 0 ..< count {
                let w = 1 + (posWeight - 1) * y[i]
                d[i] = scale * ((1 - y[i]) + w * (Tensor.sigmoid(x[i]) - 1))
            }
        }
        return [Tensor(shape: logits.shape, data: weights == nil ? d : Kernel.binary(.mul, d, elementWeights))]
    }
}

/// Soft Dice loss on logits: p = σ(x); per sample b (first axis),
/// D_b = (2 Σ p·y + s) / (Σ p + Σ y + s); loss = 1 − mean_b D_b.
///
/// With `perSample == false` the sums run over the whole batch (one D). The smoothing `s`
/// (default 1) makes an empty prediction on an empty target score D = 1 and keeps the
/// gradient finite.
///
/// With `skipEmptyTargets` (per sample only), the mean runs over the samples whose target holds
/// a value above 0 (a soft target's faint edge counts): an empty target adds nothing to the
/// loss and gets no gradient from it, and each of the n others weighs 1 / n (a batch of empty
/// targets, or of no sample: loss 0). With smoothing 1, an empty target's D = 1 / (Σ p + 1)
/// pulls every logit of its sample towards background with a weight that grows as Σ p falls,
/// so that in a batch of mostly empty crops the Dice term mostly teaches "nothing here"; the
/// BCE term still covers those samples.
///
/// - Parameters:
///   - logits: (N, ...). - targets: same shape, in [0, 1] (no gradient).
///   - smooth: s, default 1. - perSample: default `true`.
///   - skipEmptyTargets: leave samples with an empty target out of the mean (default `false`;
///     needs `perSample`).
/// - Returns: a scalar.
public func softDiceLoss(_ logits: Tensor, targets: Tensor, smooth: Float = 1, perSample: Bool = true, skipEmptyTargets: Bool = false) -> Tensor {
    precondition(logits.shape == targets.shape && logits.rank >= 1, "Dice: logits \(logits.shape) and targets \(targets.shape) differ")
    precondition(perSample || !skipEmptyTargets, "Dice: skipEmptyTargets needs perSample")
    let groups = perSample ? logits.shape[0] : 1
    let size = logits.count / max(groups, 1)
    let p = Kernel.map(logits.data, cost: 8) { x, y, count in for i in 0 ..< count { y[i] = Tensor.sigmoid(x[i]) } }
    let y = targets.data
    var inter = [Double](repeating: 0, count: groups), total = [Double](repeating: 0, count: groups)
    var counted = [Bool](repeating: true, count: groups)
    for b in 0 ..< groups {
        var a = 0.0, s = 0.0, any = false
        for i in b * size ..< (b + 1) * size {
            a += Double(p[i]) * Double(y[i])
            s += Double(p[i]) + Double(y[i])
            any = any || y[i] > 0
        }
        inter[b] = a
        total[b] = s
        if skipEmptyTargets { counted[b] = any }
    }
    let sm = Double(smooth)
    let n = counted.reduce(0) { $0 + ($1 ? 1 : 0) }
    var dice = 0.0
    for b in 0 ..< groups where counted[b] { dice += (2 * inter[b] + sm) / (total[b] + sm) }
    let out = Tensor(scalar: n == 0 ? 0 : Float(1 - dice / Double(n)))
    return Tensor.record(out, parents: [logits], name: "softDice") { g, _ in
        var dx = [Float](repeating: 0, count: logits.count)
        let scale = Double(g.data[0]) / Double(max(n, 1))
        for b in 0 ..< groups where counted[b] {
            let den = total[b] + sm, num = 2 * inter[b] + sm
            // dD/dp_i = (2 y_i den − num) / den²; dloss/dx_i = −scale · dD/dp_i · p_i (1 − p_i)
            for i in b * size ..< (b + 1) * size {
                let pi = Double(p[i])
                let dD = (2 * Double(y[i]) * den - num) / (den * den)
                dx[i] = Float(-scale * dD * pi * (1 - pi))
            }
        }
        return [Tensor(shape: logits.shape, data: dx)]
    }
}
