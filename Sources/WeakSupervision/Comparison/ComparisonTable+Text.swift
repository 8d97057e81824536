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
        let widths = header.indices.map { c in lines.map { $0[c].count }.max() ?? 0 }
        var out = lines.map { row in
            row.enumerated().map { c, s in
                let pad = String(repeating: " ", count: widths[c] - s.count)
                return c == 0 ? s + pad : pad + s
            }.joined(separator: "  ")
        }
        let positives = rows.first?.positiveCases ?? 0
        out.insert(String(repeating: "-", count: out[0].count), at: 1)
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
        return out.joined(separator: "\n") + "\n"
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
