/// A cutoff at the `p`-th percentile of the values inside the region of interest: roughly the
/// top `100 - p` percent of the ROI is kept.
///
/// The percentile is numpy's default (`method="linear"`, Hyndman & Fan type 7): with the `n`
/// values sorted, `v = (n - 1) p / 100`, `i = floor(v)`, `g = v - i`,
///
///     cutoff = a + (b - a) g        when g < 0.5
///     cutoff = b - (b - a) (1 - g)  when g >= 0.5      (a = sorted[i], b = sorted[min(i + 1, n - 1)])
///
/// evaluated in Float as `np.percentile` does on float32 data (tested against it). Pixels
/// strictly above the cutoff are kept, so `p = 100` keeps nothing and ties at the cutoff are
/// dropped.
public struct PercentileThreshold: MapThreshold, Hashable {
    /// The percentile, 0...100.
    public var percentile: Double

    /// - Parameter percentile: in 0...100 (e.g. 90 keeps about the top tenth of the ROI).
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` outside 0...100.
    public init(_ percentile: Double) throws {
        guard percentile >= 0, percentile <= 100 else {
            throw WeakSupervisionError.invalidParameter(
                name: "percentile", reason: "\(percentile) is outside 0...100")
        }
        self.percentile = percentile
    }

    /// The ``percentile``-th percentile of `values`.
    public func cutoff(for values: [Float]) -> Float {
        Self.percentile(values, percentile)
    }

    /// numpy's linear-interpolation percentile of `values` (not empty), `p` in 0...100.
    ///
    /// Complexity: O(n log n) (a sort).
    public static func percentile(_ values: [Float], _ p: Double) -> Float {
        precondition(!values.isEmpty, "percentile of no values")
        let sorted = values.sorted()
        let n = sorted.count
        let virtualIndex = Double(n - 1) * (p / 100)
        if virtualIndex >= Double(n - 1) { return sorted[n - 1] }
        if virtualIndex <= 0 { return sorted[0] }
        let i = Int(virtualIndex.rounded(.down))
        let g = virtualIndex - Double(i)
        let a = sorted[i], b = sorted[i + 1]
        let d = b - a
        return g < 0.5 ? a + d * Float(g) : b - d * Float(1 - g)
    }
}
