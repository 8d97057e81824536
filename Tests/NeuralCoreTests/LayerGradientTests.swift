import Foundation
import NeuralCore
import Testing
import TestSupport

/// Finite-difference gradient checks of every layer, independent of PyTorch.
///
/// Loss = Σ y ⊙ w with a fixed random w; analytic gradients from backward() against central
/// differences (h = 1e-2, Float evaluation): per element on small tensors, along random
/// directions on larger ones. Tolerance: relative 5e-3 (Float round-off of the difference
/// quotient is about 1e-7·|loss|/h).
@Suite("Layer gradients against finite differences")
struct LayerGradientTests {
    static let tolerance: Float = 5e-3

    @Test(arguments: [(1, 1, 3, true), (2, 1, 3, false), (1, 0, 1, true), (2, 0, 1, false), (2, 3, 7, false), (1, 0, 3, true)])
    func convolution(_ config: (Int, Int, Int, Bool)) {
        let (stride, padding, k, hasBias) = config
        let x = randomTensor([2, 2, 9, 8], seed: 1)
        let w = randomTensor([3, 2, k, k], seed: 2, scale: 0.5)
        let b = hasBias ? randomTensor([3], seed: 3) : nil
        let inputs = [x, w] + (b.map { [$0] } ?? [])
        let err = directionalGradientError(inputs) { weightedSum(conv2d(x, weight: w, bias: b, stride: stride, padding: padding)) }
        #expect(err < Self.tolerance, "stride \(stride) pad \(padding) k \(k): \(err)")
    }

    @Test func convolutionOverManyImagesUsesChunksConsistently() {
        // Enough images that one chunk holds several: per-image results must not depend on chunking.
        let x = randomTensor([6, 3, 5, 5], seed: 4, requiresGrad: false)
        let w = randomTensor([4, 3, 3, 3], seed: 5, requiresGrad: false)
        let all = conv2d(x, weight: w, padding: 1)
        for n in 0 ..< 6 {
            let single = conv2d(x.slice(axis: 0, n ..< n + 1), weight: w, padding: 1)
            #expect(relativeError(single.data, all.slice(axis: 0, n ..< n + 1).data) < 1e-6)
        }
    }

    @Test(arguments: [true, false])
    func batchNorm(_ training: Bool) {
        let x = randomTensor([3, 2, 4, 4], seed: 6, scale: 2)
        let gamma = randomTensor([2], seed: 7), beta = randomTensor([2], seed: 8)
        let rm = randomTensor([2], seed: 9, requiresGrad: false)
        let rv = Tensor(shape: [2], data: [0.7, 1.9])
        let err = elementwiseGradientError([x, gamma, beta], step: 1e-2) {
            weightedSum(batchNorm2d(x, weight: gamma, bias: beta, runningMean: Tensor(shape: [2], data: rm.data),
                                    runningVar: Tensor(shape: [2], data: rv.data), training: training))
        }
        #expect(err < Self.tolerance)
    }

    @Test func maxPoolWithSeparatedValues() {
        // Distinct values 0.05 apart, so a step of 0.01 never changes an argmax.
        var g = TestGenerator(seed: 10)
        let values = (0 ..< 2 * 2 * 7 * 6).map { Float($0) * 0.05 }.shuffled(using: &g)
        let x = Tensor(shape: [2, 2, 7, 6], data: values, requiresGrad: true)
        for (k, s, p) in [(3, 2, 1), (2, 2, 0), (3, 1, 1)] {
            let err = elementwiseGradientError([x]) { weightedSum(maxPool2d(x, kernelSize: k, stride: s, padding: p)) }
            #expect(err < Self.tolerance, "kernel \(k) stride \(s) padding \(p): \(err)")
        }
    }

    @Test func averagePools() {
        let x = randomTensor([2, 2, 7, 5], seed: 11)
        #expect(elementwiseGradientError([x]) { weightedSum(adaptiveAvgPool2d(x, outputSize: (3, 2))) } < Self.tolerance)
        #expect(elementwiseGradientError([x]) { weightedSum(globalAvgPool2d(x)) } < Self.tolerance)
    }

    @Test func bilinearResizes() {
        let x = randomTensor([1, 2, 4, 5], seed: 12)
        for (h, w) in [(8, 10), (9, 3), (2, 2), (4, 5)] {
            let err = elementwiseGradientError([x]) { weightedSum(bilinearResize(x, height: h, width: w)) }
            #expect(err < Self.tolerance, "\(h)x\(w): \(err)")
        }
    }

    @Test func linearLayer() {
        let x = randomTensor([2, 3, 4], seed: 13), w = randomTensor([5, 4], seed: 14), b = randomTensor([5], seed: 15)
        #expect(elementwiseGradientError([x, w, b]) { weightedSum(linear(x, weight: w, bias: b)) } < Self.tolerance)
    }

    @Test(arguments: [(false, 1, false), (true, 1, false), (true, 1, true), (false, 2, true)])
    func lstm(_ config: (Bool, Int, Bool)) {
        let (bidirectional, layers, ragged) = config
        var g = TestGenerator(seed: 16)
        let lstm = LSTM(inputSize: 3, hiddenSize: 4, numLayers: layers, bidirectional: bidirectional, using: &g)
        let x = randomTensor([3, 5, 3], seed: 17)
        let lengths: [Int]? = ragged ? [5, 2, 4] : nil
        let params = lstm.namedParameters().map(\.tensor)
        let err = directionalGradientError([x] + params) { weightedSum(lstm(x, lengths: lengths)) }
        #expect(err < Self.tolerance, "\(config): \(err)")
    }

    @Test func lstmOutputsPastLengthAreZeroAndIndependentOfPadding() {
        var g = TestGenerator(seed: 18)
        let lstm = LSTM(inputSize: 2, hiddenSize: 3, bidirectional: true, using: &g)
        let x = randomTensor([2, 4, 2], seed: 19, requiresGrad: false)
        let y = lstm(x, lengths: [4, 2])
        // Sequence 1 of length 2 equals running it alone, truncated.
        let alone = lstm(x.slice(axis: 0, 1 ..< 2).slice(axis: 1, 0 ..< 2))
        #expect(relativeError(y.slice(axis: 0, 1 ..< 2).slice(axis: 1, 0 ..< 2).data, alone.data) < 1e-6)
        #expect(y.slice(axis: 0, 1 ..< 2).slice(axis: 1, 2 ..< 4).data.allSatisfy { $0 == 0 })
    }

    @Test func losses() {
        let x = randomTensor([3, 1, 4, 4], seed: 20, scale: 3)
        var g = TestGenerator(seed: 21)
        let y = Tensor(shape: x.shape, data: (0 ..< x.count).map { _ in Float.random(in: 0 ..< 1, using: &g) > 0.6 ? 1 : 0 })
        #expect(elementwiseGradientError([x], step: 1e-2) { binaryCrossEntropyWithLogits(x, targets: y, posWeight: 2.5) * 100 } < Self.tolerance)
        #expect(elementwiseGradientError([x], step: 1e-2) { softDiceLoss(x, targets: y) * 100 } < Self.tolerance)
        #expect(elementwiseGradientError([x], step: 1e-2) { softDiceLoss(x, targets: y, smooth: 0.1, perSample: false) * 100 } < Self.tolerance)
    }

    @Test("soft Dice skipping empty targets: the mean over the other samples, no gradient to the empty one, finite differences agree")
    func diceSkippingEmptyTargets() throws {
        let x = randomTensor([3, 1, 4, 4], seed: 22, scale: 3)
        var g = TestGenerator(seed: 23)
        var labels = (0 ..< x.count).map { _ in Float.random(in: 0 ..< 1, using: &g) > 0.6 ? Float(1) : 0 }
        for i in 16 ..< 32 { labels[i] = 0 }                 // sample 1's target is empty
        let y = Tensor(shape: x.shape, data: labels)
        #expect(elementwiseGradientError([x], step: 1e-2) { softDiceLoss(x, targets: y, skipEmptyTargets: true) * 100 } < Self.tolerance)
        // the value and gradients of the plain loss over samples 0 and 2 alone
        let leaf = { (t: Tensor) in Tensor(shape: t.shape, data: t.data, requiresGrad: true) }
        let kept = leaf(Tensor.concatenate([x.slice(axis: 0, 0 ..< 1), x.slice(axis: 0, 2 ..< 3)], axis: 0))
        let keptY = Tensor.concatenate([y.slice(axis: 0, 0 ..< 1), y.slice(axis: 0, 2 ..< 3)], axis: 0)
        let reference = softDiceLoss(kept, targets: keptY)
        reference.backward()
        let xs = leaf(x)
        let skipping = softDiceLoss(xs, targets: y, skipEmptyTargets: true)
        skipping.backward()
        #expect(abs(skipping.item - reference.item) <= 1e-6)
        let grad = xs.grad!.data, keptGrad = kept.grad!.data
        #expect(grad[16 ..< 32].allSatisfy { $0 == 0 })
        #expect(relativeError(Array(grad[0 ..< 16]) + Array(grad[32 ..< 48]), keptGrad) < 1e-6)
        // without skipping, the empty sample is pulled towards background
        let plain = leaf(x)
        softDiceLoss(plain, targets: y).backward()
        #expect(plain.grad!.data[16 ..< 32].allSatisfy { $0 > 0 })
        // a batch of empty targets: loss 0, no gradient
        let none = leaf(x)
        let zero = softDiceLoss(none, targets: Tensor(zeros: x.shape), skipEmptyTargets: true)
        zero.backward()
        #expect(zero.item == 0)
        #expect(try #require(none.grad).data.allSatisfy { $0 == 0 })
    }

    @Test func bceIsStableForLargeLogits() {
        let x = Tensor(shape: [4], data: [100, -100, 80, -80], requiresGrad: true)
        let y = Tensor(shape: [4], data: [1, 0, 0, 1])
        let loss = binaryCrossEntropyWithLogits(x, targets: y)
        #expect(abs(loss.item - 40) < 1e-4)   // (0 + 0 + 80 + 80) / 4
        loss.backward()
        #expect(x.grad!.data.allSatisfy { $0.isFinite })
    }

    @Test func dropoutIsSeededAndUnbiased() {
        let x = Tensor(zeros: [10_000], value: 1, requiresGrad: true)
        var g1 = TestGenerator(seed: 22), g2 = TestGenerator(seed: 22)
        let a = dropout(x, p: 0.3, using: &g1), b = dropout(x, p: 0.3, using: &g2)
        #expect(a.data == b.data)
        let kept = a.data.filter { $0 != 0 }.count
        #expect(abs(Double(kept) / 10_000 - 0.7) < 0.02)
        #expect(a.data.allSatisfy { $0 == 0 || abs($0 - 1 / 0.7) < 1e-6 })
        a.sum().backward()
        #expect(x.grad!.data == a.data)
        let layer = Dropout(p: 0.5, seed: 1)
        layer.eval()
        #expect(layer(x).data == x.data)
    }
}

/// The Grad-CAM pattern: d logit_t / d feature maps through pooling, a bidirectional LSTM and
/// a linear head, with `gradients(of:withRespectTo:)` called once per slice over one forward
/// graph, against central differences of each logit along random directions.
@Suite("Gradients of each slice's logit with respect to feature maps")
struct GradCAMGradientTests {
    @Test func perSliceGradientsMatchFiniteDifferences() {
        var g = TestGenerator(seed: 40)
        let lstm = LSTM(inputSize: 3, hiddenSize: 4, bidirectional: true, using: &g)
        let fc = Linear(8, 1, using: &g)
        let t = 4
        let maps = randomTensor([t, 3, 3, 3], seed: 41)
        func logits() -> Tensor { fc(lstm(globalAvgPool2d(maps).reshaped([1, t, 3]))).reshaped([1, t]) }
        let forward = logits()
        var d = TestGenerator(seed: 42)
        for k in 0 ..< t {
            let grad = gradients(of: forward.select(axis: 1, k).sum(), withRespectTo: [maps])[0]
            let v = (0 ..< maps.count).map { _ in Float.random(in: -1 ..< 1, using: &d) }
            let original = maps.data
            let h: Float = 1e-2
            maps.data = zip(original, v).map { $0 + h * $1 }
            let plus = withoutGradients { logits() }.data[k]
            maps.data = zip(original, v).map { $0 - h * $1 }
            let minus = withoutGradients { logits() }.data[k]
            maps.data = original
            let numeric = Double(plus - minus) / Double(2 * h)
            let analytic = zip(grad.data, v).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            #expect(abs(numeric - analytic) <= 5e-3 * max(abs(analytic), 1e-2), "slice \(k): \(numeric) vs \(analytic)")
        }
        #expect(maps.grad == nil && fc.weight.grad == nil)
    }
}
