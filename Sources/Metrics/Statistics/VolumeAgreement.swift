/// Agreement between predicted and true hemorrhage volumes (mL), as clinicians read ICH
/// volume: Bland-Altman's bias and 95 % limits of agreement (Bland & Altman, *Lancet* 1986),
/// the mean absolute difference and Pearson's r.
///
/// Differences are `predicted - true`. With `d̄` their mean and `s` their sample standard
/// deviation (n - 1), the limits are `d̄ ± 1.96 s`. Fewer than two pairs give NaN for `s`, the
/// limits and r; no pairs give NaN everywhere. Pairs with a NaN are left out.
public struct VolumeAgreement: Hashable, Sendable, Codable {
    /// Pairs used.
    public var count: Int
    /// Mean of `predicted - true` (the bias), mL.
    public var meanDifference: Double
    /// Sample standard deviation of the differences, mL.
    public var differenceStandardDeviation: Double
    /// `meanDifference - 1.96 sd`.
    public var lowerLimit: Double
    /// `meanDifference + 1.96 sd`.
    public var upperLimit: Double
    /// Mean of `|predicted - true|`, mL.
    public var meanAbsoluteDifference: Double
    /// Pearson's correlation of predicted and true volumes (NaN when either is constant).
    public var correlation: Double

    /// The agreement of paired volumes.
    /// - Precondition: `predicted.count == truth.count`.
    public init(predicted: [Double], truth: [Double]) {
        precondition(predicted.count == truth.count, "VolumeAgreement: \(predicted.count) against \(truth.count) volumes")
        let pairs = zip(predicted, truth).filter { !$0.0.isNaN && !$0.1.isNaN }
        count = pairs.count
        let d = pairs.map { $0.0 - $0.1 }
        meanDifference = NumPyReductions.mean(d)
        meanAbsoluteDifference = NumPyReductions.mean(d.map(abs))
        differenceStandardDeviation = MetricSummary(d).standardDeviation
        lowerLimit = meanDifference - 1.96 * differenceStandardDeviation
        upperLimit = meanDifference + 1.96 * differenceStandardDeviation
        if count < 2 {
            correlation = .nan
        } else {
            let p = pairs.map(\.0), t = pairs.map(\.1)
            let mp = NumPyReductions.mean(p), mt = NumPyReductions.mean(t)
            let sxy = NumPyReductions.sum(zip(p, t).map { ($0 - mp) * ($1 - mt) })
            let sxx = NumPyReductions.sum(p.map { ($0 - mp) * ($0 - mp) })
            let syy = NumPyReductions.sum(t.map { ($0 - mt) * ($0 - mt) })
            correlation = sxy / (sxx * syy).squareRoot()
        }
    }
}

/// Strata of hemorrhage volume (mL): `< b0`, `b0 - b1`, ..., `≥ b_last`. Default `[5, 30]`:
/// small (< 5 mL), medium (5 to 30) and large (≥ 30) bleeds, the bands in which ICH volume is
/// usually read (30 mL is the ICH score's volume criterion; Hemphill et al., *Stroke* 2001).
public struct VolumeStrata: Hashable, Sendable, Codable {
    /// Increasing, finite, positive bounds in mL.
    public var bounds: [Double]

    /// Strata with the given bounds (default 5 and 30 mL).
    /// - Precondition: the bounds increase strictly and are finite and > 0.
    public init(bounds: [Double] = [5, 30]) {
        precondition(bounds.allSatisfy { $0.isFinite && $0 > 0 } && zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 },
                     "VolumeStrata: bounds \(bounds) must be finite, > 0 and increasing")
        self.bounds = bounds
    }

    /// The stratum of `volume`: the number of bounds at or below it (a bound belongs to the stratum above it).
    public func index(of volume: Double) -> Int { bounds.filter { $0 <= volume }.count }

    /// The strata's labels, e.g. `< 5 mL`, `5-30 mL`, `≥ 30 mL`.
    public var labels: [String] {
        func f(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(v) }
        guard let first = bounds.first, let last = bounds.last else { return ["all"] }
        var out = ["< \(f(first)) mL"]
        for (a, b) in zip(bounds, bounds.dropFirst()) { out.append("\(f(a))-\(f(b)) mL") }
        out.append("≥ \(f(last)) mL")
        return out
    }
}
