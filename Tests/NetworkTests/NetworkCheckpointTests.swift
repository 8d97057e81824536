import Foundation
import NeuralCore
import WeakSupervision
import Testing
import TestSupport

/// Where tests leave Swift-written checkpoints for scripts/fixtures/check_swift_checkpoint.py:
/// `$ICHCT_CHECKPOINT_OUT` when set, else a temporary folder removed afterwards.
private func checkpointFolder() -> (URL, keep: Bool) {
    if let path = ProcessInfo.processInfo.environment["ICHCT_CHECKPOINT_OUT"] {
        let url = URL(fileURLWithPath: path)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return (url, true)
    }
    return (TemporaryFolder(prefix: "ichct-nn").url, false)
}

private func loadError(_ body: () throws -> Void) -> NeuralCoreError? {
    do {
        try body()
        return nil
    } catch {
        return error as? NeuralCoreError
    }
}

@Suite("Network checkpoints")
struct NetworkCheckpointTests {
    /// Trains the reference UNetLite one Adam step (so weights and BN statistics are Swift's own),
    /// saves it, reloads it, and leaves the eval-mode logits on the fixture input beside it for
    /// the PyTorch check (`check_swift_checkpoint.py` loads it with `load_state_dict(strict=True)`).
    @Test("a saved UNetLite reloads with identical state and outputs")
    func unetRoundTrip() throws {
        let (folder, keep) = checkpointFolder()
        defer { if !keep { try? FileManager.default.removeItem(at: folder) } }
        let net = try UNetLite(contentsOf: fixtureURL("unet_a.safetensors"))
        let io = try fixtureTensors("unet_a.io.safetensors")
        net.train()
        let loss = binaryCrossEntropyWithLogits(net(io["input"]!), targets: io["target"]!)
        loss.backward()
        Adam(learningRate: 1e-2).update(model: net, gradients: net.parameterGradients())
        net.eval()
        let url = folder.appendingPathComponent("swift_unet_a.safetensors")
        try net.save(to: url, overwrite: true)
        #expect(throws: NeuralCoreError.outputExists(path: url.path)) { try net.save(to: url) }

        let again = try UNetLite(contentsOf: url)
        #expect(again.config == net.config)
        for ((k1, t1), (k2, t2)) in zip(net.orderedStateDict(), again.orderedStateDict()) {
            #expect(k1 == k2 && t1.data == t2.data && t1.isIntegral == t2.isIntegral, "\(k1)")
        }
        let before = withoutGradients { net(io["input"]!) }
        let after = withoutGradients { again(io["input"]!) }
        #expect(before.data == after.data)
        let stored = try SafeTensors(contentsOf: url)
        #expect(stored.tensors["down.0.bn1.num_batches_tracked"]?.values == .int64([4]))
        try SafeTensors(tensors: ["input": StoredTensor(io["input"]!), "eval.logits": StoredTensor(before)])
            .write(to: folder.appendingPathComponent("swift_unet_a.outputs.safetensors"), overwrite: true)
    }

    /// The same for the classifier (bidirectional LSTM, downsample blocks, int64 BN counters).
    @Test("a saved ResNetLSTM reloads with identical state and outputs")
    func classifierRoundTrip() throws {
        let (folder, keep) = checkpointFolder()
        defer { if !keep { try? FileManager.default.removeItem(at: folder) } }
        let net = try ResNetLSTM(contentsOf: fixtureURL("classifier_a.safetensors"))
        let io = try fixtureTensors("classifier_a.io.safetensors")
        net.train()
        let loss = binaryCrossEntropyWithLogits(net(io["input"]!), targets: io["labels"]!)
        loss.backward()
        SGD(learningRate: 0.05, momentum: 0.9).update(model: net, gradients: net.parameterGradients())
        net.eval()
        let url = folder.appendingPathComponent("swift_classifier_a.safetensors")
        try net.save(to: url, overwrite: true)
        let again = try ResNetLSTM(contentsOf: url)
        #expect(again.config == net.config)
        for ((k1, t1), (k2, t2)) in zip(net.orderedStateDict(), again.orderedStateDict()) {
            #expect(k1 == k2 && t1.data == t2.data, "\(k1)")
        }
        let before = withoutGradients { net(io["input"]!) }
        #expect(before.data == withoutGradients { again(io["input"]!) }.data)
        #expect(try SafeTensors(contentsOf: url).tensors["layer2.0.downsample.1.num_batches_tracked"]?.values == .int64([4]))
        try SafeTensors(tensors: ["input": StoredTensor(io["input"]!), "eval.logits": StoredTensor(before)])
            .write(to: folder.appendingPathComponent("swift_classifier_a.outputs.safetensors"), overwrite: true)
    }

    @Test("loading names the missing, unexpected or mis-shaped tensor and the file")
    func loadErrors() throws {
        let good = try Checkpoint(contentsOf: fixtureURL("unet_a.safetensors"))
        var missing = good
        missing.tensors["up.1.bn2.running_var"] = nil
        #expect(loadError { _ = try UNetLite(checkpoint: missing, source: "m.safetensors") }
                == .missingKeys(source: "m.safetensors", keys: ["up.1.bn2.running_var"]))
        var extra = good
        extra.tensors["up.2.conv1.weight"] = StoredTensor(shape: [1], floats: [0])
        #expect(loadError { _ = try UNetLite(checkpoint: extra, source: "x.safetensors") }
                == .unexpectedKeys(source: "x.safetensors", keys: ["up.2.conv1.weight"]))
        var misshaped = good
        misshaped.tensors["head.weight"] = StoredTensor(shape: [1, 4, 1], floats: [0, 0, 0, 0])
        #expect(loadError { _ = try UNetLite(checkpoint: misshaped, source: "s.safetensors") }
                == .shapeMismatch(source: "s.safetensors", key: "head.weight", expected: [1, 4, 1, 1], found: [1, 4, 1]))
        let message = NeuralCoreError.shapeMismatch(source: "s.safetensors", key: "head.weight", expected: [1, 4, 1, 1], found: [1, 4, 1]).description
        #expect(message.contains("s.safetensors") && message.contains("head.weight"))
    }

    @Test("a checkpoint of the other kind, or without ichct.config, is refused")
    func wrongKind() throws {
        let classifier = fixtureURL("classifier_a.safetensors")
        #expect(loadError { _ = try UNetLite(contentsOf: classifier) }
                == .invalidConfig(source: classifier.path, reason: "the checkpoint holds a resnet_lstm, not a unet_lite"))
        let unet = fixtureURL("unet_a.safetensors")
        #expect(loadError { _ = try ResNetLSTM(contentsOf: unet) }
                == .invalidConfig(source: unet.path, reason: "the checkpoint holds a unet_lite, not a resnet_lstm"))
        let temporary = TemporaryFolder(prefix: "ichct-nn"), folder = temporary.url
        defer { temporary.cleanup() }
        let bare = folder.appendingPathComponent("bare.safetensors")
        try SafeTensors(tensors: (try SafeTensors(contentsOf: unet)).tensors).write(to: bare)
        guard case .invalidConfig(let source, let reason)? = loadError({ _ = try UNetLite(contentsOf: bare) }) else {
            Issue.record("bare state dict accepted")
            return
        }
        #expect(source == bare.path && reason.contains("ichct.config"))
    }
}
