import Foundation

/// Scores of many cases and their summary: what `ichctl evaluate` prints.
public struct SegmentationReport: Sendable, Codable {
    /// One case: its name (the file name) and scores.
    public struct Case: Sendable, Codable {
        /// The case name.
        public var name: String
        /// Its scores.
        public var scores: SegmentationScores
        /// A case from its parts.
        public init(name: String, scores: SegmentationScores) {
            self.name = name
            self.scores = scores
        }
    }

    /// The cases in input order.
    public var cases: [Case]
    /// The NSD tolerance (mm) used.
    public var tolerance: Double
    /// Whether cases with an empty truth were left out of ``summary`` (MONAI's `ignore_empty`).
    public var ignoreEmpty: Bool
    /// How many cases the summary covers (all cases, or those with a non-empty truth).
    public var summarizedCases: Int
    /// Mean, sd, median and excluded count of every metric over the summarised cases.
    public var summary: [String: MetricSummary]
    /// Intervals, volume strata, lesion detection and volume agreement over the cases
    /// (``SegmentationStatistics``; nil unless computed, e.g. by `ichctl evaluate`).
    public var statistics: SegmentationStatistics?

    /// The report of `cases`.
    ///
    /// - Parameters:
    ///   - cases: every case, listed in the report whatever `ignoreEmpty` says.
    ///   - tolerance: the NSD tolerance (mm) the scores used.
    ///   - ignoreEmpty: leave cases whose truth is empty out of the summary, as MONAI's
    ///     `ignore_empty=True` does (default false: every case counts; an empty truth then gives
    ///     Dice 0 against a non-empty prediction and NaN, excluded, against an empty one).
    ///     The usual "mean Dice over positive cases" is `ignoreEmpty: true`.
    public init(cases: [Case], tolerance: Double, ignoreEmpty: Bool = false) {
        self.cases = cases
        self.tolerance = tolerance
        self.ignoreEmpty = ignoreEmpty
        var accumulator = MetricAccumulator()
        var n = 0
        for c in cases where !ignoreEmpty || c.scores.counts.actualPositives > 0 {
            accumulator.append(c.scores)
            n += 1
        }
        summarizedCases = n
        summary = accumulator.aggregate()
    }

    /// The per-case table as CSV: a header `case,<metric names>` and one row per case.
    /// Non-finite values are written `inf`, `-inf` and `nan`, as in the JSON output.
    public func csv() -> String {
        var lines = ["case," + SegmentationScores.metricNames.joined(separator: ",")]
        for c in cases {
            let m = c.scores.metrics
            let fields = SegmentationScores.metricNames.map { Self.format(m[$0] ?? .nan) }
            lines.append(Self.csvField(c.name) + "," + fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A fixed-width text table of the cases and the summary rows (mean, sd, median, excluded).
    /// - Parameter metrics: the columns (default: every metric).
    public func table(metrics: [String] = SegmentationScores.metricNames) -> String {
        let nameWidth = max(8, cases.map(\.name.count).max() ?? 0)
        let width = max(10, metrics.map(\.count).max() ?? 0) + 1
        func pad(_ s: String, _ w: Int, left: Bool = false) -> String {
            s.count >= w ? s : (left ? s + String(repeating: " ", count: w - s.count)
                                     : String(repeating: " ", count: w - s.count) + s)
        }
        func number(_ v: Double) -> String {
            v.isFinite ? String(format: "%.4f", v) : Self.format(v)
        }
        var out = pad("case", nameWidth, left: true) + metrics.map { pad($0, width) }.joined() + "\n"
        for c in cases {
            let m = c.scores.metrics
            out += pad(c.name, nameWidth, left: true) + metrics.map { pad(number(m[$0] ?? .nan), width) }.joined() + "\n"
        }
        let rows: [(String, (MetricSummary) -> String)] = [
            ("mean", { number($0.mean) }), ("sd", { number($0.standardDeviation) }),
            ("median", { number($0.median) }), ("excluded", { String($0.excluded) }),
        ]
        for (label, value) in rows {
            out += pad(label, nameWidth, left: true)
                + metrics.map { pad(summary[$0].map(value) ?? "", width) }.joined() + "\n"
        }
        if ignoreEmpty {
            out += "(summary over the \(summarizedCases) of \(cases.count) cases whose truth is non-empty)\n"
        }
        if let statistics { out += "\n" + statistics.text() }
        return out
    }

    /// `inf`, `-inf`, `nan`, or the shortest exact decimal.
    package static func format(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        return "\(v)"
    }

    /// A CSV field, quoted (with doubled quotes) when it holds a comma, a quote or a line break:
    /// the package's one CSV rule (evaluate's and the comparison's CSV files).
    package static func csvField(_ s: String) -> String {
        s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
