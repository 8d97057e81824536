import Foundation
import NeuralCore
import WeakSupervision
import Testing

/// Grad-CAM of every slice's own logit for one sequence, written out from the method's formula
/// (ichnets.grad_cam): weights = spatial mean of d logit_t / d A_t, cam = ReLU(Σ_c w_c A_t,c),
/// bilinear (align_corners=False) to `size`, each slice divided by its max.
private func gradCAM(_ net: ResNetLSTM, sequence: Tensor, size: (Int, Int)) -> Tensor {
    let t = sequence.shape[0]
    let maps = net.featureMaps(sequence).detached()
    maps.requiresGrad = true
    let logits = net.head(maps, batch: 1, time: t)
    let (c, h, w) = (maps.shape[1], maps.shape[2], maps.shape[3])
    var cams: [Float] = []
    for k in 0..<t {
        let g = gradients(of: logits.select(axis: 1, k).sum(), withRespectTo: [maps])[0]
        for p in 0..<(h * w) {
            var v: Float = 0
            for ch in 0..<c {
                var weight: Float = 0
                for q in 0..<(h * w) { weight += g.data[((k * c) + ch) * h * w + q] }
                v += weight / Float(h * w) * maps.data[((k * c) + ch) * h * w + p]
            }
            cams.append(max(v, 0))
        }
    }
    let resized = bilinearResize(Tensor(shape: [t, 1, h, w], data: cams), height: size.0, width: size.1)
    var out = resized.data
    let plane = size.0 * size.1
    for k in 0..<t {
        let peak = max(out[(k * plane)..<((k + 1) * plane)].max()!, 1e-12)
        for i in (k * plane)..<((k + 1) * plane) { out[i] /= peak }
    }
    return Tensor(shape: [t, size.0, size.1], data: out)
}

@Suite("ResNetLSTM against the PyTorch reference")
struct ResNetLSTMTests {
    @Test("state names, order and shapes are the reference's state_dict", arguments: ["classifier_a", "classifier_b", "classifier_c"])
    func names(net name: String) throws {
        let net = try ResNetLSTM(contentsOf: fixtureURL("\(name).safetensors"))
        #expect(net.orderedStateDict().map(\.key) == (try torchKeyOrder(name)))
        let keys = Set(net.orderedStateDict().map(\.key))
        #expect(keys.contains("layer2.0.downsample.0.weight") && keys.contains("layer2.0.downsample.1.running_mean"))
        #expect(!keys.contains("layer1.0.downsample.0.weight"))
        let fresh = ResNetLSTM(config: net.config, seed: 7)
        let file = try SafeTensors(contentsOf: fixtureURL("\(name).safetensors"))
        for (key, t) in fresh.orderedStateDict() { #expect(file.tensors[key]?.shape == t.shape, "\(key)") }
    }

    @Test("eval-mode logits and feature maps equal torch's (rel 1e-4)", arguments: ["classifier_a", "classifier_b", "classifier_c"])
    func evalParity(net name: String) throws {
        let net = try ResNetLSTM(contentsOf: fixtureURL("\(name).safetensors"))
        let io = try fixtureTensors("\(name).io.safetensors")
        let x = io["input"]!
        let logits = withoutGradients { net(x) }
        #expect(logits.shape == io["eval.logits"]!.shape)
        let err = scaledError(logits.data, io["eval.logits"]!.data)
        #expect(err <= 1e-4, "eval logits scaled error \(err)")
        let maps = withoutGradients { net.featureMaps(x.flattened(from: 0, to: 1)) }
        #expect(maps.shape == io["eval.features"]!.shape)
        #expect(scaledError(maps.data, io["eval.features"]!.data) <= 1e-4)
    }

    @Test("train mode: logits, BN running statistics, BCE loss and every gradient equal torch's",
          arguments: ["classifier_a", "classifier_b", "classifier_c"])
    func trainParity(net name: String) throws {
        let net = try ResNetLSTM(contentsOf: fixtureURL("\(name).safetensors"))
        net.train()
        let io = try fixtureTensors("\(name).io.safetensors")
        try expectTrainParity(net, io: io, targets: "labels") { net($0) }
        for (key, b) in net.namedBuffers() {
            let err = absoluteError(b.data, io["train.state.\(key)"]!.data)
            #expect(err <= 1e-5, "buffer \(key) absolute error \(err)")
        }
    }

    @Test("Grad-CAM through featureMaps/head equals ichnets.grad_cam", arguments: ["classifier_a", "classifier_b", "classifier_c"])
    func gradCAMParity(net name: String) throws {
        let net = try ResNetLSTM(contentsOf: fixtureURL("\(name).safetensors"))
        let io = try fixtureTensors("\(name).io.safetensors")
        let x = io["input"]!
        for b in 0..<x.shape[0] {
            let cam = gradCAM(net, sequence: x.select(axis: 0, b), size: (45, 50))
            let want = io["gradcam.\(b)"]!
            #expect(cam.shape == want.shape)
            let err = absoluteError(cam.data, want.data)
            #expect(err <= 1e-4, "Grad-CAM sequence \(b) absolute error \(err) (maps are in [0, 1])")
        }
    }

    @Test("two optimizer steps in train mode equal torch's (parameters and BN state, 1e-5)",
          arguments: [("classifier_b", "sgd"), ("classifier_b", "adam"), ("classifier_c", "adam")])
    func optimizerSteps(net file: String, name: String) throws {
        let net = try ResNetLSTM(contentsOf: fixtureURL("\(file).safetensors"))
        net.train()
        let io = try fixtureTensors("\(file).io.safetensors")
        let optimizer = fixtureOptimizer(name)
        for step in 1...2 {
            net.zeroGrad()
            let loss = binaryCrossEntropyWithLogits(net(io["input"]!), targets: io["labels"]!)
            loss.backward()
            optimizer.update(model: net, gradients: net.parameterGradients())
            let expected = try fixtureTensors("\(file).\(name).safetensors", prefix: "step\(step).")
            #expect(abs(loss.item - expected["loss"]!.item) <= 1e-5)
            expectState(net, equals: expected, tolerance: 1e-5, "\(file) \(name) step \(step)")
        }
    }

    @Test("max pooling reads the maps' maximum: the fixture's pooling and the average network differ")
    func maxPooling() throws {
        let net = try ResNetLSTM(contentsOf: fixtureURL("classifier_c.safetensors"))
        #expect(net.config.pooling == .max)
        let io = try fixtureTensors("classifier_c.io.safetensors")
        let x = io["input"]!
        let (b, t) = (x.shape[0], x.shape[1])
        let maps = withoutGradients { net.featureMaps(x.flattened(from: 0, to: 1)) }
        #expect(maps.shape[2] == 3 && maps.shape[3] == 3)
        // the head on maps whose every cell holds its channel's maximum gives the same logits
        let (c, cells) = (maps.shape[1], maps.shape[2] * maps.shape[3])
        var flat = maps.data
        for plane in 0..<(b * t * c) {
            let peak = flat[(plane * cells)..<((plane + 1) * cells)].max()!
            for i in (plane * cells)..<((plane + 1) * cells) { flat[i] = peak }
        }
        let filled = Tensor(shape: maps.shape, data: flat)
        let logits = withoutGradients { net.head(maps, batch: b, time: t) }
        let same = withoutGradients { net.head(filled, batch: b, time: t) }
        #expect(absoluteError(logits.data, same.data) <= 1e-6)
        // the same weights read with the mean give other logits
        var config = net.config
        config.pooling = .average
        let averaged = ResNetLSTM(config: config, seed: 0)
        try averaged.load(stateDict: net.stateDict())
        averaged.eval()
        let other = withoutGradients { averaged.head(maps, batch: b, time: t) }
        #expect(absoluteError(logits.data, other.data) > 1e-3)
    }
}
