#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Wilcoxon signed-rank test of paired values (two-sided): do two methods' per-case scores
/// differ in location? What `scipy.stats.wilcoxon(x, y)` computes with its defaults
/// (`zero_method="wilcox"`, `correction=False`, `method="auto"`), pairs holding a NaN left out
/// (`nan_policy="omit"`).
///
/// With differences `d = x - y`, zero differences are dropped (Wilcoxon's rule), the `m`
/// non-zero `|d|` are ranked (ties get the average rank), `R+` and `R-` are the rank sums of the
/// positive and negative differences, and the statistic is `min(R+, R-)`. The p-value:
///
/// - **exact** when `n ≤ 50` pairs, no zero difference and no tie: the null distribution of
///   `R+` (every sign pattern equally likely) by counting subsets of `{1 ... m}`,
///   `p = min(1, 2 min(P(R+ ≥ r), P(R+ ≤ r)))`;
/// - **permutation** when there are zeros or ties and `n ≤ 13`: the same over all `2^m` sign
///   patterns of the actual ranks, counted with scipy's relative tolerance `100 eps`;
/// - **normal** otherwise: `z = (R+ - m(m+1)/4) / σ`,
///   `σ² = (m(m+1)(2m+1) - Σ(t³ - t)/2) / 24` over tie groups of size `t`, `p = erfc(|z|/√2)`.
///
/// No pairs, or only zero differences under the normal rule, give a NaN p-value.
public struct WilcoxonSignedRank: Hashable, Sendable, Codable {
    /// How the p-value was computed.
    public enum Method: String, Hashable, Sendable, Codable {
        /// The exact null distribution (no ties, no zeros, n ≤ 50).
        case exact
        /// Every sign pattern of the actual ranks (ties or zeros, n ≤ 13).
        case permutation
        /// The normal approximation with tie correction, without continuity correction.
        case normal
    }

    /// `min(R+, R-)`, scipy's two-sided statistic.
    public var statistic: Double
    /// `R+`: the rank sum of the positive differences.
    public var positiveRankSum: Double
    /// `R-`: the rank sum of the negative differences.
    public var negativeRankSum: Double
    /// The two-sided p-value.
    public var pValue: Double
    /// How ``pValue`` was computed.
    public var method: Method
    /// Pairs used (without NaN), zero differences included.
    public var pairs: Int
    /// Pairs whose difference is zero (left out of the ranks).
    public var zeros: Int
    /// The normal deviate `(R+ - mean) / σ` (nil unless ``method`` is `.normal`).
    public var z: Double?

    /// The test of `x` against `y`, paired by index.
    /// - Precondition: `x.count == y.count`.
    public init(_ x: [Double], _ y: [Double]) {
        precondition(x.count == y.count, "WilcoxonSignedRank: \(x.count) against \(y.count) values")
        self.init(differences: zip(x, y).map { $0 - $1 })
    }

    /// The test of paired differences against a median of 0 (NaN differences left out).
    public init(differences: [Double]) {
        let d = differences.filter { !$0.isNaN }
        let nonZero = d.filter { $0 != 0 }
        pairs = d.count
        zeros = d.count - nonZero.count
        let m = nonZero.count

        // Average ranks of |d| among the non-zero differences, and the tie groups.
        let order = nonZero.indices.sorted { abs(nonZero[$0]) < abs(nonZero[$1]) }
        var ranks = [Double](repeating: 0, count: m)
        var tieCorrection = 0.0
        var hasTies = false
        var start = 0
        while start < m {
            var end = start + 1
            while end < m && abs(nonZero[order[end]]) == abs(nonZero[order[start]]) { end += 1 }
            let t = Double(end - start)
            if end - start > 1 { hasTies = true }
            tieCorrection += t * t * t - t
            let rank = Double(start + 1) + (t - 1) / 2
            for i in start..<end { ranks[order[i]] = rank }
            start = end
        }
        var rPlus = 0.0, rMinus = 0.0
        for i in 0..<m {
            if nonZero[i] > 0 { rPlus += ranks[i] } else { rMinus += ranks[i] }
        }
        positiveRankSum = rPlus
        negativeRankSum = rMinus
        statistic = min(rPlus, rMinus)
        z = nil

        guard pairs > 0 else {
            statistic = .nan
            pValue = .nan
            method = .normal
            return
        }
        if pairs <= 50 && !hasTies && zeros == 0 {
            method = .exact
            pValue = Self.exactPValue(rPlus: rPlus, m: m)
        } else if pairs <= 13 {
            method = .permutation
            pValue = Self.permutationPValue(ranks: ranks, rPlus: rPlus)
        } else {
            method = .normal
            let mm = Double(m)
            let mean = mm * (mm + 1) / 4
            let sigma = ((mm * (mm + 1) * (2 * mm + 1) - tieCorrection / 2) / 24).squareRoot()
            let zz = (rPlus - mean) / sigma
            z = zz
            pValue = zz.isNaN ? .nan : min(1, erfc(abs(zz) / 2.0.squareRoot()))
        }
    }

    /// Number of subsets of `{1 ... m}` with each sum `0 ... m(m+1)/2`: the exact null
    /// distribution of `R+` times `2^m`. Exact in Double for m ≤ 50 (counts below 2^53).
    static func subsetSumCounts(_ m: Int) -> [Double] {
        let top = m * (m + 1) / 2
        var c = [Double](repeating: 0, count: top + 1)
        c[0] = 1
        var reach = 0
        for k in stride(from: 1, through: m, by: 1) {
            reach += k
            for s in stride(from: reach, through: k, by: -1) { c[s] += c[s - k] }
        }
        return c
    }

    static func exactPValue(rPlus: Double, m: Int) -> Double {
        let counts = subsetSumCounts(m)
        let total = counts.reduce(0, +)
        let lo = Int(rPlus.rounded(.down)), hi = Int(rPlus.rounded(.up))
        // P(R+ >= floor r) and P(R+ <= ceil r)
        let upper = counts[min(max(lo, 0), counts.count)...].reduce(0, +) / total
        let lower = counts[...min(max(hi, 0), counts.count - 1)].reduce(0, +) / total
        return min(1, 2 * min(upper, lower))
    }

    static func permutationPValue(ranks: [Double], rPlus: Double) -> Double {
        let m = ranks.count
        let gamma = abs(Double.ulpOfOne * 100 * rPlus)
        var less = 0, greater = 0
        let patterns = 1 << m
        for pattern in 0..<patterns {
            var s = 0.0
            for i in 0..<m where pattern & (1 << i) != 0 { s += ranks[i] }
            if s <= rPlus + gamma { less += 1 }
            if s >= rPlus - gamma { greater += 1 }
        }
        let n = Double(patterns)
        return min(1, 2 * min(Double(less) / n, Double(greater) / n))
    }
}
