import ImageCore

/// How a bootstrap interval is drawn: how many resamples, at which confidence, from which seed.
///
/// The same settings and the same number of values give the same resamples, so intervals of
/// several rows over the same cases resample the same cases (paired), and a run repeats bit for bit.
public struct BootstrapSettings: Hashable, Sendable, Codable {
    /// Number of resamples (default 10,000; `scipy.stats.bootstrap` uses 9,999).
    public var resamples: Int
    /// Two-sided confidence level in (0, 1) (default 0.95).
    public var confidence: Double
    /// Seed of the resampling generator (``SeededGenerator``).
    public var seed: UInt64

    /// Settings; see the properties for the defaults.
    public init(resamples: Int = 10_000, confidence: Double = 0.95, seed: UInt64 = 20_261_204) {
        self.resamples = resamples
        self.confidence = confidence
        self.seed = seed
    }

    /// Checks the settings.
    /// - Throws: ``MetricsError/invalidParameter(name:reason:)`` for fewer than 1 resample or a
    ///   confidence outside (0, 1).
    public func validate() throws {
        guard resamples >= 1 else { throw MetricsError.invalidParameter(name: "resamples", reason: "\(resamples): need at least 1") }
        guard confidence > 0 && confidence < 1 else {
            throw MetricsError.invalidParameter(name: "confidence", reason: "\(confidence) is not strictly between 0 and 1")
        }
    }
}

/// A statistic with its two-sided confidence interval.
public struct ConfidenceInterval: Hashable, Sendable, Codable {
    /// The statistic on the sample itself (e.g. the mean Dice).
    public var estimate: Double
    /// Lower bound.
    public var lower: Double
    /// Upper bound.
    public var upper: Double
    /// The confidence level (e.g. 0.95).
    public var confidence: Double
    /// Resamples drawn (0: the interval is not a bootstrap's).
    public var resamples: Int
    /// Number of values the statistic used (NaN values are left out).
    public var count: Int

    /// An interval from its fields.
    public init(estimate: Double, lower: Double, upper: Double, confidence: Double, resamples: Int, count: Int) {
        self.estimate = estimate
        self.lower = lower
        self.upper = upper
        self.confidence = confidence
        self.resamples = resamples
        self.count = count
    }

    /// Whether `value` lies within `lower ... upper` (false for NaN bounds).
    public func contains(_ value: Double) -> Bool { lower <= value && value <= upper }

    /// `upper - lower`.
    public var width: Double { upper - lower }

    /// The interval of no values: every field NaN, count 0.
    public static func empty(confidence: Double, resamples: Int) -> ConfidenceInterval {
        ConfidenceInterval(estimate: .nan, lower: .nan, upper: .nan, confidence: confidence, resamples: resamples, count: 0)
    }
}

/// Percentile bootstrap over cases (Efron & Tibshirani, *An Introduction to the Bootstrap*,
/// 1993, ch. 13): draw `B` resamples of the `n` cases with replacement, compute the statistic
/// on each, and take the `(1 - c)/2` and `(1 + c)/2` percentiles of those `B` values
/// (``NumPyReductions/percentile(_:_:)``, NumPy's linear rule): what
/// `scipy.stats.bootstrap(..., method="percentile")` computes, with this package's generator.
///
/// Resample `b` is the `n` indices `g.nextInt(in: 0...n-1)` drawn in turn, after the `n` of
/// every earlier resample, from `SeededGenerator(seed: settings.seed)`
/// (``resampleIndices(count:settings:)`` lists them).
///
///     let ci = Bootstrap.meanInterval(dice)                       // 95 %, 10,000 resamples
///     print(ci.estimate, ci.lower, ci.upper)
///     let d = Bootstrap.meanDifferenceInterval(pipeline, pseudoMasks)   // paired by case
public enum Bootstrap {
    /// The resamples the settings draw for `count` values: `settings.resamples` arrays of
    /// `count` indices in `0..<count`. Empty for `count` 0.
    public static func resampleIndices(count: Int, settings: BootstrapSettings = BootstrapSettings()) -> [[Int]] {
        guard count > 0 else { return [] }
        var g = SeededGenerator(seed: settings.seed)
        return (0..<settings.resamples).map { _ in (0..<count).map { _ in g.nextInt(in: 0...(count - 1)) } }
    }

    /// The percentile interval of `statistic` over the given resamples of `values`.
    ///
    /// - Parameters:
    ///   - values: the sample (used as given: leave NaN out first if the statistic cannot take it).
    ///   - resamples: index arrays into `values` (e.g. from ``resampleIndices(count:settings:)``, or
    ///     NumPy's, to check against a reference).
    ///   - confidence: the two-sided level in (0, 1).
    ///   - statistic: default the NumPy mean (``NumPyReductions/mean(_:)``).
    /// - Returns: `estimate` = statistic(values); NaN bounds without values or resamples.
    public static func percentileInterval(_ values: [Double], resamples: [[Int]], confidence: Double,
                                          statistic: ([Double]) -> Double = NumPyReductions.mean) -> ConfidenceInterval {
        guard !values.isEmpty, !resamples.isEmpty else {
            var e = ConfidenceInterval.empty(confidence: confidence, resamples: resamples.count)
            e.estimate = values.isEmpty ? .nan : statistic(values)
            e.count = values.count
            return e
        }
        let thetas = resamples.map { idx in statistic(idx.map { values[$0] }) }
        return interval(estimate: statistic(values), thetas: thetas, confidence: confidence, count: values.count)
    }

    /// The bootstrap interval of the mean of `values`, NaN values left out (as a per-case
    /// metric that is undefined for some cases, e.g. precision of an empty prediction).
    /// Infinite values make the estimate and the bounds infinite where they are drawn.
    public static func meanInterval(_ values: [Double], settings: BootstrapSettings = BootstrapSettings()) -> ConfidenceInterval {
        let used = values.filter { !$0.isNaN }
        return interval(used, settings: settings, statistic: NumPyReductions.mean)
    }

    /// The bootstrap interval of `statistic` over `values` (used as given), resampled with `settings`.
    public static func interval(_ values: [Double], settings: BootstrapSettings = BootstrapSettings(),
                                statistic: ([Double]) -> Double) -> ConfidenceInterval {
        guard !values.isEmpty else {
            return .empty(confidence: settings.confidence, resamples: settings.resamples)
        }
        // Streams the same indices as resampleIndices(count:settings:) without keeping them.
        var g = SeededGenerator(seed: settings.seed)
        let n = values.count
        var sample = [Double](repeating: 0, count: n)
        var thetas = [Double](repeating: 0, count: settings.resamples)
        for b in 0..<settings.resamples {
            for i in 0..<n { sample[i] = values[g.nextInt(in: 0...(n - 1))] }
            thetas[b] = statistic(sample)
        }
        return interval(estimate: statistic(values), thetas: thetas, confidence: settings.confidence, count: n)
    }

    /// The paired bootstrap interval of `mean(a - b)`: cases are resampled as pairs, so a case
    /// that is hard for both methods moves both alike. Pairs with a NaN on either side are left out.
    /// - Precondition: `a.count == b.count` (one value per case for each method).
    public static func meanDifferenceInterval(_ a: [Double], _ b: [Double],
                                              settings: BootstrapSettings = BootstrapSettings()) -> ConfidenceInterval {
        precondition(a.count == b.count, "meanDifferenceInterval: \(a.count) against \(b.count) values")
        let d = zip(a, b).compactMap { x, y in x.isNaN || y.isNaN ? nil : x - y }
        return interval(d, settings: settings, statistic: NumPyReductions.mean)
    }

    static func interval(estimate: Double, thetas: [Double], confidence: Double, count: Int) -> ConfidenceInterval {
        let alpha = (1 - confidence) / 2
        // NumPy's percentile of values holding NaN is NaN, as scipy's interval is then.
        let sorted = thetas.contains { $0.isNaN } ? nil : thetas.sorted()
        let lower = sorted.map { NumPyReductions.percentile(sorted: $0, alpha * 100) } ?? .nan
        let upper = sorted.map { NumPyReductions.percentile(sorted: $0, (1 - alpha) * 100) } ?? .nan
        return ConfidenceInterval(estimate: estimate, lower: lower, upper: upper, confidence: confidence,
                                  resamples: thetas.count, count: count)
    }
}
