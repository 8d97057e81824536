import Foundation
import Metrics

extension ComparisonTable {
    /// The table as fixed-width text, one line per method:
    ///
    ///     method | Dice (pos) | Dice mean ± sd | IoU | precision | recall | HD95 mm | ASSD mm | NSD | FP vox/neg | neg w/o FP | s/case
    ///
    /// Dice, IoU, precision, recall (means), HD95 and ASSD (MedPy, medians: a single empty
    /// prediction makes the mean infinite) and NSD are over positive cases; the false-positive
    /// columns over negative cases. Followed by the classifier's slice scores when present, then
    /// the ``ComparisonTable/notes``, a line each.
    /// Non-finite values print as `inf` / `nan`.
    public func text() -> String {
        let header = ["method", "Dice", "± sd", "IoU", "prec", "recall", "HD95*", "ASSD*", "NSD", "FP/neg", "neg 0FP", "s/case"]
        var lines: [[String]] = [header]
        for r in rows {
            func mean(_ k: String) -> String { Self.number(r.positive[k]?.mean ?? .nan, 3) }
            func median(_ k: String) -> String { Self.number(r.positive[k]?.median ?? .nan, 1) }
            let negatives = r.falsePositiveVoxels.count
            lines.append([r.method, mean("dice"), Self.number(r.positive["dice"]?.standardDeviation ?? .nan, 3), mean("iou"),
                          mean("precision"), mean("recall"), median("medpy_hd95"), median("medpy_assd"), mean("sd_nsd"),
                          Self.number(r.meanFalsePositiveVoxels, 0), "\(r.negativesWithoutFalsePositives)/\(negatives)",
                          Self.number(r.secondsPerCase, 2)])
        }
        var out = Self.align(lines)
        let positives = rows.first?.positiveCases ?? 0
        out.append("")
        out.append("\(caseNames.count) held-out cases (\(positives) positive, \(caseNames.count - positives) negative). "
                   + "Dice, IoU, precision, recall, NSD (tolerance \(Self.number(tolerance, 2)) mm): means over positive cases; "
                   + "HD95*, ASSD*: MedPy, medians over positive cases, mm; FP/neg: mean predicted voxels on a negative case; "
                   + "neg 0FP: negative cases without a false-positive voxel.")
        if let c = classification {
            out.append(String(format: "classifier on the same cases' slices: AUC %.3f, accuracy %.3f, sensitivity %.3f, specificity %.3f (at %.2f)",
                              c.auc, c.accuracy, c.sensitivity, c.specificity, c.threshold))
        }
        out += notes ?? []
        if let e = evaluatedOn { out.append("evaluated on: \(e)") }
        out += statisticsText()
        return out.joined(separator: "\n") + "\n"
    }

    /// What a true lesion was in `statistics`' detection (``LesionDetectionSummary/lesionDefinition(connectivity:)``).
    static func lesionRule(_ statistics: SegmentationStatistics) -> String {
        let d = statistics.detection
        let text = d.lesionDefinition(connectivity: statistics.settings.detection.connectivity)
        return "Lesions: " + (d.casesWithLabelledLesions == 0 ? "3-D " + text : text)
    }

    /// The lines of the statistics block (empty before ``withStatistics(_:subtypes:pairs:)``):
    /// Dice with its interval, by volume stratum, lesion detection and volume agreement per row;
    /// then the paired differences.
    func statisticsText() -> [String] {
        let withStats = rows.filter { $0.statistics != nil }
        guard let first = withStats.first?.statistics else { return [] }
        func ci(_ c: ConfidenceInterval?, _ digits: Int = 3) -> String {
            guard let c, c.count > 0 else { return "-" }
            return "\(Self.number(c.estimate, digits)) [\(Self.number(c.lower, digits)), \(Self.number(c.upper, digits))]"
        }
        let b = first.settings.bootstrap
        var header = ["method", "Dice [\(Int((b.confidence * 100).rounded()))% CI]"]
        header += first.diceByVolume.map { "\($0.label) (n=\($0.cases))" }
        header += ["lesions found", "FP comp/case", "vol bias [LoA] mL", "|Δvol| mL", "FP mL/neg"]
        var lines: [[String]] = [header]
        for r in withStats {
            let st = r.statistics!
            var line = [r.method, ci(st.intervals["dice"])]
            line += st.diceByVolume.map { $0.cases > 0 ? ci($0.dice, 2) : "-" }
            let d = st.detection, v = st.volumeAgreement
            line.append("\(d.detected)/\(d.lesions) (\(Self.number(d.sensitivity, 2)))")
            line.append(Self.number(d.falsePositiveComponentsPerCase, 2))
            line.append("\(Self.number(v.meanDifference, 1)) [\(Self.number(v.lowerLimit, 1)), \(Self.number(v.upperLimit, 1))]")
            line.append(Self.number(v.meanAbsoluteDifference, 1))
            line.append(st.negativeCases > 0 ? Self.number(st.intervals["fp_ml"]?.estimate ?? .nan, 2) : "-")
            lines.append(line)
        }
        var out = [""]
        out += Self.align(lines)
        out.append("Intervals: percentile bootstrap over cases, \(b.resamples) resamples, seed \(b.seed). Strata by true volume. "
                   + Self.lesionRule(first) + ", found when "
                   + "≥ \(Self.number(first.settings.detection.minimumCoverage * 100, 0))% covered; FP comp: predicted components touching no true voxel. "
                   + "Volume: predicted − true over positive cases, Bland-Altman 95% limits.")
        if !first.diceBySubtype.isEmpty {
            out.append("")
            let names = first.diceBySubtype.map(\.label)
            var sub: [[String]] = [["method"] + first.diceBySubtype.map { "\($0.label) (n=\($0.cases))" }]
            for r in withStats {
                let bySub = Dictionary(uniqueKeysWithValues: r.statistics!.diceBySubtype.map { ($0.label, $0) })
                sub.append([r.method] + names.map { ci(bySub[$0]?.dice, 2) })
            }
            out += Self.align(sub)
            out.append("Dice by subtype: positive cases holding each subtype (a case may hold several).")
        }
        if let comparisons, !comparisons.isEmpty {
            out.append("")
            out.append("Paired Dice differences over positive cases (method − reference, \(Int((b.confidence * 100).rounded()))% CI, Wilcoxon signed-rank p):")
            for c in comparisons {
                let w = c.wilcoxon
                let sign = c.difference.estimate >= 0 ? "+" : ""
                out.append("  \(c.method) − \(c.reference): \(sign)\(Self.number(c.difference.estimate, 3)) "
                           + "[\(Self.number(c.difference.lower, 3)), \(Self.number(c.difference.upper, 3))], "
                           + "p = \(Self.pValue(w.pValue)) (\(w.method.rawValue), n = \(w.pairs))"
                           + (c.isResolved ? "" : "  (interval holds 0: no difference shown)"))
            }
        }
        return out
    }

    /// Columns aligned: the first left, the others right, two spaces apart, a rule under the header.
    static func align(_ lines: [[String]]) -> [String] {
        let widths = lines[0].indices.map { c in lines.map { $0[c].count }.max() ?? 0 }
        var out = lines.map { row in
            row.enumerated().map { c, s in
                let pad = String(repeating: " ", count: widths[c] - s.count)
                return c == 0 ? s + pad : pad + s
            }.joined(separator: "  ")
        }
        out.insert(String(repeating: "-", count: out[0].count), at: 1)
        return out
    }

    static func pValue(_ p: Double) -> String {
        if p.isNaN { return "nan" }
        return p < 0.001 ? String(format: "%.1e", p) : String(format: "%.3f", p)
    }

    /// The table as JSON (sorted keys, pretty), non-finite numbers written as the strings
    /// `"inf"`, `"-inf"` and `"nan"` (JSON has no such numbers).
    public func jsonData() throws -> Data {
        try Self.encoder.encode(self)
    }

    /// Reads a table written by ``jsonData()``.
    public static func decode(_ data: Data) throws -> ComparisonTable {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(ComparisonTable.self, from: data)
    }

    /// The encoder the project uses for results with possibly non-finite numbers.
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    static func number(_ value: Double, _ digits: Int) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        return String(format: "%.\(digits)f", value)
    }
}
