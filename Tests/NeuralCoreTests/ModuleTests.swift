import Foundation
import NeuralCore
import Testing
import TestSupport

/// Mirrors `Block` and `Naming` of scripts/fixtures/layer_fixtures.py.
private final class Block: Module {
    let conv1: Conv2d
    let bn1: BatchNorm2d
    let downsample: Sequential?
    init(_ cin: Int, _ cout: Int, stride: Int, using g: inout TestGenerator) {
        conv1 = Conv2d(cin, cout, kernelSize: 3, stride: stride, padding: 1, bias: false, using: &g)
        bn1 = BatchNorm2d(cout)
        downsample = (stride != 1 || cin != cout)
            ? Sequential(Conv2d(cin, cout, kernelSize: 1, stride: stride, bias: false, using: &g), BatchNorm2d(cout)) : nil
        super.init()
    }
    override func forward(_ x: Tensor) -> Tensor {
        let identity = downsample.map { $0(x) } ?? x
        return (bn1(conv1(x)) + identity).relu()
    }
}

private final class Naming: Module {
    let conv1: Conv2d
    let bn1: BatchNorm2d
    let layer1: Sequential
    let down: [Block]
    let lstm: LSTM
    let fc: Linear
    let head: Conv2d
    var cache: Tensor? = nil   // not state
    override var ignoredNames: Set<String> { ["cache"] }
    init(using g: inout TestGenerator) {
        conv1 = Conv2d(3, 4, kernelSize: 7, stride: 2, padding: 3, bias: false, using: &g)
        bn1 = BatchNorm2d(4)
        layer1 = Sequential(Block(4, 4, stride: 1, using: &g), Block(4, 8, stride: 2, using: &g))
        down = [Block(8, 8, stride: 1, using: &g), Block(8, 16, stride: 1, using: &g)]
        lstm = LSTM(inputSize: 16, hiddenSize: 5, bidirectional: true, using: &g)
        fc = Linear(10, 1, using: &g)
        head = Conv2d(16, 1, kernelSize: 1, using: &g)
        super.init()
    }
}

@Suite("Module system")
struct ModuleTests {
    @Test func stateDictKeysShapesAndOrderMatchPyTorch() {
        var g = TestGenerator(seed: 1)
        let m = Naming(using: &g)
        m.cache = Tensor(zeros: [2])
        let ours = m.orderedStateDict().map { ($0.key, $0.tensor.shape) }
        let torch = LayerFixtures.stateDictOrder
        #expect(ours.map(\.0) == torch.map(\.0))
        #expect(ours.map(\.1) == torch.map(\.1))
        #expect(m.namedBuffers().map(\.key).allSatisfy { $0.contains("running_") || $0.hasSuffix("num_batches_tracked") })
        #expect(m.stateDict()["bn1.num_batches_tracked"]!.isIntegral)
        #expect(m.stateDict()["bn1.num_batches_tracked"]!.shape == [])
    }

    @Test func stateKeyConvertsCamelCase() {
        #expect(Module.stateKey("runningMean") == "running_mean")
        #expect(Module.stateKey("numBatchesTracked") == "num_batches_tracked")
        #expect(Module.stateKey("weightIhL0Reverse") == "weight_ih_l0_reverse")
        #expect(Module.stateKey("layer1") == "layer1")
    }

    @Test func loadRoundTripsAndReportsProblems() throws {
        var g1 = TestGenerator(seed: 1), g2 = TestGenerator(seed: 2)
        let a = Naming(using: &g1), b = Naming(using: &g2)
        let copy = a.stateDict().mapValues { Tensor(shape: $0.shape, data: $0.data) }
        try b.load(stateDict: copy)
        for (k, t) in b.stateDict() { #expect(t.data == a.stateDict()[k]!.data, "\(k)") }

        // the strict name check alone, as other per-tensor stores use it
        try b.checkStateNames(Set(copy.keys), source: "m")
        #expect(throws: NeuralCoreError.missingKeys(source: "m", keys: ["fc.bias"])) {
            try b.checkStateNames(Set(copy.keys).subtracting(["fc.bias"]), source: "m")
        }
        #expect(throws: NeuralCoreError.unexpectedKeys(source: "m", keys: ["a", "z"])) {
            try b.checkStateNames(Set(copy.keys).union(["z", "a"]), source: "m")
        }

        var missing = copy
        missing["fc.bias"] = nil
        #expect(throws: NeuralCoreError.missingKeys(source: "m.safetensors", keys: ["fc.bias"])) {
            try b.load(stateDict: missing, source: "m.safetensors")
        }
        var extra = copy
        extra["fc.gamma"] = Tensor(zeros: [1])
        #expect(throws: NeuralCoreError.unexpectedKeys(source: "state dict", keys: ["fc.gamma"])) { try b.load(stateDict: extra) }
        try b.load(stateDict: missing.merging(extra) { x, _ in x }, strict: false)
        var wrong = copy
        wrong["head.weight"] = Tensor(zeros: [1, 16, 3, 3])
        #expect(throws: NeuralCoreError.shapeMismatch(source: "state dict", key: "head.weight", expected: [1, 16, 1, 1], found: [1, 16, 3, 3])) {
            try b.load(stateDict: wrong)
        }
        let message = NeuralCoreError.shapeMismatch(source: "c.safetensors", key: "head.weight", expected: [1], found: [2]).description
        #expect(message.contains("c.safetensors") && message.contains("head.weight"))
    }

    @Test func trainEvalFreezeAndUpdate() {
        var g = TestGenerator(seed: 3)
        let m = Naming(using: &g)
        #expect(m.namedModules().allSatisfy { $0.module.isTraining })
        m.eval()
        #expect(m.namedModules().allSatisfy { !$0.module.isTraining })
        m.layer1.train()
        #expect(m.layer1.isTraining && m.down[0].bn1.isTraining == false && (m.layer1.layers[1] as! Block).bn1.isTraining)
        m.freeze()
        #expect(m.trainableParameters().isEmpty)
        m.fc.unfreeze()
        #expect(m.trainableParameters().map(\.key) == ["fc.weight", "fc.bias"])
        m.update(parameters: ["fc.bias": Tensor(shape: [1], data: [0.25])])
        #expect(m.fc.bias!.data == [0.25])
    }

    @Test func forwardHookSeesIntermediateOutputs() {
        var g = TestGenerator(seed: 4)
        let block = Block(3, 4, stride: 2, using: &g)
        var seen: [Int] = []
        block.bn1.forwardHook = { _, y in seen = y.shape }
        _ = block(randomTensor([1, 3, 6, 6], seed: 5))
        #expect(seen == [1, 4, 3, 3])
    }

    @Test func batchNormCountsBatchesOnlyInTraining() {
        let bn = BatchNorm2d(2)
        let x = randomTensor([2, 2, 3, 3], seed: 6)
        _ = bn(x); _ = bn(x)
        #expect(bn.numBatchesTracked.item == 2)
        bn.eval()
        _ = bn(x)
        #expect(bn.numBatchesTracked.item == 2)
    }
}

@Suite("Documentation example")
struct DocumentationExampleTests {
    /// The example at the top of Docs/neuralcore.md, verbatim.
    @Test func readmeExampleRuns() {
        var rng = SplitMix64(state: 42)
        let conv = Conv2d(3, 8, kernelSize: 3, padding: 1, bias: false,
                          initialization: .kaimingNormalFanOut, using: &rng)
        let bn = BatchNorm2d(8)
        let x = Tensor(shape: [2, 3, 16, 16], data: [Float](repeating: 0.5, count: 2 * 3 * 16 * 16))
        let y = bn(conv(x)).relu()
        let loss = binaryCrossEntropyWithLogits(globalAvgPool2d(y).mean(axes: [1]),
                                                targets: Tensor(shape: [2], data: [1, 0]))
        loss.backward()
        let inference = withoutGradients { bn(conv(x)) }
        #expect(y.shape == [2, 8, 16, 16] && inference.node == nil)
        #expect(conv.weight.grad?.shape == [8, 3, 3, 3] && bn.weight.grad?.shape == [8])
    }
}
