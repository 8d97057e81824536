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
