import Foundation

/// The base class of NeuralCore's optimizers: per-parameter state under the parameters'
/// dotted names, a step count, and a state that can be saved and restored for exact resume.
///
/// Follows MLXOptimizers: compute gradients shaped like the parameters, then
/// ``update(model:gradients:)`` applies one step to the model's parameters in place.
///
/// ```swift
/// let optimizer = Adam(learningRate: 1e-3)
/// model.zeroGrad()
/// let loss = binaryCrossEntropyWithLogits(model(x), y)
/// loss.backward()
/// optimizer.update(model: model, gradients: model.parameterGradients())
/// try optimizer.save(to: url, overwrite: true)       // moment buffers + step count
/// ```
///
/// Parameters absent from `gradients` are left untouched and keep their state (PyTorch skips
/// parameters whose `.grad` is `None`). Subclasses implement ``apply(name:parameter:gradient:)``.
open class Optimizer {
    /// Step size; change it between steps to follow a ``LearningRateSchedule``.
    public var learningRate: Float
    /// Number of completed ``update(parameters:gradients:)`` calls (PyTorch's `step`).
    public internal(set) var stepCount: Int = 0
    /// Per-parameter buffers: parameter name → buffer name (`momentum_buffer`, `exp_avg`, ...) → values.
    public internal(set) var state: [String: [String: [Float]]] = [:]

    /// The metadata key under which a saved state records the optimizer kind and hyper-parameters.
    public static let metadataKey = "ichct.optimizer"

    /// An optimizer with the given step size.
    public init(learningRate: Float) {
        precondition(learningRate >= 0 && learningRate.isFinite, "learning rate \(learningRate) must be finite and ≥ 0")
        self.learningRate = learningRate
    }

    /// `sgd`, `adam` or `adamw`: what a saved state must match.
    open var kind: String { fatalError("\(type(of: self)) does not define kind") }

    /// Hyper-parameters recorded with a saved state (informative; the learning rate is restored).
    open var hyperparameters: [String: Double] { ["lr": Double(learningRate)] }

    /// Applies one step to one parameter, in place, using and updating `state[name]`.
    ///
    /// Called by ``update(parameters:gradients:)`` after ``stepCount`` has been incremented.
    open func apply(name: String, parameter: UnsafeMutableBufferPointer<Float>, gradient: UnsafeBufferPointer<Float>) {
        fatalError("\(type(of: self)) does not implement apply(name:parameter:gradient:)")
    }

    /// One optimization step on tensors held by the caller, in place.
    ///
    /// - Parameters:
    ///   - parameters: the live parameter tensors by name (their `data` is replaced).
    ///   - gradients: d loss / d parameter by the same names; names not in `parameters` are a
    ///     precondition failure, parameters without a gradient are skipped.
    public func update(parameters: [String: Tensor], gradients: [String: Tensor]) {
        stepCount += 1
        for name in gradients.keys.sorted() {
            let g = gradients[name]!
            guard let p = parameters[name] else { preconditionFailure("optimizer: no parameter named \(name)") }
            precondition(p.shape == g.shape, "optimizer: \(name) has shape \(p.shape) but its gradient \(g.shape)")
            g.withUnsafeBufferPointer { gb in
                p.withUnsafeMutableBufferPointer { pb in
                    apply(name: name, parameter: pb, gradient: gb)
                }
            }
        }
    }

    /// One optimization step of `model`'s parameters, in place.
    ///
    /// - Parameters:
    ///   - model: the module whose parameters are updated.
    ///   - gradients: by dotted parameter name, e.g. `model.parameterGradients()`.
    public func update(model: Module, gradients: [String: Tensor]) {
        let parameters = Dictionary(model.namedParameters().map { ($0.key, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        update(parameters: parameters, gradients: gradients)
    }

    // MARK: - Saving and restoring

    /// The state as a safetensors file: `<parameter>.<buffer>` (F32, flat), `step` (I64 scalar),
    /// and the kind and hyper-parameters as JSON under ``metadataKey``.
    public func stateFile() -> SafeTensors {
        var file = SafeTensors()
        for (name, buffers) in state {
            for (buffer, values) in buffers {
                file.tensors["\(name).\(buffer)"] = StoredTensor(shape: [values.count], floats: values)
            }
        }
        file.tensors["step"] = StoredTensor(shape: [], int64s: [Int64(stepCount)])
        var meta: [String: Any] = hyperparameters
        meta["kind"] = kind
        let json = try! JSONSerialization.data(withJSONObject: meta, options: [.sortedKeys])
        file.metadata[Self.metadataKey] = String(decoding: json, as: UTF8.self)
        return file
    }

    /// Restores a state made by ``stateFile()`` (buffers, step count and learning rate).
    ///
    /// - Parameters:
    ///   - file: the saved state.
    ///   - source: how errors name it (a path).
    ///   - model: when given (recommended), every buffer must belong to one of its parameters
    ///     and hold as many values (default `nil`: not checked here; a mismatch then stops the
    ///     next update with a precondition failure).
    /// - Throws: ``NeuralCoreError/invalidData(source:reason:)`` when the kind differs or the
    ///   file lacks `step`, ``NeuralCoreError/unexpectedKeys(source:keys:)`` for buffers of
    ///   parameters the model does not have, ``NeuralCoreError/shapeMismatch(source:key:expected:found:)``
    ///   for a buffer of the wrong size. Nothing changes when it throws.
    public func load(stateFile file: SafeTensors, source: String, model: Module? = nil) throws {
        guard let json = file.metadata[Self.metadataKey],
              let meta = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let savedKind = meta["kind"] as? String else {
            throw NeuralCoreError.invalidData(source: source, reason: "no \(Self.metadataKey) metadata: not an optimizer state")
        }
        guard savedKind == kind else {
            throw NeuralCoreError.invalidData(source: source, reason: "optimizer state is for \(savedKind), not \(kind)")
        }
        guard let step = file.tensors["step"], step.count == 1, case .int64(let s) = step.values, s[0] >= 0 else {
            throw NeuralCoreError.invalidData(source: source, reason: "optimizer state lacks an int64 scalar `step`")
        }
        var restored: [String: [String: [Float]]] = [:]
        let buffers = Set(bufferNames)
        for (key, tensor) in file.tensors where key != "step" {
            guard let dot = key.lastIndex(of: "."), buffers.contains(String(key[key.index(after: dot)...])) else {
                throw NeuralCoreError.invalidData(source: source, reason: "unexpected tensor \(key) in a \(kind) state")
            }
            restored[String(key[..<dot]), default: [:]][String(key[key.index(after: dot)...])] = tensor.floats
        }
        if let model {
            let parameters = Dictionary(model.namedParameters().map { ($0.key, $0.tensor) }, uniquingKeysWith: { a, _ in a })
            let unknown = restored.keys.filter { parameters[$0] == nil }.sorted()
            if !unknown.isEmpty { throw NeuralCoreError.unexpectedKeys(source: source, keys: unknown) }
            for (name, buffers) in restored.sorted(by: { $0.key < $1.key }) {
                for (buffer, values) in buffers where values.count != parameters[name]!.count {
                    throw NeuralCoreError.shapeMismatch(source: source, key: "\(name).\(buffer)",
                                                        expected: [parameters[name]!.count], found: [values.count])
                }
            }
        }
        if let lr = meta["lr"] as? Double { learningRate = Float(lr) }
        stepCount = Int(s[0])
        state = restored
    }

    /// Buffer names this optimizer keeps per parameter.
    open var bufferNames: [String] { [] }

    /// Writes ``stateFile()`` atomically.
    ///
    /// - Parameters:
    ///   - url: destination (`.safetensors`).
    ///   - overwrite: replace an existing file (default `false`).
    public func save(to url: URL, overwrite: Bool = false) throws {
        try stateFile().write(to: url, overwrite: overwrite)
    }

    /// Restores the state saved at `url` (see ``load(stateFile:source:model:)``), checked
    /// against `model`'s parameters when given.
    public func load(from url: URL, model: Module? = nil) throws {
        try load(stateFile: try SafeTensors(contentsOf: url), source: url.path, model: model)
    }
}
