import Foundation

extension Tensor {
    /// A leaf tensor holding a stored tensor's values (int64 values become floats and the
    /// tensor is marked ``isIntegral``, so that saving writes them back as int64).
    public convenience init(_ stored: StoredTensor) {
        self.init(shape: stored.shape, data: stored.floats)
        if stored.dtype == .int64 { isIntegral = true }
    }
}

extension StoredTensor {
    /// A tensor's values for a file: int64 when ``Tensor/isIntegral`` (rounded), else float32.
    public init(_ tensor: Tensor) {
        if tensor.isIntegral {
            self.init(shape: tensor.shape, int64s: tensor.data.map { Int64($0.rounded()) })
        } else {
            self.init(shape: tensor.shape, floats: tensor.data)
        }
    }
}

extension Module {
    /// The state dictionary as stored tensors (`num_batches_tracked` as int64), PyTorch names.
    public func storedStateDict() -> [String: StoredTensor] {
        Dictionary(orderedStateDict().map { ($0.key, StoredTensor($0.tensor)) }, uniquingKeysWith: { a, _ in a })
    }

    /// Loads parameters and buffers from a safetensors file's tensors, checking every name and shape.
    ///
    /// - Parameters:
    ///   - file: the file's contents.
    ///   - source: how errors name the file (its path).
    ///   - strict: missing and unexpected names are errors (default `true`).
    /// - Throws: ``NeuralCoreError/missingKeys(source:keys:)``, ``NeuralCoreError/unexpectedKeys(source:keys:)``,
    ///   ``NeuralCoreError/shapeMismatch(source:key:expected:found:)``; nothing changes when it throws.
    public func load(safeTensors file: SafeTensors, source: String, strict: Bool = true) throws {
        try load(stateDict: file.tensors.mapValues { Tensor($0) }, strict: strict, source: source)
    }
}

/// A network checkpoint: the reference's safetensors layout (the PyTorch `state_dict` under its
/// own names, float32, `num_batches_tracked` int64) plus the ``ModelConfig`` as JSON in the
/// `ichct.config` metadata.
///
/// A checkpoint written by `ichnets.save` loads here, and one written here loads in PyTorch
/// with `load_state_dict(strict=True)`.
public struct Checkpoint: Sendable, Equatable {
    /// Which network and its architecture.
    public var config: ModelConfig
    /// The state dictionary.
    public var tensors: [String: StoredTensor]

    /// A checkpoint from a configuration and a state dictionary.
    public init(config: ModelConfig, tensors: [String: StoredTensor]) {
        self.config = config
        self.tensors = tensors
    }

    /// A checkpoint of `module`'s current state.
    public init(config: ModelConfig, module: Module) {
        self.init(config: config, tensors: module.storedStateDict())
    }

    /// Reads a checkpoint; the file must carry a valid `ichct.config`.
    ///
    /// - Throws: the errors of ``SafeTensors/init(contentsOf:)`` and
    ///   ``NeuralCoreError/invalidConfig(source:reason:)``.
    public init(contentsOf url: URL) throws {
        let file = try SafeTensors(contentsOf: url)
        guard let json = file.metadata[ModelConfig.metadataKey] else {
            throw NeuralCoreError.invalidConfig(source: url.path, reason: "no \(ModelConfig.metadataKey) metadata (not an ichct checkpoint)")
        }
        self.init(config: try ModelConfig(json: json, source: url.path), tensors: file.tensors)
    }

    /// The safetensors contents: tensors plus the configuration under `ichct.config`.
    public var safeTensors: SafeTensors {
        SafeTensors(tensors: tensors, metadata: [ModelConfig.metadataKey: config.jsonString])
    }

    /// Writes the checkpoint atomically.
    ///
    /// - Parameters:
    ///   - url: destination (`.safetensors`).
    ///   - overwrite: replace an existing file (default `false`).
    public func write(to url: URL, overwrite: Bool = false) throws {
        try safeTensors.write(to: url, overwrite: overwrite)
    }
}
