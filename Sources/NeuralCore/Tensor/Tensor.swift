import Foundation

/// A contiguous, row-major Float32 tensor (NCHW for images) that records the operations
/// applied to it for reverse-mode automatic differentiation.
///
/// `Tensor` is a reference type so that the graph can hold it: every operation whose inputs
/// require gradients returns a tensor with a ``GradientNode`` (its parents and one backward
/// closure for the whole operation). ``backward(_:retainGraph:)`` on a scalar accumulates
/// d(self)/d(leaf) into each leaf's ``grad``; ``gradients(of:withRespectTo:seed:retainGraph:)``
/// returns gradients with respect to any tensors, intermediate ones included (Grad-CAM).
///
/// ```swift
/// let w = Tensor(shape: [3], data: [1, 2, 3], requiresGrad: true)
/// let loss = (w * w).sum()      // 14
/// loss.backward()
/// w.grad!.data                  // [2, 4, 6]
/// ```
public final class Tensor: CustomStringConvertible {
    /// The extent of each dimension, outermost first (`[]` for a scalar).
    public let shape: [Int]
    /// The elements in row-major order; `data.count == shape.reduce(1, *)`.
    ///
    /// Optimizers and loaders may replace or mutate it in place (keeping the count); doing so on
    /// a tensor a recorded graph still uses makes that graph's gradients stale.
    ///
    /// Element writes (`t.data[i] = v`, `t.withUnsafeMutableBufferPointer`) happen in place: the
    /// `_modify` accessor yields the storage itself (a `didSet` observer would copy the whole
    /// array on every write).
    public var data: [Float] {
        get { storage }
        set {
            precondition(newValue.count == count, "Tensor.data must keep \(count) elements, got \(newValue.count)")
            storage = newValue
        }
        _modify {
            yield &storage
            precondition(storage.count == count, "Tensor.data must keep \(count) elements, got \(storage.count)")
        }
    }

    @usableFromInline
    var storage: [Float]
    /// Whether gradients flow to this tensor. Leaves set it; results inherit it from their inputs.
    public var requiresGrad: Bool
    /// The accumulated gradient d(root)/d(self) after ``backward(_:retainGraph:)``, for leaves and
    /// for tensors marked with ``retainGrad()``.
    public var grad: Tensor?
    /// Marks a non-leaf tensor whose gradient ``backward(_:retainGraph:)`` should keep in ``grad``.
    public private(set) var retainsGrad = false
    /// Values are integers (e.g. BatchNorm's `num_batches_tracked`): checkpoints store them as int64.
    public var isIntegral = false
    /// The operation that produced this tensor, or `nil` for a leaf (or under ``withoutGradients(_:)``).
    public internal(set) var node: GradientNode?

    /// Number of elements, the product of ``shape``.
    public let count: Int

    /// A tensor of the given shape and elements.
    ///
    /// - Parameters:
    ///   - shape: dimensions; every extent ≥ 0.
    ///   - data: `shape.reduce(1, *)` elements in row-major order.
    ///   - requiresGrad: whether this leaf receives gradients (default `false`).
    public init(shape: [Int], data: [Float], requiresGrad: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
        let n = shape.reduce(1, *)
        precondition(data.count == n, "shape \(shape) needs \(n) elements, got \(data.count)")
        _ = AllocatorTuning.applied
        self.shape = shape
        self.count = n
        self.storage = data
        self.requiresGrad = requiresGrad
    }

    /// A tensor of the given shape filled with `value` (default 0).
    public convenience init(zeros shape: [Int], value: Float = 0, requiresGrad: Bool = false) {
        self.init(shape: shape, data: [Float](repeating: value, count: shape.reduce(1, *)), requiresGrad: requiresGrad)
    }

    /// A scalar (shape `[]`).
    public convenience init(scalar: Float, requiresGrad: Bool = false) {
        self.init(shape: [], data: [scalar], requiresGrad: requiresGrad)
    }

    /// A tensor whose elements are written by `initializer` into uninitialised storage of `count` floats.
    @inlinable
    public convenience init(shape: [Int], unsafeUninitialized initializer: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let n = shape.reduce(1, *)
        let storage = [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
            initializer(buffer)
            initialized = n
        }
        self.init(shape: shape, data: storage)
    }

    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// The single element of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item needs a one-element tensor, shape is \(shape)")
        return data[0]
    }

    /// Whether the tensor was created by the user rather than by a recorded operation.
    public var isLeaf: Bool { node == nil }

    /// Asks ``backward(_:retainGraph:)`` to store this (non-leaf) tensor's gradient in ``grad``.
    public func retainGrad() { retainsGrad = true }

    /// A new leaf with the same values and no graph (`requiresGrad` false).
    public func detached() -> Tensor { Tensor(shape: shape, data: data) }

    /// Calls `body` with the elements (read-only).
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try data.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with the elements (mutable, in place).
    @inlinable
    public func withUnsafeMutableBufferPointer<R>(_ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try data.withUnsafeMutableBufferPointer(body)
    }

    /// Shape and the first few elements.
    public var description: String {
        let head = data.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), data: [\(head)\(count > 8 ? ", ..." : "")]\(requiresGrad ? ", requiresGrad" : ""))"
    }
}

extension Tensor {
    /// Row-major strides of `shape`.
    @usableFromInline
    static func strides(of shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[d] = s
            s *= shape[d]
        }
        return strides
    }
}
