/// Broadcasting rules (NumPy / PyTorch): shapes are aligned at their last dimension; each pair
/// of extents must be equal or one of them 1.
extension Tensor {
    /// The shape two operands broadcast to.
    ///
    /// - Precondition: the shapes are broadcast-compatible.
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0 ..< rank {
            let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            precondition(x == y || x == 1 || y == 1, "shapes \(a) and \(b) do not broadcast")
            out[i] = x == 1 ? y : x
        }
        return out
    }

    /// Strides of `shape` seen from `target` (0 along broadcast dimensions).
    static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let own = strides(of: shape)
        let lead = target.count - shape.count
        return (0 ..< target.count).map { d in
            d < lead ? 0 : (shape[d - lead] == 1 && target[d] != 1 ? 0 : own[d - lead])
        }
    }

    /// Calls `body(outOffset, inOffset, innerCount, innerStride)` once per innermost row of
    /// `outShape`, where the input is addressed with `inStrides`.
    static func forEachRow(_ outShape: [Int], _ inStrides: [Int], _ body: (Int, Int, Int, Int) -> Void) {
        let rank = outShape.count
        if rank == 0 { body(0, 0, 1, 0); return }
        let inner = outShape[rank - 1]
        let innerStride = inStrides[rank - 1]
        let rows = outShape.dropLast().reduce(1, *)
        if rows == 0 || inner == 0 { return }
        var index = [Int](repeating: 0, count: rank - 1)
        var inOffset = 0
        for row in 0 ..< rows {
            body(row * inner, inOffset, inner, innerStride)
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                inOffset += inStrides[d]
                if index[d] < outShape[d] { break }
                inOffset -= inStrides[d] * index[d]
                index[d] = 0
                d -= 1
            }
        }
    }

    /// This tensor's elements repeated to `target` (no graph).
    func broadcastData(to target: [Int]) -> [Float] {
        if shape == target { return data }
        let st = Tensor.broadcastStrides(shape, to: target)
        let n = target.reduce(1, *)
        return [Float](unsafeUninitializedCapacity: n) { out, initialized in
            data.withUnsafeBufferPointer { src in
                Tensor.forEachRow(target, st) { o, i, inner, s in
                    if s == 0 {
                        let v = src[i]
                        for k in 0 ..< inner { out[o + k] = v }
                    } else {
                        for k in 0 ..< inner { out[o + k] = src[i + k * s] }
                    }
                }
            }
            initialized = n
        }
    }

    /// Sums `self` (shaped like a broadcast result) down to `target`, the inverse of broadcasting.
    func sumData(toShape target: [Int]) -> Tensor {
        if shape == target { return Tensor(shape: target, data: data) }
        let st = Tensor.broadcastStrides(target, to: shape)
        let n = target.reduce(1, *)
        var out = [Float](repeating: 0, count: n)
        out.withUnsafeMutableBufferPointer { dst in
            data.withUnsafeBufferPointer { src in
                Tensor.forEachRow(shape, st) { o, i, inner, s in
                    if s == 0 {
                        var acc: Float = 0
                        for k in 0 ..< inner { acc += src[o + k] }
                        dst[i] += acc
                    } else {
                        for k in 0 ..< inner { dst[i + k * s] += src[o + k] }
                    }
                }
            }
        }
        return Tensor(shape: target, data: out)
    }

    /// This tensor broadcast to `target` (differentiable; the gradient sums back).
    public func expanded(to target: [Int]) -> Tensor {
        precondition(Tensor.broadcastShape(shape, target) == target, "cannot expand \(shape) to \(target)")
        let out = Tensor(shape: target, data: broadcastData(to: target))
        let source = shape
        return Tensor.record(out, parents: [self], name: "expand") { g, _ in [g.sumData(toShape: source)] }
    }
}
