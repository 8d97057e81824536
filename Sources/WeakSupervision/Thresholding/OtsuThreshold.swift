/// Otsu's cutoff over the values inside the region of interest: the histogram split that
/// maximises the between-class variance (Otsu 1979).
///
/// Computed exactly as scikit-image's `threshold_otsu(values, nbins=bins)` on float32 values
/// (tested against it):
///
/// 1. `bins` equal-width bins from min to max (numpy `histogram` on float32: edges
///    `e_i = min + i * ((max - min) / bins)` in Float, last edge = max; a value on an inner edge
///    goes to the upper bin, the max to the last bin); `c_i = (e_i + e_{i+1}) / 2`.
/// 2. For each split after bin `t` (`t = 0 ..< bins - 1`), with `w1, m1` the count and mean of
///    bins `0...t` and `w2, m2` those of bins `t+1 ..< bins`,
///    `sigma_b(t) = w1 * w2 * (m1 - m2)^2`.
/// 3. The cutoff is `c_t` for the **first** `t` of maximal `sigma_b` (numpy `argmax`
///    tie-breaking: the lowest split wins).
///
/// When every value is the same, the cutoff is that value, so nothing is kept (`>` is strict).
public struct OtsuThreshold: MapThreshold, Hashable {
    /// Number of histogram bins (scikit-image's default 256).
    public var bins: Int

    /// Otsu with scikit-image's default 256 bins.
    public init() {
        self.bins = 256
    }

    /// - Parameter bins: at least 2.
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` when `bins < 2`.
    public init(bins: Int) throws {
        guard bins >= 2 else {
            throw WeakSupervisionError.invalidParameter(name: "Otsu bins", reason: "\(bins) is fewer than 2")
        }
        self.bins = bins
    }

    /// Otsu's cutoff of `values` with ``bins`` bins.
    public func cutoff(for values: [Float]) -> Float {
        Self.otsu(values, bins: bins)
    }

    /// Otsu's cutoff of `values` (not empty, finite) with `bins` bins; see the type's doc.
    ///
    /// Complexity: O(n + bins).
    public static func otsu(_ values: [Float], bins: Int = 256) -> Float {
        precondition(!values.isEmpty && bins >= 2, "Otsu needs values and at least 2 bins")
        var lo = values[0], hi = values[0]
        for v in values {
            lo = Swift.min(lo, v)
            hi = Swift.max(hi, v)
        }
        if lo == hi { return lo }
        let (counts, centers) = histogram(values, bins: bins, lo: lo, hi: hi)

        // Cumulative counts and first moments from both ends, in the order numpy sums them.
        var weight1 = [Int](repeating: 0, count: bins), weight2 = weight1
        var sum1 = [Double](repeating: 0, count: bins), sum2 = sum1
        var w = 0, s = 0.0
        for i in 0..<bins {
            w += counts[i]; s += Double(counts[i]) * Double(centers[i])
            weight1[i] = w; sum1[i] = s
        }
        w = 0; s = 0
        for i in stride(from: bins - 1, through: 0, by: -1) {
            w += counts[i]; s += Double(counts[i]) * Double(centers[i])
            weight2[i] = w; sum2[i] = s
        }
        var best = -Double.infinity, bestIndex = 0
        for t in 0..<(bins - 1) {
            let m1 = sum1[t] / Double(weight1[t])
            let m2 = sum2[t + 1] / Double(weight2[t + 1])
            let d = m1 - m2
            let v = Double(weight1[t] * weight2[t + 1]) * (d * d)
            if v > best { best = v; bestIndex = t }   // strict: the first maximum wins
        }
        return centers[bestIndex]
    }

    /// numpy's `histogram(values, bins)` on float32 data with range (lo, hi), lo < hi:
    /// counts and bin centres, all arithmetic in Float as numpy does for float32 input.
    static func histogram(_ values: [Float], bins: Int, lo: Float, hi: Float) -> (counts: [Int], centers: [Float]) {
        let delta = hi - lo
        let step = delta / Float(bins)
        var edges = (0...bins).map { Float($0) * step + lo }
        edges[bins] = hi
        var counts = [Int](repeating: 0, count: bins)
        let n = Float(bins)
        for v in values {
            var i = Int((v - lo) / delta * n)
            if i >= bins { i = bins - 1 }
            if i < 0 { i = 0 }
            if v < edges[i] { i -= 1 }
            if i < bins - 1, v >= edges[i + 1] { i += 1 }
            counts[i] += 1
        }
        let centers = (0..<bins).map { (edges[$0] + edges[$0 + 1]) / 2 }
        return (counts, centers)
    }
}
