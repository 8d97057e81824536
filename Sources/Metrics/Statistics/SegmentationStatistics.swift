/// What a reader needs to trust a set of segmentation scores: the mean Dice and its bootstrap
/// interval, Dice by true hemorrhage volume (and by subtype where known), lesion-level
/// detection, volume agreement, and the volume called blood on negative cases.
///
/// Cases are positive when their truth is non-empty (`truthVolumeML > 0`). Overlap intervals are
/// over positive cases; false positives over negative ones. Every interval is a case-resampling
/// percentile bootstrap (``Bootstrap``) with the same settings, so intervals of several methods
/// on the same cases resample the same cases.
///
///     let s = SegmentationStatistics(scores: cases.map(\.scores), detections: detections)
///     print(s.intervals["dice"]!.lower, s.diceByVolume.map(\.dice.estimate))
public struct SegmentationStatistics: Sendable, Codable {
    /// How the statistics are drawn.
    public struct Settings: Hashable, Sendable, Codable {
        /// Resamples, confidence and seed of every interval.
        public var bootstrap: BootstrapSettings
        /// Volume strata for Dice and lesion detection (default < 5, 5-30, ≥ 30 mL).
        public var strata: VolumeStrata
        /// The lesion-detection rule.
        public var detection: LesionDetection.Settings

        /// Settings; see the properties for the defaults.
        public init(bootstrap: BootstrapSettings = BootstrapSettings(), strata: VolumeStrata = VolumeStrata(),
                    detection: LesionDetection.Settings = LesionDetection.Settings()) {
            self.bootstrap = bootstrap
            self.strata = strata
            self.detection = detection
        }

        /// - Throws: ``MetricsError/invalidParameter(name:reason:)`` for a bad part.
        public func validate() throws {
            try bootstrap.validate()
            try detection.validate()
        }
    }

    /// The Dice of the positive cases of one stratum (a volume band or a subtype).
    public struct Stratum: Sendable, Codable, Hashable {
        /// E.g. `< 5 mL`, or a subtype.
        public var label: String
        /// Positive cases in it.
        public var cases: Int
        /// Their mean Dice with its interval (NaN without cases).
        public var dice: ConfidenceInterval
    }

    /// The settings used.
    public var settings: Settings
    /// Cases with a non-empty truth.
    public var positiveCases: Int
    /// Cases with an empty truth.
    public var negativeCases: Int
    /// Mean and interval of `dice`, `iou`, `precision`, `recall` and `sd_nsd` over positive
    /// cases (NaN values, e.g. the precision of an empty prediction, left out), and of
    /// `fp_ml` (mL predicted on a negative case) over negative cases.
    public var intervals: [String: ConfidenceInterval]
    /// Dice of the positive cases in each volume stratum of their truth.
    public var diceByVolume: [Stratum]
    /// Dice of the positive cases holding each subtype (a case with two subtypes counts in
    /// both); empty when subtypes are unknown.
    public var diceBySubtype: [Stratum]
    /// Lesion detection pooled over every case (positive and negative).
    public var detection: LesionDetectionSummary
    /// Predicted against true volume over positive cases.
    public var volumeAgreement: VolumeAgreement
    /// Negative cases with no predicted voxel.
    public var cleanNegativeCases: Int

    /// The metric names that get an interval over positive cases.
    public static let intervalMetrics = ["dice", "iou", "precision", "recall", "sd_nsd"]

    /// The statistics of scored cases.
    ///
    /// - Parameters:
    ///   - scores: one per case.
    ///   - detections: one per case, same order (``LesionDetection``).
    ///   - subtypes: per case, the subtypes its truth holds (nil: unknown).
    ///   - settings: see ``Settings``.
    /// - Precondition: `detections` (and `subtypes`, when given) have one entry per case.
    public init(scores: [SegmentationScores], detections: [LesionDetection], subtypes: [[String]]? = nil,
                settings: Settings = Settings()) {
        precondition(detections.count == scores.count, "SegmentationStatistics: \(detections.count) detections for \(scores.count) cases")
        precondition(subtypes.map { $0.count == scores.count } ?? true, "SegmentationStatistics: subtypes for another number of cases")
        self.settings = settings
        let positive = scores.indices.filter { scores[$0].truthVolumeML > 0 }
        let negative = scores.indices.filter { scores[$0].truthVolumeML == 0 }
        positiveCases = positive.count
        negativeCases = negative.count
        let b = settings.bootstrap
        var intervals: [String: ConfidenceInterval] = [:]
        for name in Self.intervalMetrics {
            intervals[name] = Bootstrap.meanInterval(positive.map { scores[$0].metrics[name] ?? .nan }, settings: b)
        }
        intervals["fp_ml"] = Bootstrap.meanInterval(negative.map { scores[$0].predictionVolumeML }, settings: b)
        self.intervals = intervals
        let strata = settings.strata
        diceByVolume = strata.labels.indices.map { s in
            let members = positive.filter { strata.index(of: scores[$0].truthVolumeML) == s }
            return Stratum(label: strata.labels[s], cases: members.count, dice: Bootstrap.meanInterval(members.map { scores[$0].dice }, settings: b))
        }
        if let subtypes {
            let names = Set(positive.flatMap { subtypes[$0] }).sorted()
            diceBySubtype = names.map { name in
                let members = positive.filter { subtypes[$0].contains(name) }
                return Stratum(label: name, cases: members.count, dice: Bootstrap.meanInterval(members.map { scores[$0].dice }, settings: b))
            }
        } else {
            diceBySubtype = []
        }
        detection = LesionDetectionSummary(detections, strata: strata)
        volumeAgreement = VolumeAgreement(predicted: positive.map { scores[$0].predictionVolumeML },
                                          truth: positive.map { scores[$0].truthVolumeML })
        cleanNegativeCases = negative.filter { scores[$0].predictionVolumeML == 0 }.count
    }
}

extension SegmentationStatistics {
    /// A few lines for a person: Dice with its interval over positive cases, by volume stratum
    /// and subtype, lesion detection, volume agreement and the negative cases.
    public func text() -> String {
        func f(_ v: Double, _ d: Int = 3) -> String { v.isNaN ? "nan" : (v.isInfinite ? (v > 0 ? "inf" : "-inf") : String(format: "%.\(d)f", v)) }
        func ci(_ c: ConfidenceInterval?) -> String {
            guard let c, c.count > 0 else { return "-" }
            return "\(f(c.estimate)) [\(f(c.lower)), \(f(c.upper))]"
        }
        let b = settings.bootstrap
        var out = "Mean over \(positiveCases) positive cases, \(Int((b.confidence * 100).rounded()))% percentile bootstrap "
            + "(\(b.resamples) resamples over cases, seed \(b.seed)):\n"
        for name in Self.intervalMetrics { out += "  \(name): \(ci(intervals[name]))\n" }
        out += "Dice by true volume:\n"
        for s in diceByVolume { out += "  \(s.label) (n = \(s.cases)): \(ci(s.dice))\n" }
        if !diceBySubtype.isEmpty {
            out += "Dice by subtype:\n"
            for s in diceBySubtype { out += "  \(s.label) (n = \(s.cases)): \(ci(s.dice))\n" }
        }
        let d = detection
        out += "Lesions (\(d.lesionDefinition(connectivity: settings.detection.connectivity)), found when ≥ "
            + "\(f(settings.detection.minimumCoverage * 100, 0))% covered): \(d.detected) of \(d.lesions) found (\(f(d.sensitivity, 2))); "
            + "\(f(d.falsePositiveComponentsPerCase, 2)) false-positive components per case\n"
        for s in d.byVolume { out += "  \(s.label): \(s.detected) of \(s.lesions)\n" }
        let v = volumeAgreement
        out += "Volume, predicted − true over positive cases: bias \(f(v.meanDifference, 2)) mL, 95% limits "
            + "[\(f(v.lowerLimit, 2)), \(f(v.upperLimit, 2))] mL, mean |difference| \(f(v.meanAbsoluteDifference, 2)) mL, r \(f(v.correlation, 3))\n"
        if negativeCases > 0 {
            out += "Negative cases: \(cleanNegativeCases) of \(negativeCases) with no predicted voxel; mL called blood per negative case "
                + "\(ci(intervals["fp_ml"]))\n"
        }
        return out
    }
}

/// One method against a reference on the same cases: the paired difference of a per-case
/// metric with its bootstrap interval and the Wilcoxon signed-rank test.
public struct PairedDifference: Sendable, Codable, Hashable {
    /// The method (e.g. a row name).
    public var method: String
    /// The reference it is compared with.
    public var reference: String
    /// The metric (e.g. `dice`).
    public var metric: String
    /// `mean(method - reference)` over the cases where both are defined, with its paired interval.
    public var difference: ConfidenceInterval
    /// The signed-rank test of the same pairs.
    public var wilcoxon: WilcoxonSignedRank

    /// The comparison of per-case values `a` (the method) against `b` (the reference).
    /// - Precondition: `a.count == b.count`.
    public init(method: String, reference: String, metric: String, _ a: [Double], _ b: [Double],
                bootstrap: BootstrapSettings = BootstrapSettings()) {
        self.method = method
        self.reference = reference
        self.metric = metric
        difference = Bootstrap.meanDifferenceInterval(a, b, settings: bootstrap)
        wilcoxon = WilcoxonSignedRank(a, b)
    }

    /// Whether the interval excludes 0 (a difference the data can tell from none).
    public var isResolved: Bool { !difference.contains(0) && !difference.lower.isNaN }
}
