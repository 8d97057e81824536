import Foundation
import NeuralCore
import Testing
import TestSupport

/// Initialisations: the distributions of PyTorch / torchvision, checked by their moments and bounds.
@Suite("Initialisation")
struct InitializerTests {
    func moments(_ v: [Float]) -> (mean: Double, std: Double) {
        let m = v.reduce(0.0) { $0 + Double($1) } / Double(v.count)
        let s = (v.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(v.count)).squareRoot()
        return (m, s)
    }

    @Test func kaimingNormalFanOutHasTorchvisionStd() {
        var g = TestGenerator(seed: 11)
        let w = Initializers.kaimingNormalFanOut([64, 32, 3, 3], using: &g)   // fan_out = 576
        let (m, s) = moments(w.data)
        let expected = (2.0 / 576.0).squareRoot()
        // 18 432 draws: the sample std is within ~1% (3 standard errors ≈ 1.6%).
        #expect(abs(m) < 3 * expected / Double(w.count).squareRoot() * 1.5)
        #expect(abs(s / expected - 1) < 0.02)
    }

    @Test func defaultConvAndLinearAreUniformWithinOneOverSqrtFanIn() {
        var g = TestGenerator(seed: 12)
        let conv = Conv2d(16, 32, kernelSize: 3, using: &g)   // fan_in 144, bound 1/12
        let bound = 1.0 / 12.0
        #expect(conv.weight.data.allSatisfy { abs(Double($0)) <= bound })
        #expect(abs(moments(conv.weight.data).std / (bound / 3.0.squareRoot()) - 1) < 0.03)
        #expect(conv.bias!.data.allSatisfy { abs(Double($0)) <= bound })
        let lin = Linear(100, 50, using: &g)
        #expect(lin.weight.data.allSatisfy { abs($0) <= 0.1 } && lin.bias!.data.allSatisfy { abs($0) <= 0.1 })
        #expect(abs(moments(lin.weight.data).std / (0.1 / 3.0.squareRoot()) - 1) < 0.03)
    }

    @Test func lstmUniformWithinOneOverSqrtHidden() {
        var g = TestGenerator(seed: 13)
        let lstm = LSTM(inputSize: 20, hiddenSize: 25, bidirectional: true, using: &g)
        let all = lstm.namedParameters().flatMap(\.tensor.data)
        #expect(all.allSatisfy { abs($0) <= 0.2 })
        #expect(abs(moments(all).std / (0.2 / 3.0.squareRoot()) - 1) < 0.03)
    }

    @Test(arguments: [[6, 4], [4, 6], [5, 5], [3, 2, 2, 2]])
    func orthogonalRowsOrColumnsAreOrthonormal(_ shape: [Int]) {
        var g = TestGenerator(seed: 14)
        let w = Initializers.orthogonal(shape, gain: 2, using: &g)
        let rows = shape[0], cols = shape.dropFirst().reduce(1, *)
        // The smaller Gram matrix is gain² · I.
        let byRows = rows <= cols
        let k = byRows ? rows : cols
        for a in 0 ..< k {
            for b in 0 ..< k {
                var dot: Float = 0
                for i in 0 ..< (byRows ? cols : rows) {
                    dot += byRows ? w.data[a * cols + i] * w.data[b * cols + i] : w.data[i * cols + a] * w.data[i * cols + b]
                }
                #expect(abs(dot - (a == b ? 4 : 0)) < 1e-4)
            }
        }
    }

    @Test func batchNormStartsAtIdentity() {
        let bn = BatchNorm2d(3)
        #expect(bn.weight.data == [1, 1, 1] && bn.bias.data == [0, 0, 0])
        #expect(bn.runningMean.data == [0, 0, 0] && bn.runningVar.data == [1, 1, 1])
    }
}
