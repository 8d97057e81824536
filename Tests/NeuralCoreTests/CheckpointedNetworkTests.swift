import Foundation
import NeuralCore
import Testing
import TestSupport

/// A network defined outside the package's modules, as a user's own would be.
private struct TinyConfig: NetworkConfiguration {
    var inputs: Int
    var outputs: Int

    func validate(source: String) throws {
        guard inputs > 0, outputs > 0 else {
            throw NeuralCoreError.invalidConfig(source: source, reason: "inputs and outputs must be positive")
        }
    }
}

private final class TinyNet: Module, CheckpointedNetwork {
    let config: TinyConfig
    let fc: Linear

    init(config: TinyConfig, seed: UInt64) {
        self.config = config
        var generator = SplitMix64(state: seed)
        fc = Linear(config.inputs, config.outputs, using: &generator)
        super.init()
    }

    convenience init(checkpointConfiguration configuration: TinyConfig, source: String) throws {
        self.init(config: configuration, seed: 0)
    }

    var checkpointConfiguration: TinyConfig { config }

    override func children() -> [(key: String, module: Module)] { [("fc", fc)] }
    override func forward(_ x: Tensor) -> Tensor { fc(x) }
}

@Suite("A network of one's own is saved and loaded through CheckpointedNetwork")
struct CheckpointedNetworkTests {
    @Test("save then load gives the same configuration, tensors and outputs")
    func roundTrip() throws {
        let folder = TemporaryFolder(prefix: "ichct-checkpointed"); defer { folder.cleanup() }
        let url = folder.file("tiny.safetensors")
        let net = TinyNet(config: TinyConfig(inputs: 3, outputs: 2), seed: 7)
        try net.save(to: url)
        let again = try TinyNet(contentsOf: url)
        #expect(again.config == net.config)
        #expect(again.checkpoint == net.checkpoint)
        let x = Tensor(shape: [1, 3], data: [0.5, -1, 2])
        #expect(again(x).data == net(x).data)
        #expect(!again.isTraining, "a loaded network is in evaluation mode")
        let stored = try SafeTensors(contentsOf: url).metadata[TinyConfig.metadataKey]
        #expect(stored == net.config.jsonString)
    }

    @Test("a configuration its validation refuses is an invalid-config error naming the file")
    func invalidConfiguration() throws {
        let folder = TemporaryFolder(prefix: "ichct-checkpointed"); defer { folder.cleanup() }
        let url = folder.file("bad.safetensors")
        try SafeTensors(metadata: [TinyConfig.metadataKey: #"{"inputs": 0, "outputs": 2}"#]).write(to: url)
        #expect(throws: NeuralCoreError.invalidConfig(source: url.path, reason: "inputs and outputs must be positive")) {
            try TinyNet(contentsOf: url)
        }
    }

    @Test("a file without the configuration metadata is not a checkpoint")
    func noMetadata() throws {
        let folder = TemporaryFolder(prefix: "ichct-checkpointed"); defer { folder.cleanup() }
        let url = folder.file("plain.safetensors")
        try SafeTensors(tensors: ["fc.weight": StoredTensor(shape: [2, 3], floats: [0, 0, 0, 0, 0, 0])]).write(to: url)
        #expect(throws: NeuralCoreError.self) { try TinyNet(contentsOf: url) }
        do { _ = try TinyNet(contentsOf: url) } catch { #expect("\(error)".contains("ichct.config")) }
    }

    @Test("tensors of the wrong shape are refused and name the tensor")
    func wrongShape() throws {
        let folder = TemporaryFolder(prefix: "ichct-checkpointed"); defer { folder.cleanup() }
        let url = folder.file("shape.safetensors")
        var checkpoint = TinyNet(config: TinyConfig(inputs: 3, outputs: 2), seed: 1).checkpoint
        checkpoint.tensors["fc.bias"] = StoredTensor(shape: [5], floats: [0, 0, 0, 0, 0])
        try checkpoint.write(to: url)
        do {
            _ = try TinyNet(contentsOf: url)
            Issue.record("loaded")
        } catch {
            #expect("\(error)".contains("fc.bias"))
        }
    }
}
