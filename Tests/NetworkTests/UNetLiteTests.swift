import Foundation
import NeuralCore
import WeakSupervision
import Testing

/// Largest |a − b| / max |b| (the error relative to the reference's scale).
func scaledError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "\(a.count) vs \(b.count) elements")
    let scale = max(b.map(abs).max() ?? 0, 1e-30)
    return zip(a, b).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
}

/// The PyTorch state_dict key order recorded with a fixture.
func torchKeyOrder(_ net: String) throws -> [String] {
    let io = try SafeTensors(contentsOf: fixtureURL("\(net).io.safetensors"))
    let json = try #require(io.metadata["state_dict_keys"])
    return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String])
}

/// Largest |a − b|.
func absoluteError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "\(a.count) vs \(b.count) elements")
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

/// Compares every tensor of a module's state with the reference of the same name, to an
/// absolute tolerance (parameters and running statistics are of order 0.01 to 1).
func expectState(_ module: Module, equals expected: [String: Tensor], tolerance: Float, _ what: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    for (key, tensor) in module.orderedStateDict() {
        guard let want = expected[key] else { Issue.record("\(what): no reference for \(key)", sourceLocation: sourceLocation); continue }
        let err = absoluteError(tensor.data, want.data)
        #expect(err <= tolerance, "\(what) \(key): absolute error \(err)", sourceLocation: sourceLocation)
    }
}

@Suite("UNetLite against the PyTorch reference")
struct UNetLiteTests {
    let url = fixtureURL("unet_a.safetensors")

    @Test("state names, order and shapes are the reference's state_dict")
    func names() throws {
        let net = try UNetLite(contentsOf: url)
        #expect(net.orderedStateDict().map(\.key) == (try torchKeyOrder("unet_a")))
        let fresh = UNetLite(config: UNetLiteConfig(inputSize: 20, widths: [4, 8, 16]), seed: 1)
        let file = try SafeTensors(contentsOf: url)
        for (key, t) in fresh.orderedStateDict() { #expect(file.tensors[key]?.shape == t.shape, "\(key)") }
        #expect(fresh.orderedStateDict().count == file.tensors.count)
    }

    @Test("eval-mode logits equal torch's (rel 1e-4)")
    func evalParity() throws {
        let net = try UNetLite(contentsOf: url)
        let io = try fixtureTensors("unet_a.io.safetensors")
        let out = withoutGradients { net(io["input"]!) }
        #expect(out.shape == io["eval.logits"]!.shape)
        let err = scaledError(out.data, io["eval.logits"]!.data)
        #expect(err <= 1e-4, "eval logits scaled error \(err)")
    }

    @Test("train mode: logits, BN running statistics, BCE loss and every gradient equal torch's")
    func trainParity() throws {
        let net = try UNetLite(contentsOf: url)
        net.train()
        let io = try fixtureTensors("unet_a.io.safetensors")
        try expectTrainParity(net, io: io, targets: "target") { net($0) }
        let buffers = io.filter { $0.key.hasPrefix("train.state.") }
        #expect(buffers.count == net.namedBuffers().count)
        for (key, b) in net.namedBuffers() {
            let err = scaledError(b.data, buffers["train.state.\(key)"]!.data)
            #expect(err <= 1e-5, "buffer \(key) scaled error \(err)")
        }
    }

    @Test("two optimizer steps in train mode equal torch's (parameters and BN state, 1e-5)",
          arguments: ["sgd", "nesterov", "adam", "adamw"])
    func optimizerSteps(name: String) throws {
        let net = try UNetLite(contentsOf: url)
        net.train()
        let io = try fixtureTensors("unet_a.io.safetensors")
        let optimizer = fixtureOptimizer(name)
        for step in 1...2 {
            net.zeroGrad()
            let loss = binaryCrossEntropyWithLogits(net(io["input"]!), targets: io["target"]!)
            loss.backward()
            optimizer.update(model: net, gradients: net.parameterGradients())
            let expected = try fixtureTensors("unet_a.\(name).safetensors", prefix: "step\(step).")
            #expect(abs(loss.item - expected["loss"]!.item) <= 1e-5)
            expectState(net, equals: expected, tolerance: 1e-5, "\(name) step \(step)")
        }
    }
}
