import Foundation

/// A realism report of a phantom set: the HU of each tissue's pure voxels (every section of
/// the slice profile in that tissue) against the ranges published for real head CT, and the
/// lesions' subtypes, ages, densities and volumes. Fed case by case, so a whole set never sits
/// in memory.
///
///     var realism = PhantomRealism()
///     try Phantom.writeDataset(to: root, cases: 100, seed: 1, config: .realistic) { _, _, c in realism.add(c) }
///     print(realism.report().text())
public struct PhantomRealism: Sendable {
    /// The rows of the report: a name, the tissues it pools, and the HU range published for
    /// real non-contrast head CT (nil where no range is standard). Sources in Docs/phantom.md.
    public static let groups: [(name: String, tissues: [PhantomTissue], published: ClosedRange<Double>?)] = [
        ("grey matter", [.grey], 37...45),
        ("white matter", [.white], 20...30),
        ("CSF", [.csfSurface, .csfSulcus, .csfCistern, .csfVentricle, .csfMidVentricle], 0...15),
        ("hemorrhage", [.blood], 40...100),
        ("oedema", [.oedema], nil),
        ("venous sinus", [.sinus], 40...70),
        ("falx", [.falx], nil),
        ("calcification", [.calcification], 100...1000),
        ("bone", [.bone], 300...3000),
        ("scalp", [.scalp], -100...100),
    ]

    private var histograms: [[Int]] = Array(repeating: Array(repeating: 0, count: 4096), count: PhantomTissue.allCases.count)
    private var lesions: [LesionSummary] = []
    private var thickness: [String: Int] = [:]
    private var cases = 0, positive = 0

    /// An empty report.
    public init() {}

    /// Adds one case: its pure voxels' HU per tissue, its lesions and its slice thickness.
    public mutating func add(_ c: PhantomCase) {
        cases += 1
        if c.isPositive { positive += 1 }
        lesions += c.lesions
        thickness[String(format: "%g", c.scan.geometry.spacing.z), default: 0] += 1
        for p in c.tissue.voxels.indices where c.tissue.voxels[p] > 0 {
            let bin = max(0, min(4095, Int(c.scan.voxels[p]) + 1024))
            histograms[Int(c.tissue.voxels[p]) - 1][bin] += 1
        }
    }

    /// One row of the tissue table.
    public struct TissueRow: Codable, Sendable, Hashable {
        /// The row's name (``PhantomRealism/groups``).
        public var tissue: String
        /// Pure voxels counted.
        public var voxels: Int
        /// 5th percentile, median and 95th percentile of their HU (nil without voxels).
        public var p5: Double?, median: Double?, p95: Double?
        /// The published range, when there is one.
        public var published: ClosedRange<Double>?
        /// Share of the voxels inside the published range (noise included).
        public var shareInPublished: Double?
        /// Whether the median lies inside the published range.
        public var medianInPublished: Bool?
    }

    /// The report.
    public struct Report: Codable, Sendable, Hashable {
        /// Cases, and those with hemorrhage.
        public var cases: Int, positiveCases: Int
        /// Cases per slice thickness (mm, as text).
        public var sliceThicknessMM: [String: Int]
        /// The tissue table.
        public var tissues: [TissueRow]
        /// Lesions per subtype, per age (`acute` for generation 1), per density class of acute
        /// blood (generation 2: hyperacute below 55 HU, acute, retracted from 85) and per
        /// labelled volume (< 0.5, 0.5-5, 5-30, 30-100, >= 100 mL).
        public var subtypes: [String: Int], stages: [String: Int], densities: [String: Int], volumes: [String: Int]

        /// The report as a plain-text table.
        public func text() -> String {
            func f(_ v: Double?) -> String { v.map { String(format: "%.0f", $0) } ?? "-" }
            var lines = ["phantom realism: \(cases) cases, \(positiveCases) with hemorrhage; slice thickness (mm: cases) "
                + sliceThicknessMM.sorted { Double($0.key)! < Double($1.key)! }.map { "\($0.key): \($0.value)" }.joined(separator: ", "),
                "",
                "tissue (pure voxels)      voxels        p5   median   p95   published   in range   median in range"]
            for r in tissues {
                let range = r.published.map { "\(f($0.lowerBound))..\(f($0.upperBound))" } ?? "-"
                let share = r.shareInPublished.map { String(format: "%.2f", $0) } ?? "-"
                let median = r.medianInPublished.map { $0 ? "yes" : "NO" } ?? "-"
                lines.append(r.tissue.padding(toLength: 24, withPad: " ", startingAt: 0)
                    + String(format: "%10d", r.voxels) + "  " + f(r.p5).leftPadded(6) + "  " + f(r.median).leftPadded(6)
                    + "  " + f(r.p95).leftPadded(6) + "  " + range.leftPadded(10) + "  " + share.leftPadded(8) + "  " + median.leftPadded(8))
            }
            func counts(_ title: String, _ d: [String: Int], order: [String]) -> String {
                title + ": " + order.filter { d[$0] != nil }.map { "\($0) \(d[$0]!)" }.joined(separator: ", ")
            }
            lines.append("")
            lines.append(counts("lesions by subtype", subtypes, order: HemorrhageSubtype.allCases.map(\.rawValue)))
            lines.append(counts("lesions by age", stages, order: HemorrhageStage.allCases.map(\.rawValue)))
            lines.append(counts("acute lesions by density", densities, order: Self.densityOrder))
            lines.append(counts("lesions by labelled volume", volumes, order: Self.volumeOrder))
            return lines.joined(separator: "\n") + "\n"
        }

        static let densityOrder = ["hyperacute (< 55 HU)", "acute (55-85 HU)", "retracted (>= 85 HU)", "one density (generation 1)"]
        static let volumeOrder = ["< 0.5 mL", "0.5-5 mL", "5-30 mL", "30-100 mL", ">= 100 mL"]

        /// Writes `realism.json` and `realism.txt` into `folder`, each atomically.
        /// - Throws: `.outputExists` for a file present without `overwrite`, `.io`.
        public func write(to folder: URL, overwrite: Bool) throws {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let json = try encoder.encode(self) + Data("\n".utf8)
            for (name, data) in [("realism.json", json), ("realism.txt", Data(text().utf8))] {
                let url = folder.appendingPathComponent(name)
                try AtomicFile.write(to: url, overwrite: overwrite, extension: "." + url.pathExtension) { temp in
                    do { try data.write(to: URL(fileURLWithPath: temp)) } catch {
                        throw CTVolumeError.io(path: url.path, reason: "cannot write: \(error.localizedDescription)")
                    }
                }
            }
        }
    }

    /// The report of the cases added so far.
    public func report() -> Report {
        var rows: [TissueRow] = []
        for group in Self.groups {
            var h = [Int](repeating: 0, count: 4096)
            for t in group.tissues { for b in 0..<4096 { h[b] += histograms[Int(t.rawValue)][b] } }
            let total = h.reduce(0, +)
            func quantile(_ q: Double) -> Double? {
                guard total > 0 else { return nil }
                let target = q * Double(total - 1)
                var seen = 0
                for b in 0..<4096 {
                    seen += h[b]
                    if Double(seen) > target { return Double(b - 1024) }
                }
                return 3071
            }
            var share: Double?
            if let r = group.published, total > 0 {
                var inside = 0
                for b in 0..<4096 where r.contains(Double(b - 1024)) { inside += h[b] }
                share = Double(inside) / Double(total)
            }
            let median = quantile(0.5)
            rows.append(TissueRow(tissue: group.name, voxels: total, p5: quantile(0.05), median: median, p95: quantile(0.95),
                                  published: group.published, shareInPublished: share,
                                  medianInPublished: group.published.flatMap { r in median.map { r.contains($0) } }))
        }
        var subtypes: [String: Int] = [:], stages: [String: Int] = [:], densities: [String: Int] = [:], volumes: [String: Int] = [:]
        for l in lesions {
            subtypes[l.subtype.rawValue, default: 0] += 1
            stages[(l.stage ?? .acute).rawValue, default: 0] += 1
            if let d = l.densityHU {
                if l.stage == nil || l.stage == .acute {
                    let name = d < 55 ? Report.densityOrder[0] : d < 85 ? Report.densityOrder[1] : Report.densityOrder[2]
                    densities[name, default: 0] += 1
                }
            } else {
                densities[Report.densityOrder[3], default: 0] += 1
            }
            let v = l.volumeML
            let bin = v < 0.5 ? 0 : v < 5 ? 1 : v < 30 ? 2 : v < 100 ? 3 : 4
            volumes[Report.volumeOrder[bin], default: 0] += 1
        }
        return Report(cases: cases, positiveCases: positive, sliceThicknessMM: thickness, tissues: rows,
                      subtypes: subtypes, stages: stages, densities: densities, volumes: volumes)
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
