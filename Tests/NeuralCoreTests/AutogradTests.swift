import Foundation
import NeuralCore
import Testing

private extension Tensor {
    func transposed2D() -> Tensor { reshaped([6, 4]).transposed().unsqueezed(axis: 0).squeezed(axis: 0) }
}

@Suite("Autograd engine and elementwise operations")
struct AutogradTests {
    @Test func sumOfSquaresGradient() {
        let w = Tensor(shape: [3], data: [1, 2, 3], requiresGrad: true)
        let loss = (w * w).sum()
        #expect(loss.item == 14)
        loss.backward()
        #expect(w.grad?.data == [2, 4, 6])
    }

    @Test func gradientsAccumulateAcrossBackwardCalls() {
        let w = Tensor(shape: [2], data: [1, -1], requiresGrad: true)
        (w * 3).sum().backward()
        (w * 3).sum().backward()
        #expect(w.grad?.data == [6, 6])
    }

    @Test func sharedSubexpressionIsCountedOnce() {
        // y = a*a + a  =>  dy/da = 2a + 1 (the DAG visits `a` through two paths).
        let a = Tensor(shape: [2], data: [0.5, -2], requiresGrad: true)
        let s = a * a
        (s + a + s * 0).sum().backward()
        #expect(a.grad?.data == [2, -3])
    }

    @Test func broadcastingArithmeticMatchesFiniteDifferences() {
        let a = randomTensor([2, 3, 4], seed: 1)
        let b = randomTensor([3, 1], seed: 2)
        let c = randomTensor([4], seed: 3)
        let d = randomTensor([1, 3, 4], seed: 4).affine(scale: 0.5, shift: 2).detached()
        d.requiresGrad = true
        let err = elementwiseGradientError([a, b, c, d]) {
            weightedSum(((a + b) * c - b / d) / d + (a - c))
        }
        #expect(err < 2e-3)
    }

    @Test func unaryFunctionsMatchFiniteDifferences() {
        let x = randomTensor([5, 4], seed: 5, scale: 2)
        let p = randomTensor([5, 4], seed: 6).affine(scale: 0.4, shift: 1).detached()
        p.requiresGrad = true
        let err = elementwiseGradientError([x, p], step: 1e-3) {
            weightedSum(x.sigmoid() + x.tanh() * 2 + x.exp() * 0.1 + p.log() + p.sqrt() + x.squared() + (x * 3).relu() + x.clamped(lower: -0.5, upper: 0.5))
        }
        #expect(err < 5e-3)
    }

    @Test func shapeOperationsMatchFiniteDifferences() {
        let a = randomTensor([2, 3, 4], seed: 8)
        let b = randomTensor([2, 2, 4], seed: 9)
        let err = elementwiseGradientError([a, b]) {
            let c = Tensor.concatenate([a, b], axis: 1)        // (2, 5, 4)
            let s = c.slice(axis: 1, 1 ..< 4).permuted([2, 0, 1]) // (4, 2, 3)
            let r = s.reshaped([8, -1]).sum(axes: [1]) + s.mean(axes: [0, 2], keepDims: true).flattened().sum()
            return weightedSum(r) + weightedSum(Tensor.stack([a[0], a[1]], axis: 1), seed: 3)
                + weightedSum(b.slice(axis: 1, 0 ..< 1).expanded(to: [3, 2, 3, 4]), seed: 5)
                + weightedSum(a.transposed2D(), seed: 6)
        }
        #expect(err < 2e-3)
    }

    @Test func matmulMatchesNaiveProductAndGradients() {
        let a = randomTensor([3, 5], seed: 10)
        let b = randomTensor([5, 2], seed: 11)
        let c = a.matmul(b)
        for i in 0 ..< 3 {
            for j in 0 ..< 2 {
                var s: Float = 0
                for k in 0 ..< 5 { s += a.data[i * 5 + k] * b.data[k * 2 + j] }
                #expect(abs(c.data[i * 2 + j] - s) < 1e-5)
            }
        }
        #expect(elementwiseGradientError([a, b]) { weightedSum(a.matmul(b)) } < 2e-3)
    }

    @Test func functionalGradientsReachIntermediateTensors() {
        // y_t = sum_c w_c * A[t, c]^2: d y_t / d A = 2 w_c A[t, c] on row t only.
        let x = randomTensor([2, 3], seed: 12)
        let a = x * 2                      // an intermediate
        let w = Tensor(shape: [1, 3], data: [1, 2, 3])
        let y = (a.squared() * w).sum(axes: [1])
        let xGradBefore = x.grad
        for t in 0 ..< 2 {
            let g = gradients(of: y[t], withRespectTo: [a])[0]
            for r in 0 ..< 2 {
                for c in 0 ..< 3 {
                    let expected: Float = r == t ? 2 * w.data[c] * a.data[r * 3 + c] : 0
                    #expect(abs(g.data[r * 3 + c] - expected) < 1e-6)
                }
            }
        }
        #expect(xGradBefore == nil && x.grad == nil)
    }

    @Test func elementWritesHappenInPlaceAndKeepValueSemantics() {
        let t = Tensor(zeros: [1000])
        let before = t.withUnsafeBufferPointer { $0.baseAddress }
        // No copy of the storage on a write (a didSet observer would reallocate every time).
        t.data[3] = 1
        #expect(t.withUnsafeBufferPointer { $0.baseAddress } == before)
        t.withUnsafeMutableBufferPointer { $0[4] = 2 }
        #expect(t.withUnsafeBufferPointer { $0.baseAddress } == before)
        #expect(t.data[3] == 1 && t.data[4] == 2)
        // A reshaped tensor shares the storage copy-on-write: later writes do not reach it.
        let r = t.reshaped([10, 100])
        t.data[0] = 5
        #expect(r.data[0] == 0 && t.data[0] == 5)
    }

    @Test func noGradScopeRecordsNothing() {
        let w = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
        let y = withoutGradients { (w * w).sum() }
        #expect(y.node == nil && !y.requiresGrad)
        let z = Tensor.noGrad { w + 1 }
        #expect(z.node == nil)
        #expect((w * w).node != nil)
    }

    @Test func retainGradKeepsIntermediateGradient() {
        let x = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
        let h = x * 3
        h.retainGrad()
        (h * h).sum().backward()
        #expect(h.grad?.data == [6, 12])
        #expect(x.grad?.data == [18, 36])
    }
}

/// Graphs must not keep themselves alive: no operation may capture its own output.
@Suite("Graph memory")
struct GraphMemoryTests {
    final class WeakBox { weak var tensor: Tensor? }

    /// `backward()` releases the graph anyway; a forward pass without it, or `gradients(of:)`
    /// (which retains the graph), must not leave cycles either.
    @Test(arguments: [0, 1, 2])
    func intermediateTensorsAreFreedAfterUse(_ mode: Int) {
        var boxes: [WeakBox] = []
        func keep(_ t: Tensor) -> Tensor { let b = WeakBox(); b.tensor = t; boxes.append(b); return t }
        do {
            let x = randomTensor([2, 2, 6, 6], seed: 30)
            let w = randomTensor([2, 2, 3, 3], seed: 31)
            let bn = BatchNorm2d(2)
            var y = keep(conv2d(x, weight: w, padding: 1))
            y = keep(bn(y))
            y = keep(y.relu())
            y = keep(y.sigmoid())
            y = keep(y.tanh())
            y = keep(y.exp())
            y = keep(y.sqrt())
            y = keep(maxPool2d(y, kernelSize: 2))
            y = keep(upsampleBilinear(y))
            let loss = keep(binaryCrossEntropyWithLogits(y, targets: Tensor(zeros: y.shape)) + softDiceLoss(y, targets: Tensor(zeros: y.shape)))
            if mode == 1 { loss.backward() }
            if mode == 2 { _ = gradients(of: loss, withRespectTo: [x]) }
        }
        #expect(boxes.allSatisfy { $0.tensor == nil }, "\(boxes.filter { $0.tensor != nil }.count) tensors leaked")
    }

    /// A recorded graph keeps only what backward closures read: the input of a ReLU, the terms
    /// of a sum and the parts of a concatenation go as soon as the forward pass has used them,
    /// while the graph lives, and the gradients are those of the definition.
    @Test func intermediatesNoBackwardReadsAreFreedDuringForward() {
        let x = Tensor(shape: [4], data: [-1, 2, -3, 4], requiresGrad: true)
        let reluInput = WeakBox(), term = WeakBox(), part = WeakBox(), product = WeakBox()
        let loss: Tensor
        do {
            let a = x * 2                                  // d relu(2x)/dx = 2 where x > 0
            reluInput.tensor = a
            let r = a.relu()
            let b = x + 1
            term.tensor = b
            let s = r + b                                  // relu(2x) + x + 1
            let c = s * 3
            part.tensor = c
            let joined = Tensor.concatenate([c, x], axis: 0)
            let p = joined * joined                        // reads `joined`: its values stay
            product.tensor = joined
            loss = p.sum()
        }
        #expect(loss.node != nil)
        #expect(reluInput.tensor == nil && term.tensor == nil && part.tensor == nil && product.tensor == nil)
        // loss = Σ (3 (relu(2x) + x + 1))² + Σ x²; d/dx = 2 · 3 s · 3 · (2·[x > 0] + 1) + 2x.
        loss.backward()
        let xs = x.data
        let expected = xs.map { v -> Float in
            let s = max(2 * v, 0) + v + 1
            return 18 * s * (v > 0 ? 3 : 1) + 2 * v
        }
        #expect(x.grad?.data == expected)
    }

    /// After `backward()` without `retainGraph`, a result that is still held is a leaf again
    /// (its node is released), as it was before the graph kept places instead of tensors.
    @Test func backwardReleasesTheNodesOfHeldResults() {
        let x = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
        let h = x * 3
        let loss = (h * h).sum()
        loss.backward()
        #expect(h.node == nil && loss.node == nil && h.requiresGrad)
        #expect(x.grad?.data == [18, 36])
    }

    /// A graph recorded on a result before an earlier backward pass released that result's node
    /// ends there: the result gets its gradient, as a leaf would, and nothing reaches further.
    @Test func aGraphOnAReleasedResultEndsThere() {
        let x = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
        let h = x * 3
        let second = (h * 2).sum()      // recorded while h still has its node
        (h * h).sum().backward()        // releases h's node: x.grad = 2h · 3
        second.backward()
        #expect(h.grad?.data == [2, 2])
        #expect(x.grad?.data == [18, 36])
    }
}

/// Products large enough to be split over threads (rows or columns, transposed or not) against
/// a naive Double product.
@Suite("Large matrix products")
struct LargeProductTests {
    func naive(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0 ..< m {
            for j in 0 ..< n {
                var s = 0.0
                for p in 0 ..< k { s += Double(a[i * k + p]) * Double(b[p * n + j]) }
                c[i * n + j] = Float(s)
            }
        }
        return c
    }

    @Test(arguments: [(100, 200, 300), (300, 200, 100), (37, 411, 250)])
    func matmulAndItsGradientsMatchNaiveProducts(_ dims: (Int, Int, Int)) {
        let (m, k, n) = dims
        let a = randomTensor([m, k], seed: 50), b = randomTensor([k, n], seed: 51)
        let c = a.matmul(b)
        #expect(relativeError(c.data, naive(a.data, b.data, m: m, k: k, n: n)) < 1e-5)
        let g = randomTensor([m, n], seed: 52, requiresGrad: false)
        c.backward(g)
        // dA = G Bᵀ, dB = Aᵀ G (transposed operands in the split path).
        let bt = b.transposed().data, at = a.transposed().data
        #expect(relativeError(a.grad!.data, naive(g.data, bt, m: m, k: n, n: k)) < 1e-5)
        #expect(relativeError(b.grad!.data, naive(at, g.data, m: k, k: m, n: n)) < 1e-5)
    }
}
