import Foundation

/// An exponential moving average of a model's weights, kept beside the model while it trains;
/// evaluate or save the averaged model instead of the last step's.
///
/// Follows PyTorch's `torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay),
/// use_buffers=True)`: the first ``update(from:)`` copies the model; every later one sets
/// `average = decay · average + (1 − decay) · current` for every parameter and floating-point
/// buffer (BatchNorm's running mean and variance). Unlike PyTorch, `num_batches_tracked` is
/// copied, not averaged.
/// After n updates the first copy's weight is `decayⁿ⁻¹`: choose `decay` so that it is small
/// over a run (0.99 forgets a step's weights to 1 % in about 460 steps).
///
/// ```swift
/// let average = ExponentialMovingAverage(decay: 0.99)
/// for batch in batches {
///     // ... loss.backward(); optimizer.update(model: model, gradients: model.parameterGradients())
///     average.update(from: model)
/// }
/// let score = try average.withAveragedWeights(in: model) { evaluate(model) }
/// ```
public final class ExponentialMovingAverage {
    /// Weight of the old average at each update, in [0, 1).
    public let decay: Float
    /// Number of ``update(from:)`` calls so far (0: nothing averaged yet).
    public private(set) var updates: Int = 0
    /// The averaged values by dotted state name (parameters and buffers).
    public private(set) var values: [String: [Float]] = [:]

    /// The metadata key under which a saved average records its decay and update count.
    public static let metadataKey = "ichct.average"

    /// An empty average; `decay` must lie in [0, 1).
    public init(decay: Float) {
        precondition(decay >= 0 && decay < 1, "average decay \(decay) must lie in [0, 1)")
        self.decay = decay
    }

    /// Folds `model`'s present state (parameters and buffers) into the average.
    public func update(from model: Module) {
        let state = model.orderedStateDict()
        if updates == 0 {
            values = Dictionary(state.map { ($0.key, $0.tensor.data) }, uniquingKeysWith: { a, _ in a })
        } else {
            let d = decay, w = 1 - decay
            for (key, tensor) in state {
                if tensor.isIntegral {   // a counter (BatchNorm's num_batches_tracked): copied, not averaged
                    values[key] = tensor.data
                    continue
                }
                precondition(values[key]?.count == tensor.count, "average: \(key) changed shape or is new")
                tensor.withUnsafeBufferPointer { current in
                    values[key]!.withUnsafeMutableBufferPointer { average in
                        for i in 0..<average.count { average[i] = d * average[i] + w * current[i] }
                    }
                }
            }
        }
        updates += 1
    }

    /// Runs `body` with the averaged values in `model` (a model not yet averaged is used as it
    /// is), then puts the model's own values back, also when `body` throws.
    public func withAveragedWeights<T>(in model: Module, _ body: () throws -> T) rethrows -> T {
        guard updates > 0 else { return try body() }
        let state = model.orderedStateDict()
        let saved = state.map { $0.tensor.data }
        for (key, tensor) in state {
            precondition(values[key]?.count == tensor.count, "average: the model's \(key) is not in the average")
            tensor.data = values[key]!
        }
        defer { for (i, entry) in state.enumerated() { entry.tensor.data = saved[i] } }
        return try body()
    }

    // MARK: - Saving and restoring

    /// The average as a safetensors file: one F32 tensor per state name (flat), and the decay
    /// and update count as JSON under ``metadataKey``.
    public func stateFile() -> SafeTensors {
        var file = SafeTensors()
        for (key, v) in values { file.tensors[key] = StoredTensor(shape: [v.count], floats: v) }
        let meta: [String: Any] = ["decay": Double(decay), "updates": updates]
        let json = try! JSONSerialization.data(withJSONObject: meta, options: [.sortedKeys])
        file.metadata[Self.metadataKey] = String(decoding: json, as: UTF8.self)
        return file
    }

    /// Restores an average saved by ``stateFile()``, checked against `model`'s state names and sizes.
    ///
    /// - Throws: ``NeuralCoreError/invalidData(source:reason:)`` when the metadata is missing or
    ///   the decay differs, ``NeuralCoreError/missingKeys(source:keys:)`` /
    ///   ``NeuralCoreError/unexpectedKeys(source:keys:)`` / ``NeuralCoreError/shapeMismatch(source:key:expected:found:)``
    ///   when it does not fit the model. Nothing changes when it throws.
    public func load(stateFile file: SafeTensors, source: String, model: Module) throws {
        guard let json = file.metadata[Self.metadataKey],
              let meta = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let savedDecay = meta["decay"] as? Double, let savedUpdates = meta["updates"] as? Int, savedUpdates >= 0 else {
            throw NeuralCoreError.invalidData(source: source, reason: "no \(Self.metadataKey) metadata: not a weight average")
        }
        guard Float(savedDecay) == decay else {
            throw NeuralCoreError.invalidData(source: source, reason: "weight average has decay \(savedDecay), not \(decay)")
        }
        var restored: [String: [Float]] = [:]
        if savedUpdates > 0 {
            try model.checkStateNames(Set(file.tensors.keys), source: source)
            for (key, tensor) in model.orderedStateDict() {
                let stored = file.tensors[key]!
                guard stored.count == tensor.count else {
                    throw NeuralCoreError.shapeMismatch(source: source, key: key, expected: [tensor.count], found: [stored.count])
                }
                restored[key] = stored.floats
            }
        }
        values = restored
        updates = savedUpdates
    }
}
