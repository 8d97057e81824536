import Foundation

/// One recorded operation: where its inputs sit in the graph and how to turn the gradient of
/// its output into gradients of those inputs.
///
/// A node does **not** keep its inputs' values: an input that is itself a result is reached
/// through that result's node, a leaf (a parameter, or an input marked `requiresGrad`) through
/// the leaf, and an input that needs no gradient not at all. What the backward pass needs, its
/// closure captures (as PyTorch's saved tensors), so an intermediate that no backward closure
/// reads (the input of a ReLU, a tensor only concatenated) is freed as soon as the forward
/// pass has used it.
public final class GradientNode {
    /// Where one input sits in the graph.
    struct Input {
        /// The input's node, if it is the result of a recorded operation.
        let node: GradientNode?
        /// The input itself, if it is a leaf that requires gradients.
        let leaf: Tensor?
        /// The input's shape (its gradient has this shape).
        let shape: [Int]
        /// Whether gradients flow to the input (a leaf's flag is read when the pass runs).
        var requiresGrad: Bool { node != nil || leaf?.requiresGrad == true }
        /// The graph vertex: the node, or the leaf.
        var vertex: ObjectIdentifier? { node.map(ObjectIdentifier.init) ?? leaf.map(ObjectIdentifier.init) }
    }

    /// The inputs, in the order ``backward`` returns their gradients; emptied when the graph
    /// is released.
    private(set) var inputs: [Input]
    /// Maps d(root)/d(output) to d(root)/d(parent) for each parent; `needs[i]` says whether
    /// parent `i`'s gradient is wanted (a `nil` entry means "none", i.e. zero). Released (with
    /// everything it captured) by a backward pass without `retainGraph`.
    public private(set) var backward: (_ gradOutput: Tensor, _ needs: [Bool]) -> [Tensor?]
    /// Operation name, for diagnostics.
    public let name: String
    /// The tensor this node produced, while anything else keeps it (for ``Tensor/retainGrad()``).
    weak var output: Tensor?

    /// The shapes of the operation's inputs, in order.
    public var inputShapes: [[Int]] { inputs.map(\.shape) }

    /// A node; see ``Tensor/record(_:parents:name:backward:)``. Only the places of `parents`
    /// in the graph are kept, not their values.
    public init(name: String, parents: [Tensor], backward: @escaping (Tensor, [Bool]) -> [Tensor?]) {
        self.name = name
        self.inputs = parents.map { p in
            guard p.requiresGrad else { return Input(node: nil, leaf: nil, shape: p.shape) }
            return Input(node: p.node, leaf: p.node == nil ? p : nil, shape: p.shape)
        }
        self.backward = backward
    }

    /// Drops the closure (and what it captured) and the inputs; the output becomes a leaf.
    func release() {
        backward = { _, needs in needs.map { _ in nil } }
        inputs = []
        if let output, output.node === self { output.node = nil }
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
    ///   - parents: the inputs the backward closure returns gradients for, in order. The graph
    ///     keeps where they sit, not their values: `backward` captures whatever it reads.
    ///   - name: the operation's name (diagnostics).
    ///   - backward: d(root)/d(output) → one optional gradient per parent, shaped like it.
    /// - Returns: `output`, now a graph node when recording.
    @discardableResult
    public static func record(_ output: Tensor, parents: [Tensor], name: String,
                              backward: @escaping (Tensor, [Bool]) -> [Tensor?]) -> Tensor {
        guard GradientMode.enabled, parents.contains(where: { $0.requiresGrad }) else { return output }
        output.requiresGrad = true
        let node = GradientNode(name: name, parents: parents, backward: backward)
        node.output = output
        output.node = node
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
        for case let (tensor?, g) in result.values {
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
    // The vertices now: releasing the graph turns intermediate inputs into leaves.
    let vertices = inputs.map(Autograd.vertex(of:))
    let result = Autograd.run(root: output, seed: start, targets: Set(vertices), retainGraph: retainGraph)
    return zip(inputs, vertices).map { input, v in result[v]?.1 ?? Tensor(zeros: input.shape) }
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

    /// A tensor's vertex in the graph: its node, or the tensor itself for a leaf.
    static func vertex(of t: Tensor) -> ObjectIdentifier {
        t.node.map(ObjectIdentifier.init) ?? ObjectIdentifier(t)
    }

    /// Reverse topological sweep from `root` over the nodes. With `targets` (vertices, see
    /// ``vertex(of:)``), only nodes from which a target is reachable are evaluated. Returns the
    /// gradient of every vertex kept: leaves, and with `targets` every visited vertex (without
    /// them, intermediate gradients are dropped once passed on, unless the tensor is marked with
    /// ``Tensor/retainGrad()``), each with its tensor while that lives.
    static func run(root: Tensor, seed: Tensor, targets: Set<ObjectIdentifier>?,
                    retainGraph: Bool) -> [ObjectIdentifier: (Tensor?, Tensor)] {
        precondition(seed.shape == root.shape, "seed shape \(seed.shape) differs from \(root.shape)")
        let rootID = vertex(of: root)
        guard let rootNode = root.node else { return [rootID: (root, seed)] }
        // Post-order DFS (iterative: deep graphs such as LSTMs must not overflow the stack).
        var order: [GradientNode] = []
        var visited: Set<ObjectIdentifier> = [rootID]
        var relevant = [ObjectIdentifier: Bool]()
        var stack: [(GradientNode, Int)] = [(rootNode, 0)]
        while let (node, i) = stack.popLast() {
            let inputs = node.inputs
            if i < inputs.count {
                stack.append((node, i + 1))
                let p = inputs[i]
                guard p.requiresGrad, let v = p.vertex, !visited.contains(v) else { continue }
                visited.insert(v)
                if let child = p.node {
                    stack.append((child, 0))
                } else {
                    relevant[v] = targets?.contains(v) ?? true
                }
            } else {
                order.append(node)
                let id = ObjectIdentifier(node)
                if let targets {
                    var r = targets.contains(id)
                    for p in inputs where p.vertex.flatMap({ relevant[$0] }) == true { r = true }
                    relevant[id] = r
                } else {
                    relevant[id] = true
                }
            }
        }
        var grads = [ObjectIdentifier: (Tensor?, Tensor)]()
        grads[rootID] = (root, seed)
        withoutGradients {
            for node in order.reversed() {
                let id = ObjectIdentifier(node)
                guard relevant[id] == true, let (_, g) = grads[id] else { continue }
                let inputs = node.inputs
                let needs = inputs.map { $0.requiresGrad && $0.vertex.flatMap({ relevant[$0] }) == true }
                // A node released by an earlier pass has no inputs left: its output is a leaf now,
                // its gradient stays in the result (for `.grad`) and the pass ends there.
                guard needs.contains(true) else { continue }
                let parentGrads = node.backward(g, needs)
                precondition(parentGrads.count == inputs.count, "\(node.name): backward returned \(parentGrads.count) gradients for \(inputs.count) inputs")
                for (k, p) in inputs.enumerated() where needs[k] {
                    guard let pg = parentGrads[k], let pid = p.vertex else { continue }
                    precondition(pg.shape == p.shape, "\(node.name): gradient shape \(pg.shape) for input of shape \(p.shape)")
                    let tensor = p.leaf ?? p.node?.output
                    if let (_, old) = grads[pid] {
                        grads[pid] = (tensor, Tensor(shape: p.shape, data: sum(old.data, pg.data)))
                    } else {
                        grads[pid] = (tensor, pg)
                    }
                }
                // In backward(), intermediate gradients are dropped once passed on.
                if targets == nil, node.output?.retainsGrad != true { grads[id] = nil }
            }
            if !retainGraph {
                for node in order { node.release() }
            }
        }
        return grads
    }
}
