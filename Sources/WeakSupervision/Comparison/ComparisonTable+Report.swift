import Foundation
import Metrics

extension ComparisonTable {
    /// Every row's every case as CSV, one line per (method, case):
    ///
    ///     method,case,positive,dice,iou,precision,recall,medpy_hd95,sd_nsd,volume_pred_ml,volume_truth_ml,lesions,lesions_found,fp_components,lesion_source
    ///
    /// Non-finite values are written `nan` / `inf`; lesion columns are empty in tables
    /// written before detections existed. `lesion_source` is `components` (true lesions are
    /// connected components) or `labels` (one per label of the case's lesion map).
    public func csv() -> String {
        let metrics = ["dice", "iou", "precision", "recall", "medpy_hd95", "sd_nsd", "volume_pred_ml", "volume_truth_ml"]
        var out = "method,case,positive," + metrics.joined(separator: ",") + ",lesions,lesions_found,fp_components,lesion_source\n"
        for r in rows {
            for (i, c) in r.cases.enumerated() {
                let m = c.scores.metrics
                var fields = [SegmentationReport.csvField(r.method), SegmentationReport.csvField(c.name), c.scores.truthVolumeML > 0 ? "1" : "0"]
                fields += metrics.map { SegmentationReport.format(m[$0] ?? .nan) }
                if let d = r.detections?[i] {
                    fields += ["\(d.truthLesions)", "\(d.detectedLesions)", "\(d.falsePositiveComponents)", d.lesionSource.rawValue]
                } else {
                    fields += ["", "", "", ""]
                }
                out += fields.joined(separator: ",") + "\n"
            }
        }
        return out
    }

    /// One line per row with its statistics (empty without ``withStatistics(_:subtypes:pairs:)``),
    /// then, after a blank line, one line per paired difference:
    ///
    ///     method,positive_cases,dice,dice_lower,dice_upper,<stratum>_n,<stratum>_dice,<stratum>_lower,<stratum>_upper,...,
    ///     lesions,lesions_found,lesion_sensitivity,fp_components_per_case,volume_bias_ml,loa_lower_ml,loa_upper_ml,
    ///     volume_mad_ml,volume_r,negative_cases,clean_negatives,fp_ml_per_negative,lesion_map_cases
    ///     method,reference,metric,difference,lower,upper,wilcoxon_statistic,wilcoxon_p,wilcoxon_method,pairs
    public func summaryCSV() -> String {
        guard let first = rows.compactMap(\.statistics).first else { return "" }
        let strata = first.diceByVolume.map { $0.label.replacingOccurrences(of: " ", with: "") }
        var header = ["method", "positive_cases", "dice", "dice_lower", "dice_upper"]
        for s in strata { header += ["\(s)_n", "\(s)_dice", "\(s)_lower", "\(s)_upper"] }
        header += ["lesions", "lesions_found", "lesion_sensitivity", "fp_components_per_case", "volume_bias_ml", "loa_lower_ml",
                   "loa_upper_ml", "volume_mad_ml", "volume_r", "negative_cases", "clean_negatives", "fp_ml_per_negative",
                   "lesion_map_cases"]
        var out = header.map(SegmentationReport.csvField).joined(separator: ",") + "\n"
        for r in rows {
            guard let st = r.statistics else { continue }
            let dice = st.intervals["dice"]
            var f = [SegmentationReport.csvField(r.method), "\(st.positiveCases)"]
            f += [dice?.estimate, dice?.lower, dice?.upper].map { SegmentationReport.format($0 ?? .nan) }
            for s in st.diceByVolume { f += ["\(s.cases)"] + [s.dice.estimate, s.dice.lower, s.dice.upper].map(SegmentationReport.format) }
            let d = st.detection, v = st.volumeAgreement
            f += ["\(d.lesions)", "\(d.detected)"]
            f += [d.sensitivity, d.falsePositiveComponentsPerCase, v.meanDifference, v.lowerLimit, v.upperLimit,
                  v.meanAbsoluteDifference, v.correlation].map(SegmentationReport.format)
            f += ["\(st.negativeCases)", "\(st.cleanNegativeCases)", SegmentationReport.format(st.intervals["fp_ml"]?.estimate ?? .nan),
                  "\(d.casesWithLabelledLesions)"]
            out += f.joined(separator: ",") + "\n"
        }
        if let comparisons, !comparisons.isEmpty {
            out += "\nmethod,reference,metric,difference,lower,upper,wilcoxon_statistic,wilcoxon_p,wilcoxon_method,pairs\n"
            for c in comparisons {
                out += [SegmentationReport.csvField(c.method), SegmentationReport.csvField(c.reference), c.metric,
                        SegmentationReport.format(c.difference.estimate), SegmentationReport.format(c.difference.lower), SegmentationReport.format(c.difference.upper),
                        SegmentationReport.format(c.wilcoxon.statistic), SegmentationReport.format(c.wilcoxon.pValue), c.wilcoxon.method.rawValue,
                        "\(c.wilcoxon.pairs)"].joined(separator: ",") + "\n"
            }
        }
        return out
    }

    /// A picture to show in ``html(title:images:)``: a caption and PNG bytes.
    public struct ReportImage: Sendable {
        /// Shown above the picture.
        public var caption: String
        /// The PNG file's bytes (embedded as a data URL).
        public var png: Data
        /// An image.
        public init(caption: String, png: Data) {
            self.caption = caption
            self.png = png
        }
    }

    /// A self-contained HTML report (no network access, no external file): the text table, a
    /// forest plot of every row's Dice interval, the paired differences, a Dice-against-true-
    /// volume scatter per row (log volume axis) and the given pictures (e.g. montages), inline
    /// as SVG and data URLs.
    public func html(title: String = "ichct comparison", images: [ReportImage] = []) -> String {
        var body = "<h1>\(Self.escape(title))</h1>\n"
        if let e = evaluatedOn { body += "<p>Evaluated on: \(Self.escape(e))</p>\n" }
        body += "<h2>Table</h2>\n<pre>\(Self.escape(text()))</pre>\n"
        if rows.contains(where: { $0.statistics != nil }) {
            body += "<h2>Mean Dice over positive cases, with intervals</h2>\n" + forestPlot() + "\n"
        }
        if let comparisons, !comparisons.isEmpty {
            body += "<h2>Paired differences</h2>\n" + pairedPlot(comparisons) + "\n"
        }
        body += "<h2>Dice against true volume, per case</h2>\n<div class=\"grid\">\n"
        for r in rows { body += scatter(r) + "\n" }
        body += "</div>\n"
        if !images.isEmpty {
            body += "<h2>Montages</h2>\n"
            for image in images {
                body += "<figure><figcaption>\(Self.escape(image.caption))</figcaption>"
                    + "<img alt=\"\(Self.escape(image.caption))\" src=\"data:image/png;base64,\(image.png.base64EncodedString())\"></figure>\n"
            }
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(Self.escape(title))</title>
            <style>
            body { font-family: sans-serif; margin: 2em; color: #222; }
            pre { font-size: 12px; background: #f6f6f6; padding: 1em; overflow-x: auto; }
            .grid { display: flex; flex-wrap: wrap; gap: 12px; }
            figure { margin: 1em 0; } img { max-width: 100%; }
            svg text { font-size: 11px; }
            </style></head><body>
            \(body)</body></html>

            """
    }

    /// Rows as horizontal intervals on a 0...1 Dice axis.
    func forestPlot() -> String {
        let stats = rows.filter { $0.statistics != nil }
        let label = 330.0, width = 300.0, rowHeight = 22.0
        let height = Double(stats.count) * rowHeight + 40
        func x(_ v: Double) -> Double { label + max(0, min(1, v)) * width }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(label + width + 20))\" height=\"\(Int(height))\">"
        for t in stride(from: 0.0, through: 1.0, by: 0.25) {
            svg += "<line x1=\"\(x(t))\" y1=\"10\" x2=\"\(x(t))\" y2=\"\(height - 25)\" stroke=\"#ddd\"/>"
                + "<text x=\"\(x(t) - 8)\" y=\"\(height - 10)\">\(String(format: "%.2f", t))</text>"
        }
        for (i, r) in stats.enumerated() {
            let y = 20 + Double(i) * rowHeight
            let c = r.statistics!.intervals["dice"]!
            svg += "<text x=\"4\" y=\"\(y + 4)\">\(Self.escape(r.method))</text>"
            if c.count > 0 && !c.lower.isNaN {
                svg += "<line x1=\"\(x(c.lower))\" y1=\"\(y)\" x2=\"\(x(c.upper))\" y2=\"\(y)\" stroke=\"#333\" stroke-width=\"2\"/>"
                    + "<circle cx=\"\(x(c.estimate))\" cy=\"\(y)\" r=\"4\" fill=\"#c33\"/>"
            }
        }
        return svg + "</svg>"
    }

    /// Paired differences on a symmetric axis around 0.
    func pairedPlot(_ comparisons: [PairedDifference]) -> String {
        let label = 520.0, width = 300.0, rowHeight = 22.0
        let span = max(0.05, comparisons.map { max(abs($0.difference.lower), abs($0.difference.upper)) }.filter { $0.isFinite }.max() ?? 0.05)
        let height = Double(comparisons.count) * rowHeight + 40
        func x(_ v: Double) -> Double { label + (max(-span, min(span, v)) + span) / (2 * span) * width }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(label + width + 20))\" height=\"\(Int(height))\">"
        svg += "<line x1=\"\(x(0))\" y1=\"10\" x2=\"\(x(0))\" y2=\"\(height - 25)\" stroke=\"#999\"/>"
        for t in [-span, 0, span] { svg += "<text x=\"\(x(t) - 12)\" y=\"\(height - 10)\">\(String(format: "%+.3f", t))</text>" }
        for (i, c) in comparisons.enumerated() {
            let y = 20 + Double(i) * rowHeight
            svg += "<text x=\"4\" y=\"\(y + 4)\">\(Self.escape("\(c.method) − \(c.reference)  (p = \(Self.pValue(c.wilcoxon.pValue)))"))</text>"
            if !c.difference.lower.isNaN {
                svg += "<line x1=\"\(x(c.difference.lower))\" y1=\"\(y)\" x2=\"\(x(c.difference.upper))\" y2=\"\(y)\" stroke=\"#333\" stroke-width=\"2\"/>"
                    + "<circle cx=\"\(x(c.difference.estimate))\" cy=\"\(y)\" r=\"4\" fill=\"#36c\"/>"
            }
        }
        return svg + "</svg>"
    }

    /// One row's positive cases: Dice (y, 0...1) against true volume (x, log10 mL).
    func scatter(_ r: ComparisonRow) -> String {
        let w = 260.0, h = 200.0, left = 34.0, bottom = 28.0
        let points = r.cases.map { ($0.scores.truthVolumeML, $0.scores.dice) }.filter { $0.0 > 0 && !$0.1.isNaN }
        let lo = -2.0, hi = max(2.5, (points.map { log10($0.0) }.max() ?? 2).rounded(.up))
        func x(_ v: Double) -> Double { left + (min(max(log10(v), lo), hi) - lo) / (hi - lo) * (w - left - 8) }
        func y(_ d: Double) -> Double { (h - bottom) - d * (h - bottom - 18) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\">"
        svg += "<text x=\"4\" y=\"12\">\(Self.escape(r.method))</text>"
        svg += "<line x1=\"\(left)\" y1=\"\(y(0))\" x2=\"\(w - 8)\" y2=\"\(y(0))\" stroke=\"#999\"/>"
            + "<line x1=\"\(left)\" y1=\"\(y(0))\" x2=\"\(left)\" y2=\"\(y(1))\" stroke=\"#999\"/>"
        for e in stride(from: Int(lo), through: Int(hi), by: 1) {
            let v = pow(10, Double(e))
            svg += "<text x=\"\(x(v) - 8)\" y=\"\(h - 12)\">\(e >= 0 ? String(Int(v)) : String(format: "%g", v))</text>"
        }
        svg += "<text x=\"\(w / 2 - 30)\" y=\"\(h - 1)\">true volume, mL</text><text x=\"2\" y=\"\(y(1) + 4)\">1</text><text x=\"2\" y=\"\(y(0))\">0</text>"
        for (v, d) in points {
            svg += "<circle cx=\"\(String(format: "%.1f", x(v)))\" cy=\"\(String(format: "%.1f", y(d)))\" r=\"2.5\" fill=\"#c33\" fill-opacity=\"0.6\"/>"
        }
        return svg + "</svg>"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

}
