/// Sums and percentiles computed exactly as NumPy computes them, so that results agree with
/// the Python tools to the last digit rather than to rounding.
public enum NumPyReductions {
    /// `numpy.sum` of float64 values: pairwise summation (blocks of 128 with 8 accumulators,
    /// split in halves above that), which is what `np.add.reduce` does on a 1-D array.
    /// Complexity: O(n).
    public static func sum(_ values: [Double]) -> Double {
        values.withUnsafeBufferPointer { pairwiseSum($0.baseAddress, $0.count) }
    }

    /// `numpy.mean`: the pairwise sum divided by the count; NaN for no values.
    public static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? .nan : sum(values) / Double(values.count)
    }

    /// `numpy.percentile(values, q)` with the default linear interpolation (Hyndman & Fan
    /// type 7): index `(n - 1) q / 100` between the two nearest order statistics, blended as
    /// NumPy's `_lerp` does. NaN for no values.
    /// - Parameter q: the percentile, 0...100.
    /// Complexity: O(n log n) (a sort).
    public static func percentile(_ values: [Double], _ q: Double) -> Double {
        precondition(q >= 0 && q <= 100, "percentile: q = \(q) is outside 0...100")
        if values.isEmpty { return .nan }
        if values.contains(where: { $0.isNaN }) { return .nan }
        return percentile(sorted: values.sorted(), q)
    }

    /// ``percentile(_:_:)`` of values already sorted ascending.
    public static func percentile(sorted: [Double], _ q: Double) -> Double {
        if sorted.isEmpty { return .nan }
        let n = sorted.count
        let virtual = Double(n - 1) * (q / 100)
        let previous = virtual.rounded(.down)
        let gamma = virtual - previous
        let lo = min(max(Int(previous), 0), n - 1)
        let hi = min(lo + 1, n - 1)
        return lerp(sorted[lo], sorted[hi], gamma)
    }

    /// `numpy.median`: the middle value, or the mean `(a + b) / 2` of the two middle values
    /// (so the median of `[0, inf]` is `inf`, where the 50th percentile's interpolation would
    /// give NaN). NaN for no values or any NaN.
    public static func median(_ values: [Double]) -> Double {
        if values.isEmpty || values.contains(where: { $0.isNaN }) { return .nan }
        let sorted = values.sorted()
        let n = sorted.count
        if n % 2 == 1 { return sorted[n / 2] }
        return (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }

    /// NumPy's `_lerp(a, b, t)`: `a + (b - a) t`, or `b - (b - a)(1 - t)` when `t >= 0.5`.
    @inline(__always)
    static func lerp(_ a: Double, _ b: Double, _ t: Double) -> Double {
        let diff = b - a
        if t >= 0.5 { return b - diff * (1 - t) }
        return a + diff * t
    }

    static func pairwiseSum(_ a: UnsafePointer<Double>?, _ n: Int) -> Double {
        guard let a, n > 0 else { return 0 }
        if n < 8 {
            var res = 0.0
            for i in 0..<n { res += a[i] }
            return res
        } else if n <= 128 {
            var r0 = a[0], r1 = a[1], r2 = a[2], r3 = a[3], r4 = a[4], r5 = a[5], r6 = a[6], r7 = a[7]
            var i = 8
            let end = n - n % 8
            while i < end {
                r0 += a[i]; r1 += a[i + 1]; r2 += a[i + 2]; r3 += a[i + 3]
                r4 += a[i + 4]; r5 += a[i + 5]; r6 += a[i + 6]; r7 += a[i + 7]
                i += 8
            }
            var res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
            while i < n { res += a[i]; i += 1 }
            return res
        } else {
            var n2 = n / 2
            n2 -= n2 % 8
            return pairwiseSum(a, n2) + pairwiseSum(a + n2, n - n2)
        }
    }
}
