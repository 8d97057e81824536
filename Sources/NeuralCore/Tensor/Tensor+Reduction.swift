/// Reductions: sums and means over all elements or over axes.
extension Tensor {
    /// The sum of all elements, a scalar (accumulated in Double).
    public func sum() -> Tensor {
        var acc = 0.0
        data.withUnsafeBufferPointer { p in for v in p { acc += Double(v) } }
        let source = shape
        return Tensor.record(Tensor(scalar: Float(acc)), parents: [self], name: "sum") { g, _ in
            [Tensor(zeros: source, value: g.data[0])]
        }
    }

    /// The mean of all elements, a scalar.
    public func mean() -> Tensor {
        precondition(count > 0, "mean of an empty tensor")
        return sum() * (1 / Float(count))
    }

    /// Sums over `axes` (negative axes count from the end); kept as extent 1 when `keepDims`.
    public func sum(axes: [Int], keepDims: Bool = false) -> Tensor {
        let set = Set(axes.map { $0 < 0 ? rank + $0 : $0 })
        precondition(set.allSatisfy { $0 >= 0 && $0 < rank }, "axes \(axes) out of range for \(shape)")
        let kept = shape.enumerated().map { set.contains($0.offset) ? 1 : $0.element }
        let reduced = sumData(toShape: kept)
        let source = shape
        let out = Tensor(shape: keepDims ? kept : shape.enumerated().filter { !set.contains($0.offset) }.map(\.element), data: reduced.data)
        return Tensor.record(out, parents: [self], name: "sum(axes)") { g, _ in
            [Tensor(shape: source, data: Tensor(shape: kept, data: g.data).broadcastData(to: source))]
        }
    }

    /// Means over `axes`; kept as extent 1 when `keepDims`.
    public func mean(axes: [Int], keepDims: Bool = false) -> Tensor {
        let set = Set(axes.map { $0 < 0 ? rank + $0 : $0 })
        let n = set.map { shape[$0] }.reduce(1, *)
        return sum(axes: axes, keepDims: keepDims) * (1 / Float(n))
    }
}
