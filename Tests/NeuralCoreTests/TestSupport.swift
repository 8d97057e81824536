import Foundation
import NeuralCore
import TestSupport
import Testing

/// A tensor of uniform values in [-1, 1).
func randomTensor(_ shape: [Int], seed: UInt64, requiresGrad: Bool = true, scale: Float = 1) -> Tensor {
    var g = TestGenerator(seed: seed)
    let n = shape.reduce(1, *)
    return Tensor(shape: shape, data: (0 ..< n).map { _ in scale * Float.random(in: -1 ..< 1, using: &g) }, requiresGrad: requiresGrad)
}

/// Maximum of |a - b| / (atol + rtol-scale) style comparison: returns the worst relative error
/// max|a-b| / max(max|b|, floor).
func relativeError(_ a: [Float], _ b: [Float], floor: Float = 1e-6) -> Float {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    var num: Float = 0, den: Float = floor
    for i in 0 ..< a.count {
        num = max(num, abs(a[i] - b[i]))
        den = max(den, abs(b[i]))
    }
    return num / den
}

/// Checks analytic gradients of `f` (a scalar-valued function of `inputs`) against central
/// differences along a random direction per input, with the function evaluated in Float but
/// the step chosen for Float. Returns the worst relative discrepancy over inputs.
///
/// For each input x and random unit direction v: analytic = <grad, v>;
/// numeric = (f(x + h v) - f(x - h v)) / 2h.
func directionalGradientError(_ inputs: [Tensor], step: Float = 1e-2, seed: UInt64 = 7,
                              _ f: () -> Tensor) -> Float {
    for t in inputs { t.grad = nil }
    let y = f()
    y.backward()
    var worst: Float = 0
    var g = TestGenerator(seed: seed)
    for t in inputs {
        let grad = t.grad?.data ?? [Float](repeating: 0, count: t.count)
        let v = (0 ..< t.count).map { _ in Float.random(in: -1 ..< 1, using: &g) }
        let original = t.data
        var analytic = 0.0
        for i in 0 ..< t.count { analytic += Double(grad[i]) * Double(v[i]) }
        t.data = zip(original, v).map { $0 + step * $1 }
        let plus = Double(withoutGradients { f() }.item)
        t.data = zip(original, v).map { $0 - step * $1 }
        let minus = Double(withoutGradients { f() }.item)
        t.data = original
        let numeric = (plus - minus) / (2 * Double(step))
        let err = abs(numeric - analytic) / max(abs(analytic), abs(numeric), 1e-3)
        worst = max(worst, Float(err))
    }
    return worst
}

/// Per-element central differences of a scalar function (small tensors only).
func elementwiseGradientError(_ inputs: [Tensor], step: Float = 1e-2, _ f: () -> Tensor) -> Float {
    for t in inputs { t.grad = nil }
    f().backward()
    var worst: Float = 0
    for t in inputs {
        let grad = t.grad?.data ?? [Float](repeating: 0, count: t.count)
        var numeric = [Float](repeating: 0, count: t.count)
        for i in 0 ..< t.count {
            let old = t.data[i]
            t.data[i] = old + step
            let plus = Double(withoutGradients { f() }.item)
            t.data[i] = old - step
            let minus = Double(withoutGradients { f() }.item)
            t.data[i] = old
            numeric[i] = Float((plus - minus) / (2 * Double(step)))
        }
        worst = max(worst, relativeError(grad, numeric, floor: 1e-2))
    }
    return worst
}

/// A fixed random weighting of an output, so that a scalar loss exercises every element:
/// loss = sum(y * w).
func weightedSum(_ y: Tensor, seed: UInt64 = 99) -> Tensor {
    (y * randomTensor(y.shape, seed: seed, requiresGrad: false)).sum()
}

/// One convolution of the path suites: N images of C x H x W into O channels, a k x k kernel.
struct ConvolutionCase: Sendable, CustomStringConvertible {
    let n: Int, c: Int, o: Int, h: Int, w: Int, k: Int, stride: Int, padding: Int, bias: Bool
    var description: String { "\(n)x\(c)x\(h)x\(w) -> \(o), k\(k) s\(stride) p\(padding)\(bias ? " bias" : "")" }
}

/// Runs `t` through `conv2d` (inputs drawn from seeds `seed` to `seed + 3`), backpropagates
/// Σ y ⊙ r and expects the output shape, the output and the weight, input and bias gradients
/// within 1e-5 relative of ``convolutionByDefinition(x:w:bias:r:stride:padding:)``. The caller
/// picks the path (and checks that it is taken).
func expectConvolutionMatchesDefinition(_ t: ConvolutionCase, seed: UInt64) {
    let x = randomTensor([t.n, t.c, t.h, t.w], seed: seed)
    let wt = randomTensor([t.o, t.c, t.k, t.k], seed: seed + 1, scale: 0.5)
    let b = t.bias ? randomTensor([t.o], seed: seed + 2) : nil
    let y = conv2d(x, weight: wt, bias: b, stride: t.stride, padding: t.padding)
    let oh = (t.h + 2 * t.padding - t.k) / t.stride + 1, ow = (t.w + 2 * t.padding - t.k) / t.stride + 1
    #expect(y.shape == [t.n, t.o, oh, ow])
    let r = randomTensor(y.shape, seed: seed + 3, requiresGrad: false)
    (y * r).sum().backward()
    let ref = convolutionByDefinition(x: x, w: wt, bias: b, r: r, stride: t.stride, padding: t.padding)
    #expect(relativeError(y.data, ref.y) < 1e-5, "forward \(t)")
    #expect(relativeError(wt.grad!.data, ref.dw) < 1e-5, "weight gradient \(t)")
    #expect(relativeError(x.grad!.data, ref.dx) < 1e-5, "input gradient \(t)")
    if let b { #expect(relativeError(b.grad!.data, ref.db) < 1e-5, "bias gradient \(t)") }
}

/// A convolution evaluated from its definition in Double, with the exact gradients of the loss
/// Σ y ⊙ r: y[n,o,i,j] = b[o] + Σ w[o,c,a,b'] x[n,c,i·s−p+a, j·s−p+b'] (0 outside),
/// dW[o,c,a,b'] = Σ r[n,o,i,j] x[n,c,…], dx[n,c,u,v] = Σ r[n,o,i,j] w[o,c,…], db[o] = Σ r.
/// `x` is (N, C, H, W), `w` (O, C, k, k), `r` the shape of y.
func convolutionByDefinition(x: Tensor, w: Tensor, bias: Tensor?, r: Tensor, stride: Int, padding: Int)
    -> (y: [Float], dw: [Float], dx: [Float], db: [Float]) {
    let n = x.shape[0], c = x.shape[1], h = x.shape[2], wd = x.shape[3], o = w.shape[0], k = w.shape[2]
    let oh = (h + 2 * padding - k) / stride + 1, ow = (wd + 2 * padding - k) / stride + 1
    let xs = x.data, ws = w.data, rs = r.data, bs = bias?.data
    var ref = [Float](repeating: 0, count: n * o * oh * ow)
    var dw = [Double](repeating: 0, count: w.count), dx = [Double](repeating: 0, count: x.count)
    var db = [Double](repeating: 0, count: o)
    for img in 0 ..< n {
        for oc in 0 ..< o {
            for i in 0 ..< oh {
                for j in 0 ..< ow {
                    let yi = ((img * o + oc) * oh + i) * ow + j
                    let rv = Double(rs[yi])
                    var acc = Double(bs?[oc] ?? 0)
                    for ch in 0 ..< c {
                        for a in 0 ..< k {
                            let u = i * stride - padding + a
                            if u < 0 || u >= h { continue }
                            for bb in 0 ..< k {
                                let v = j * stride - padding + bb
                                if v < 0 || v >= wd { continue }
                                let xi = ((img * c + ch) * h + u) * wd + v
                                let wi = ((oc * c + ch) * k + a) * k + bb
                                acc += Double(ws[wi]) * Double(xs[xi])
                                dw[wi] += rv * Double(xs[xi])
                                dx[xi] += rv * Double(ws[wi])
                            }
                        }
                    }
                    ref[yi] = Float(acc)
                    db[oc] += rv
                }
            }
        }
    }
    return (ref, dw.map { Float($0) }, dx.map { Float($0) }, db.map { Float($0) })
}
