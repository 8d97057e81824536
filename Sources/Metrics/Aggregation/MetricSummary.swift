/// Mean, standard deviation and median of one metric over cases, with the cases left out.
///
/// NaN values (undefined: e.g. Dice of two empty masks) are excluded from every statistic and
/// counted in `excluded`. Infinite values (e.g. a Hausdorff distance to an empty mask) are
/// kept: the mean and the standard deviation become infinite and `infinite` counts them; the
/// median is ordinary (it stays finite while fewer than half are infinite).
public struct MetricSummary: Hashable, Sendable, Codable {
    /// Arithmetic mean of the non-NaN values (NumPy's pairwise sum); NaN if there are none.
    public var mean: Double
    /// Sample standard deviation (n - 1 in the denominator, as pandas and R) of the non-NaN
    /// values; NaN for fewer than two, `+inf` if any value is infinite.
    public var standardDeviation: Double
    /// Median of the non-NaN values (`numpy.median`); NaN if there are none.
    public var median: Double
    /// Number of values used (non-NaN).
    public var count: Int
    /// Number of NaN values left out.
    public var excluded: Int
    /// Number of infinite values among those used.
    public var infinite: Int

    /// The summary of `values`.
    /// Complexity: O(n log n).
    public init(_ values: [Double]) {
        let used = values.filter { !$0.isNaN }
        count = used.count
        excluded = values.count - used.count
        infinite = used.filter { $0.isInfinite }.count
        median = NumPyReductions.median(used)
        guard !used.isEmpty else {
            mean = .nan
            standardDeviation = .nan
            return
        }
        mean = NumPyReductions.mean(used)
        if used.count < 2 {
            standardDeviation = .nan
        } else if infinite > 0 {
            standardDeviation = .infinity
        } else {
            let m = mean
            standardDeviation = (NumPyReductions.sum(used.map { ($0 - m) * ($0 - m) }) / Double(used.count - 1)).squareRoot()
        }
    }

    /// Explicit fields (for decoding and tests).
    public init(mean: Double, standardDeviation: Double, median: Double, count: Int, excluded: Int, infinite: Int) {
        self.mean = mean
        self.standardDeviation = standardDeviation
        self.median = median
        self.count = count
        self.excluded = excluded
        self.infinite = infinite
    }
}

/// A running collection of per-case metric values, aggregated on demand: the stateful
/// counterpart of ``MetricSummary``, as MONAI's `Cumulative` metrics (`metric(y_pred, y)` per
/// batch, `aggregate()` at the end, `reset()` to start over).
///
///     var accumulator = MetricAccumulator()
///     accumulator.append(["dice": 0.8, "hd95": 3.2])
///     accumulator.append(["dice": .nan, "hd95": .nan])
///     accumulator.aggregate()["dice"]   // mean 0.8, count 1, excluded 1
public struct MetricAccumulator: Sendable {
    /// Metric names in the order they were first seen.
    public private(set) var names: [String] = []
    /// Every value appended, per metric name, in case order.
    public private(set) var values: [String: [Double]] = [:]
    /// Number of cases appended.
    public private(set) var caseCount = 0

    /// An empty accumulator.
    public init() {}

    /// Adds one case. A metric missing from this case counts as NaN (excluded) for it.
    public mutating func append(_ metrics: [String: Double]) {
        for name in metrics.keys.sorted() where values[name] == nil {
            names.append(name)
            values[name] = Array(repeating: .nan, count: caseCount)
        }
        for name in names {
            values[name, default: []].append(metrics[name] ?? .nan)
        }
        caseCount += 1
    }

    /// Adds every metric of one case's scores.
    public mutating func append(_ scores: SegmentationScores) {
        append(scores.metrics)
    }

    /// The summary of every metric so far.
    public func aggregate() -> [String: MetricSummary] {
        values.mapValues { MetricSummary($0) }
    }

    /// The summary of one metric, nil if it was never seen.
    public func aggregate(_ name: String) -> MetricSummary? {
        values[name].map { MetricSummary($0) }
    }

    /// Forgets everything.
    public mutating func reset() {
        names = []
        values = [:]
        caseCount = 0
    }
}
