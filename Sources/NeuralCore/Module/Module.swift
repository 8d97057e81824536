/// The base class of layers and networks: parameters, buffers and sub-modules are found by
/// reflection over stored properties and named with dotted keys exactly as PyTorch's
/// `state_dict` names them.
///
/// Discovery rules (in declaration order, superclass properties first):
/// - a stored `Tensor` (or `Tensor?` that is non-nil) is a **parameter**, unless its property
///   name is in ``bufferNames`` (then a **buffer**) or in ``ignoredNames`` (then neither);
/// - a stored `Module` (or non-nil `Module?`) is a child named after the property;
/// - a stored `[Module]` is a list whose elements are named `name.0`, `name.1`, ...
///   (``Sequential`` itself names its layers `0`, `1`, ... as `nn.Sequential`).
/// Property names are converted from camelCase to PyTorch's snake_case:
/// `runningMean` → `running_mean`, `weightIhL0Reverse` → `weight_ih_l0_reverse`;
/// `layer1`, `conv1`, `bn1` stay as they are. Subclasses with computed names (LSTM) override
/// ``ownParameters()`` / ``ownBuffers()`` / ``children()``.
///
/// The state dictionary order is PyTorch's: a module's own parameters, then its own buffers,
/// then each child's entries in turn.
open class Module {
    /// Whether this module behaves as in training (BatchNorm batch statistics, dropout).
    /// Set per module by ``train(_:)`` / ``eval()``, recursively; default `true` as in PyTorch.
    public private(set) var isTraining = true

    /// Called by ``callAsFunction(_:)`` with this module and its output; the place to capture
    /// intermediate outputs (Grad-CAM's feature maps). Default `nil`.
    public var forwardHook: ((Module, Tensor) -> Void)?

    /// Creates a module in training mode.
    public init() {}

    /// The computation; subclasses override it. Call modules through ``callAsFunction(_:)``.
    open func forward(_ x: Tensor) -> Tensor {
        fatalError("\(type(of: self)) does not implement forward(_:)")
    }

    /// Runs ``forward(_:)`` and then ``forwardHook``.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = forward(x)
        forwardHook?(self, y)
        return y
    }

    /// Swift property names (camelCase) of stored tensors that are buffers, not parameters.
    open var bufferNames: Set<String> { [] }

    /// Swift property names of stored tensors or modules that are not state (caches, scratch).
    open var ignoredNames: Set<String> { [] }

    /// This module's own parameters (not its children's), as (key, tensor) in registration order.
    open func ownParameters() -> [(key: String, tensor: Tensor)] {
        reflectedTensors().filter { !$0.isBuffer }.map { ($0.key, $0.tensor) }
    }

    /// This module's own buffers, as (key, tensor) in registration order.
    open func ownBuffers() -> [(key: String, tensor: Tensor)] {
        reflectedTensors().filter(\.isBuffer).map { ($0.key, $0.tensor) }
    }

    /// Direct sub-modules as (key, module) in registration order.
    open func children() -> [(key: String, module: Module)] {
        var result: [(key: String, module: Module)] = []
        forEachStoredProperty { label, value in
            if let m = value as? Module {
                result.append((Module.stateKey(label), m))
            } else if let list = value as? [Module] {
                let key = Module.stateKey(label)
                for (i, m) in list.enumerated() { result.append(("\(key).\(i)", m)) }
            }
        }
        return result
    }

    private func reflectedTensors() -> [(key: String, tensor: Tensor, isBuffer: Bool)] {
        var result: [(key: String, tensor: Tensor, isBuffer: Bool)] = []
        let buffers = bufferNames
        forEachStoredProperty { label, value in
            if let t = value as? Tensor {
                result.append((Module.stateKey(label), t, buffers.contains(label)))
            }
        }
        return result
    }

    private func forEachStoredProperty(_ body: (String, Any) -> Void) {
        let ignored = ignoredNames
        var mirrors: [Mirror] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        while let m = mirror {
            mirrors.append(m)
            mirror = m.superclassMirror
        }
        for m in mirrors.reversed() {
            for child in m.children {
                guard var label = child.label else { continue }
                if label.hasPrefix("$__lazy_storage_$_") { continue }
                if label.hasPrefix("_") { label.removeFirst() }
                if label == "isTraining" || label == "forwardHook" || ignored.contains(label) { continue }
                body(label, child.value)
            }
        }
    }

    /// PyTorch's key for a Swift property name: camelCase → snake_case, a lower-case letter or
    /// digit followed by an upper-case letter gets an underscore (`weightIhL0` → `weight_ih_l0`).
    public static func stateKey(_ propertyName: String) -> String {
        var out = ""
        var previous: Character? = nil
        for ch in propertyName {
            if ch.isUppercase {
                if let p = previous, p.isLowercase || p.isNumber { out.append("_") }
                out.append(contentsOf: ch.lowercased())
            } else {
                out.append(ch)
            }
            previous = ch
        }
        return out
    }
}

// MARK: - Traversal and state

extension Module {
    /// Every module in the tree with its dotted prefix (`""` for self), depth first, parents first.
    public func namedModules() -> [(key: String, module: Module)] {
        var result: [(key: String, module: Module)] = [("", self)]
        for (k, child) in children() {
            for (sub, m) in child.namedModules() {
                result.append((sub.isEmpty ? k : "\(k).\(sub)", m))
            }
        }
        return result
    }

    /// All parameters under dotted names (`layer1.0.conv1.weight`), in PyTorch's order.
    public func namedParameters() -> [(key: String, tensor: Tensor)] {
        namedModules().flatMap { prefix, m in
            m.ownParameters().map { (prefix.isEmpty ? $0.key : "\(prefix).\($0.key)", $0.tensor) }
        }
    }

    /// All buffers under dotted names (`bn1.running_mean`, `bn1.num_batches_tracked`).
    public func namedBuffers() -> [(key: String, tensor: Tensor)] {
        namedModules().flatMap { prefix, m in
            m.ownBuffers().map { (prefix.isEmpty ? $0.key : "\(prefix).\($0.key)", $0.tensor) }
        }
    }

    /// Parameters then buffers of every module in PyTorch's `state_dict` order (per module: own
    /// parameters, own buffers; modules depth first). The tensors are the live ones, not copies.
    public func orderedStateDict() -> [(key: String, tensor: Tensor)] {
        namedModules().flatMap { prefix, m in
            (m.ownParameters() + m.ownBuffers()).map { (prefix.isEmpty ? $0.key : "\(prefix).\($0.key)", $0.tensor) }
        }
    }

    /// The state as a dictionary (the live tensors); ``orderedStateDict()`` gives the order.
    public func stateDict() -> [String: Tensor] {
        Dictionary(orderedStateDict().map { ($0.key, $0.tensor) }, uniquingKeysWith: { a, _ in a })
    }

    /// The parameters (no buffers) that currently require gradients.
    public func trainableParameters() -> [(key: String, tensor: Tensor)] {
        namedParameters().filter { $0.tensor.requiresGrad }
    }

    /// Copies values from `state` into this module's tensors, in place.
    ///
    /// - Parameters:
    ///   - state: tensors by dotted name. Values are copied; shapes must match exactly.
    ///   - strict: when `true` (default), missing or unexpected names are errors; when `false`
    ///     they are skipped. A wrong shape is always an error.
    ///   - source: how errors name the origin (a file name), default `"state dict"`.
    /// - Throws: ``NeuralCoreError/missingKeys(source:keys:)``, ``NeuralCoreError/unexpectedKeys(source:keys:)``,
    ///   ``NeuralCoreError/shapeMismatch(source:key:expected:found:)``. Nothing is changed when it throws.
    public func load(stateDict state: [String: Tensor], strict: Bool = true, source: String = "state dict") throws {
        let own = orderedStateDict()
        if strict { try checkStateNames(Set(state.keys), source: source) }
        for (key, tensor) in own {
            if let value = state[key], value.shape != tensor.shape {
                throw NeuralCoreError.shapeMismatch(source: source, key: key, expected: tensor.shape, found: value.shape)
            }
        }
        for (key, tensor) in own {
            if let value = state[key] { tensor.data = value.data }
        }
    }

    /// Throws unless `names` are exactly this module's state names (parameters and buffers): the
    /// strict check of ``load(stateDict:strict:source:)``, for other stores of the whole state
    /// (e.g. ``ExponentialMovingAverage``).
    /// - Throws: ``NeuralCoreError/missingKeys(source:keys:)`` (in state order), then
    ///   ``NeuralCoreError/unexpectedKeys(source:keys:)`` (sorted).
    public func checkStateNames(_ names: Set<String>, source: String) throws {
        let own = orderedStateDict().map(\.key)
        let missing = own.filter { !names.contains($0) }
        if !missing.isEmpty { throw NeuralCoreError.missingKeys(source: source, keys: missing) }
        let ownKeys = Set(own)
        let unexpected = names.filter { !ownKeys.contains($0) }.sorted()
        if !unexpected.isEmpty { throw NeuralCoreError.unexpectedKeys(source: source, keys: unexpected) }
    }

    /// Replaces parameter (or buffer) values by name, in place; names not in the module are a
    /// precondition failure. The one way optimizers change a model.
    ///
    /// - Parameter parameters: new values by dotted name, shaped like the current ones.
    public func update(parameters: [String: Tensor]) {
        let own = stateDict()
        for (key, value) in parameters {
            guard let t = own[key] else { preconditionFailure("update(parameters:): the module has no tensor \(key)") }
            precondition(t.shape == value.shape, "update(parameters:): \(key) has shape \(t.shape), new value \(value.shape)")
            t.data = value.data
        }
    }

    /// Sets training mode (`true`) or evaluation mode (`false`) on this module and all below it.
    public func train(_ mode: Bool = true) {
        for (_, m) in namedModules() { m.isTraining = mode }
    }

    /// Evaluation mode for this module and all below it (BatchNorm uses running statistics).
    public func eval() { train(false) }

    /// Stops gradients for every parameter below this module (`requiresGrad = false`).
    public func freeze() {
        for (_, p) in namedParameters() { p.requiresGrad = false }
    }

    /// Lets gradients flow to every parameter below this module again.
    public func unfreeze() {
        for (_, p) in namedParameters() { p.requiresGrad = true }
    }

    /// Clears ``Tensor/grad`` of every parameter.
    public func zeroGrad() {
        for (_, p) in namedParameters() { p.grad = nil }
    }

    /// The gradients of the trainable parameters by dotted name (after `backward()`); missing
    /// gradients (parameters the loss does not reach) are zeros.
    public func parameterGradients() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: trainableParameters().map { ($0.key, $0.tensor.grad ?? Tensor(zeros: $0.tensor.shape)) })
    }
}

/// Layers applied in order, named `0`, `1`, ... as `nn.Sequential`.
public final class Sequential: Module {
    /// The layers, in application order.
    public let layers: [Module]

    /// A sequence of layers.
    public init(_ layers: [Module]) {
        self.layers = layers
        super.init()
    }

    /// A sequence of layers.
    public convenience init(_ layers: Module...) { self.init(layers) }

    /// Direct children named `0`, `1`, ...
    override public func children() -> [(key: String, module: Module)] {
        layers.enumerated().map { ("\($0.offset)", $0.element) }
    }

    /// Applies every layer in turn.
    override public func forward(_ x: Tensor) -> Tensor {
        layers.reduce(x) { $1($0) }
    }
}
