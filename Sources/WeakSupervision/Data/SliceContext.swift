/// Neighbouring slices as input channels: the input of a 2.5-D refiner
/// (``UNetLiteConfig/contextSlices``).
///
/// Slice z of a stack with context k is the values of slices z − k, …, z + k back to back, each
/// with all its channels; an index beyond either end of the stack repeats the end slice (as
/// PyTorch's `replicate` padding does along the slice axis). Context 0 is the slice itself.
///
/// ```swift
/// let input = SliceContext.stack(windowed, sliceStride: 3 * 256 * 256, count: z, context: 1)
/// // (Z, 9, 256, 256): for each slice, the three windows of z − 1, z and z + 1
/// ```
public enum SliceContext {
    /// The largest context a refiner may have (``UNetLiteConfig/contextSlices``): 8 slices on
    /// each side, 17 slices seen.
    public static let maximum = 8

    /// The slice seen at `offset` from slice `k` of `count`: `k + offset`, held inside
    /// `0 ..< count`.
    public static func neighbour(of k: Int, offset: Int, count: Int) -> Int {
        min(max(k + offset, 0), count - 1)
    }

    /// The context stack of the slices in `range` (default all): for each slice z of `range`,
    /// the `sliceStride` values of slices z − `context` … z + `context` of `values` (clamped to
    /// the stack's ends), in that order.
    ///
    /// - Parameters:
    ///   - values: `count` slices of `sliceStride` values each, back to back.
    ///   - first: the index, in the whole stack, of `values`' first slice (default 0): `values`
    ///     may hold a window of the stack, which must then include every slice the context of
    ///     `range` reaches.
    ///   - count: slices in the whole stack.
    public static func stack(_ values: ArraySlice<Float>, sliceStride: Int, first: Int = 0, count: Int, context: Int,
                             range: Range<Int>? = nil) -> [Float] {
        let range = range ?? 0..<count
        precondition(context >= 0 && sliceStride > 0 && values.count % sliceStride == 0, "SliceContext: bad layout")
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "SliceContext: slices \(range) of a stack of \(count)")
        let held = first..<(first + values.count / sliceStride)
        var out = [Float]()
        out.reserveCapacity(range.count * (2 * context + 1) * sliceStride)
        for z in range {
            for d in -context...context {
                let n = neighbour(of: z, offset: d, count: count)
                precondition(held.contains(n), "SliceContext: slice \(n) is not among the values given (\(held))")
                let start = values.startIndex + (n - first) * sliceStride
                out += values[start..<(start + sliceStride)]
            }
        }
        return out
    }
}

extension PreparedCase {
    /// The input of the slices in `range` for a network that sees `context` neighbouring slices
    /// on each side (``SliceContext``): (2 · context + 1) · C · S · S values per slice;
    /// ``slices(_:)`` itself when `context` is 0.
    public func slices(_ range: Range<Int>, context: Int) -> ArraySlice<Float> {
        guard context > 0, !range.isEmpty else { return slices(range) }
        let lo = max(range.lowerBound - context, 0), hi = min(range.upperBound + context, sliceCount)
        return SliceContext.stack(slices(lo..<hi), sliceStride: sliceStride, first: lo, count: sliceCount,
                                  context: context, range: range)[...]
    }

    /// Slice `k`'s input with `context` neighbouring slices on each side (``slices(_:context:)``).
    public func slice(_ k: Int, context: Int) -> ArraySlice<Float> { slices(k..<(k + 1), context: context) }
}
