import Foundation

/// One recorded operation: the tensors it read and how to turn the gradient of its output
/// into gradients of those inputs.
public final class GradientNode {
    /// The inputs of the operation, in the order ``backward`` returns their gradients.
    public let parents: [Tensor]
    /// Maps d(root)/d(output) to d(root)/d(parent) for each parent; `needs[i]` says whether
    /// parent `i`'s gradient is wanted (a `nil` entry means "none", i.e. zero).
    public let backward: (_ gradOutput: Tensor, _ needs: [Bool]) -> [Tensor?]
    /// Operation name, for diagnostics.
    public let name: String

    /// A node; see ``Tensor/record(_:parents:name:backward:)``.
    public init(name: String, parents: [Tensor], backward: @escaping (Tensor, [Bool]) -> [Tensor?]) {
        self.name = name
        self.parents = parents
        self.backward = backward
    }
}

/// Whether operations record a graph on the current task (see ``withoutGradients(_:)``).
public enum GradientMode {
    @TaskLocal static var enabled = true

    /// `true` unless inside ``withoutGradients(_:)``.
    public static var isEnabled: Bool { enabled }
}

/// Runs `body` without recording any graph: inference builds no nodes and keeps no saved inputs.
///
/// - Parameter body: the computation.
/// - Returns: what `body` returns.
@discardableResult
public func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
    try GradientMode.$enabled.withValue(false) { try body() }
}

extension Tensor {
    /// Runs `body` without recording a graph (the same as ``withoutGradients(_:)``).
    @discardableResult
    public static func noGrad<R>(_ body: () throws -> R) rethrows -> R {
        try GradientMode.$enabled.withValue(false) { try body() }
    }

    /// Attaches an operation to `output` when gradients are being recorded and some parent
    /// requires them. Custom operations (in other modules too) use this to join the graph.
    ///
    /// - Parameters:
    ///   - output: the freshly computed result.
    ///   - parents: the inputs the backward closure returns gradients for, in order.
    ///   - name: the operation's name (diagnostics).
    ///   - backward: d(root)/d(output) → one optional gradient per parent, shaped like it.
    /// - Returns: `output`, now a graph node when recording.
    @discardableResult
    public static func record(_ output: Tensor, parents: [Tensor], name: String,
                              backward: @escaping (Tensor, [Bool]) -> [Tensor?]) -> Tensor {
        guard GradientMode.enabled, parents.contains(where: { $0.requiresGrad }) else { return output }
        output.requiresGrad = true
        output.node = GradientNode(name: name, parents: parents, backward: backward)
        return output
    }

    /// Back-propagates from this tensor, accumulating into ``grad`` of every leaf that
    /// requires gradients (and of tensors marked with ``retainGrad()``).
    ///
    /// - Parameters:
    ///   - seed: d(root)/d(self); default ones, which needs a one-element tensor (a loss).
    ///   - retainGraph: keep the nodes so that another backward pass can run (default `false`:
    ///     the graph's saved tensors are released).
    public func backward(_ seed: Tensor? = nil, retainGraph: Bool = false) {
        let start = seed ?? Tensor(zeros: shape, value: 1)
        if seed == nil { precondition(count == 1, "backward() without a seed needs a scalar, shape is \(shape)") }
        let result = Autograd.run(root: self, seed: start, targets: nil, retainGraph: retainGraph)
        // `run` returns only leaves and tensors marked with retainGrad().
        for (tensor, g) in result.values {
            if let old = tensor.grad {
                tensor.grad = Tensor(shape: old.shape, data: Autograd.sum(old.data, g.data))
            } else {
                tensor.grad = g
            }
        }
    }

    /// Sets ``grad`` to `nil`.
    public func zeroGrad() { grad = nil }
}

/// Gradients of `output` with respect to `inputs`, without touching any ``Tensor/grad``.
///
/// `inputs` may be leaves or intermediate tensors of the graph (d logit_t / d feature maps
/// for Grad-CAM); only nodes on a path from `output` to an input are evaluated.
///
/// - Parameters:
///   - output: the tensor to differentiate (one element unless `seed` is given).
///   - inputs: the tensors to differentiate with respect to.
///   - seed: d(root)/d(output), default ones.
///   - retainGraph: keep the graph for further calls (default `true`, as Grad-CAM runs one
///     call per slice over the same forward graph).
/// - Returns: one gradient per input, shaped like it (zeros where `output` does not depend on it).
/// - Precondition: every input requires gradients (a leaf with `requiresGrad`, or a result of
///   operations on one); otherwise no path could be recorded to it.
public func gradients(of output: Tensor, withRespectTo inputs: [Tensor], seed: Tensor? = nil,
                      retainGraph: Bool = true) -> [Tensor] {
    if seed == nil { precondition(output.count == 1, "gradients(of:) without a seed needs a scalar, shape is \(output.shape)") }
    for input in inputs {
        precondition(input.requiresGrad, "gradients(of:withRespectTo:): an input of shape \(input.shape) does not require gradients; detach it and set requiresGrad = true before the forward pass")
    }
    let start = seed ?? Tensor(zeros: output.shape, value: 1)
    let targets = Set(inputs.map { ObjectIdentifier($0) })
    let result = Autograd.run(root: output, seed: start, targets: targets, retainGraph: retainGraph)
    return inputs.map { result[ObjectIdentifier($0)]?.1 ?? Tensor(zeros: $0.shape) }
}

enum Autograd {
    static func sum(_ a: [Float], _ b: [Float]) -> [Float] {
        precondition(a.count == b.count)
        return [Float](unsafeUninitializedCapacity: a.count) { out, n in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    for i in 0 ..< a.count { out[i] = pa[i] + pb[i] }
                }
            }
            n = a.count
        }
    }

    /// Reverse topological sweep from `root`. With `targets`, only nodes from which a target
    /// is reachable are evaluated. Returns the gradient of every visited tensor.
    static func run(root: Tensor, seed: Tensor, targets: Set<ObjectIdentifier>?,
                    retainGraph: Bool) -> [ObjectIdentifier: (Tensor, Tensor)] {
        precondition(seed.shape == root.shape, "seed shape \(seed.shape) differs from \(root.shape)")
        // Post-order DFS (iterative: deep graphs such as LSTMs must not overflow the stack).
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var relevant = [ObjectIdentifier: Bool]()
        var stack: [(Tensor, Int)] = [(root, 0)]
        visited.insert(ObjectIdentifier(root))
        while let (t, i) = stack.popLast() {
            let parents = t.node?.parents ?? []
            if i < parents.count {
                stack.append((t, i + 1))
                let p = parents[i]
                if p.requiresGrad, !visited.contains(ObjectIdentifier(p)) {
                    visited.insert(ObjectIdentifier(p))
                    stack.append((p, 0))
                }
            } else {
                order.append(t)
                let id = ObjectIdentifier(t)
                if let targets {
                    var r = targets.contains(id)
                    for p in parents where relevant[ObjectIdentifier(p)] == true { r = true }
                    relevant[id] = r
                } else {
                    relevant[id] = true
                }
            }
        }
        var grads = [ObjectIdentifier: (Tensor, Tensor)]()
        grads[ObjectIdentifier(root)] = (root, seed)
        withoutGradients {
            for t in order.reversed() {
                let id = ObjectIdentifier(t)
                guard let node = t.node, relevant[id] == true, let (_, g) = grads[id] else { continue }
                let needs = node.parents.map { $0.requiresGrad && relevant[ObjectIdentifier($0)] == true }
                guard needs.contains(true) else { continue }
                let parentGrads = node.backward(g, needs)
                precondition(parentGrads.count == node.parents.count, "\(node.name): backward returned \(parentGrads.count) gradients for \(node.parents.count) inputs")
                for (k, p) in node.parents.enumerated() where needs[k] {
                    guard let pg = parentGrads[k] else { continue }
                    precondition(pg.shape == p.shape, "\(node.name): gradient shape \(pg.shape) for input of shape \(p.shape)")
                    let pid = ObjectIdentifier(p)
                    if let (_, old) = grads[pid] {
                        grads[pid] = (p, Tensor(shape: p.shape, data: sum(old.data, pg.data)))
                    } else {
                        grads[pid] = (p, pg)
                    }
                }
                // In backward(), intermediate gradients are dropped once passed on.
                if targets == nil, !t.retainsGrad { grads[id] = nil }
            }
            if !retainGraph {
                for t in order where t.node != nil { t.node = nil }
            }
        }
        return grads
    }
}
