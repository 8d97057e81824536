/// Shape operations: reshape, squeeze, concatenation, slicing, transposition.
extension Tensor {
    /// The same elements under a new shape; one extent may be `-1` (inferred).
    ///
    /// Storage is shared copy-on-write, so reshaping costs no copy.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let k = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != k }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            target[k] = count / known
        }
        precondition(target.reduce(1, *) == count, "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        let source = shape
        let out = Tensor(shape: target, data: data)
        return Tensor.record(out, parents: [self], name: "reshape") { g, _ in [Tensor(shape: source, data: g.data)] }
    }

    /// Merges dimensions `start...end` into one (as `torch.flatten(start_dim, end_dim)`).
    public func flattened(from start: Int = 0, to end: Int = -1) -> Tensor {
        let e = end < 0 ? rank + end : end
        precondition(start >= 0 && start <= e && e < rank, "bad flatten range \(start)...\(end) for shape \(shape)")
        let merged = shape[start ... e].reduce(1, *)
        return reshaped(Array(shape[..<start]) + [merged] + Array(shape[(e + 1)...]))
    }

    /// Removes dimension `axis`, which must have extent 1 (negative axes count from the end).
    public func squeezed(axis: Int) -> Tensor {
        let a = axis < 0 ? rank + axis : axis
        precondition(a >= 0 && a < rank && shape[a] == 1, "cannot squeeze axis \(axis) of \(shape)")
        var s = shape
        s.remove(at: a)
        return reshaped(s)
    }

    /// Inserts a dimension of extent 1 at `axis` (negative axes count from the end of the result).
    public func unsqueezed(axis: Int) -> Tensor {
        let a = axis < 0 ? rank + 1 + axis : axis
        precondition(a >= 0 && a <= rank, "cannot unsqueeze axis \(axis) of \(shape)")
        var s = shape
        s.insert(1, at: a)
        return reshaped(s)
    }

    /// Elements `range` along `axis` (as `x.narrow(axis, range.lowerBound, range.count)`).
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let a = axis < 0 ? rank + axis : axis
        precondition(a >= 0 && a < rank && range.lowerBound >= 0 && range.upperBound <= shape[a], "slice \(range) out of bounds on axis \(axis) of \(shape)")
        let outer = shape[..<a].reduce(1, *)
        let inner = shape[(a + 1)...].reduce(1, *)
        let n = shape[a], m = range.count
        var outShape = shape
        outShape[a] = m
        let out = Tensor(shape: outShape) { dst in
            data.withUnsafeBufferPointer { src in
                for o in 0 ..< outer {
                    let s = src.baseAddress! + (o * n + range.lowerBound) * inner
                    (dst.baseAddress! + o * m * inner).update(from: s, count: m * inner)
                }
            }
        }
        let source = shape
        return Tensor.record(out, parents: [self], name: "slice") { g, _ in
            var full = [Float](repeating: 0, count: source.reduce(1, *))
            full.withUnsafeMutableBufferPointer { dst in
                g.data.withUnsafeBufferPointer { src in
                    for o in 0 ..< outer {
                        (dst.baseAddress! + (o * n + range.lowerBound) * inner).update(from: src.baseAddress! + o * m * inner, count: m * inner)
                    }
                }
            }
            return [Tensor(shape: source, data: full)]
        }
    }

    /// The sub-tensor at `index` along `axis`, with that axis removed (as `x.select(axis, index)`).
    public func select(axis: Int, _ index: Int) -> Tensor {
        let a = axis < 0 ? rank + axis : axis
        return slice(axis: a, index ..< index + 1).squeezed(axis: a)
    }

    /// The sub-tensor at `index` along the first axis.
    public subscript(index: Int) -> Tensor { select(axis: 0, index) }

    /// Joins tensors along `axis`; all other extents must agree (as `torch.cat`).
    public static func concatenate(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concatenate needs at least one tensor")
        let first = tensors[0].shape
        let a = axis < 0 ? first.count + axis : axis
        for t in tensors {
            precondition(t.rank == first.count && (0 ..< first.count).allSatisfy { $0 == a || t.shape[$0] == first[$0] },
                         "concatenate: shape \(t.shape) does not match \(first) off axis \(axis)")
        }
        let outer = first[..<a].reduce(1, *)
        let inner = first[(a + 1)...].reduce(1, *)
        let sizes = tensors.map { $0.shape[a] }
        let total = sizes.reduce(0, +)
        var outShape = first
        outShape[a] = total
        let out = Tensor(shape: outShape) { dst in
            var offset = 0
            for (t, m) in zip(tensors, sizes) {
                t.data.withUnsafeBufferPointer { src in
                    for o in 0 ..< outer {
                        (dst.baseAddress! + (o * total + offset) * inner).update(from: src.baseAddress! + o * m * inner, count: m * inner)
                    }
                }
                offset += m
            }
        }
        return record(out, parents: tensors, name: "concatenate") { g, needs in
            var offset = 0
            var grads: [Tensor?] = []
            for (k, m) in sizes.enumerated() {
                if needs[k] {
                    var s = outShape
                    s[a] = m
                    let off = offset
                    grads.append(Tensor(shape: s) { dst in
                        g.data.withUnsafeBufferPointer { src in
                            for o in 0 ..< outer {
                                (dst.baseAddress! + o * m * inner).update(from: src.baseAddress! + (o * total + off) * inner, count: m * inner)
                            }
                        }
                    })
                } else {
                    grads.append(nil)
                }
                offset += m
            }
            return grads
        }
    }

    /// Stacks equally shaped tensors along a new axis (as `torch.stack`).
    public static func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        concatenate(tensors.map { $0.unsqueezed(axis: axis) }, axis: axis)
    }

    /// Reorders dimensions: result dimension `i` is this tensor's dimension `order[i]` (as `permute`).
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0 ..< rank), "permutation \(order) is not one of 0..<\(rank)")
        let outShape = order.map { shape[$0] }
        let st = Tensor.strides(of: shape)
        let inStrides = order.map { st[$0] }
        let out = Tensor(shape: outShape) { dst in
            data.withUnsafeBufferPointer { src in
                Tensor.forEachRow(outShape, inStrides) { o, i, inner, s in
                    for k in 0 ..< inner { dst[o + k] = src[i + k * s] }
                }
            }
        }
        var inverse = [Int](repeating: 0, count: rank)
        for (i, d) in order.enumerated() { inverse[d] = i }
        return Tensor.record(out, parents: [self], name: "permute") { g, _ in [g.permuted(inverse)] }
    }

    /// The transpose of a matrix (rank 2).
    public func transposed() -> Tensor {
        precondition(rank == 2, "transposed() needs a matrix, shape is \(shape)")
        return permuted([1, 0])
    }
}
