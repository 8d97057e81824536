import Foundation
import Metrics

/// Two arms compared on the same cases, each arm one or more comparison tables of one
/// configuration (replicates: runs that differ only in their seeds), row by row.
///
/// A difference between two configurations is only a finding when it is larger than what the
/// seeds alone move: on the full preset's validation cases, the refiner's seed alone moved the
/// U-Net-alone Dice by up to 0.07 (Docs/experiments/2026-12-06-classifier-sequence-length.md).
/// So each case's score is first averaged over an arm's replicates, and the paired difference
/// arm − base is then bootstrapped over the cases (``PairedDifference``):
///
/// - Dice over the positive cases (reference non-empty);
/// - mL called blood (``SegmentationScores/predictionVolumeML``) over the negative cases;
/// - and the negative cases each arm left empty in every replicate.
///
/// ```swift
/// let base = try paths.map { try ComparisonTable.decode(Data(contentsOf: $0)) }
/// let comparison = try ReplicateComparison(base: base, arm: armTables)
/// print(comparison.text())
/// let row = comparison[Pipeline.pipelineRow]!
/// if row.isNonInferior(diceMargin: 0.02, millilitreMargin: 1) { ... }
/// ```
public struct ReplicateComparison: Sendable, Codable {
    /// One arm's scores of one row.
    public struct ArmScores: Sendable, Codable, Hashable {
        /// Mean Dice over the positive cases, per replicate (table), in the order given.
        public var dicePerReplicate: [Double]
        /// Mean over the positive cases of each case's Dice averaged over the replicates.
        public var dice: Double
        /// Mean over the negative cases of each case's mL called blood averaged over the
        /// replicates (NaN without negative cases).
        public var millilitresPerNegativeCase: Double
        /// Negative cases with no voxel called blood in any replicate.
        public var cleanNegativeCases: Int
    }

    /// One row (method) in both arms.
    public struct Row: Sendable, Codable {
        /// The row's method name, as the tables spell it.
        public var method: String
        /// The base arm's scores.
        public var base: ArmScores
        /// The other arm's scores.
        public var arm: ArmScores
        /// Arm − base in per-case Dice (averaged over each arm's replicates), over the positive cases.
        public var dice: PairedDifference
        /// Arm − base in per-case mL called blood (averaged likewise), over the negative cases
        /// (nil without negative cases).
        public var millilitres: PairedDifference?

        /// The project's guard for adopting a change that is not meant to lose Dice: the lower
        /// end of the Dice difference's interval above `-diceMargin`, and the mean mL called
        /// blood per negative case not higher by `millilitreMargin` or more.
        public func isNonInferior(diceMargin: Double, millilitreMargin: Double) -> Bool {
            guard dice.difference.lower > -diceMargin else { return false }
            guard let m = millilitres else { return true }
            return !(m.difference.estimate >= millilitreMargin)
        }
    }

    /// Replicates (tables) in the base arm and in the other arm.
    public var replicates: (base: Int, arm: Int) {
        (rows.first?.base.dicePerReplicate.count ?? 0, rows.first?.arm.dicePerReplicate.count ?? 0)
    }
    /// The cases, in the tables' order.
    public var caseNames: [String]
    /// Positive and negative cases (by the base's first table's references).
    public var positiveCases: Int, negativeCases: Int
    /// The rows present in every table of both arms, in the base's first table's order (or
    /// the order asked for).
    public var rows: [Row]
    /// What the tables were evaluated on (the base's first table's).
    public var evaluatedOn: String?
    /// Pairs of tables of one arm (by their `sources` names) that score every case of every
    /// row they share identically: possibly one training counted as two replicates (a refiner
    /// seed that collapsed and was restarted as the next replicate's seed did until 2026-12-06,
    /// or one file given twice), though two trainings that both end empty match as well. The
    /// comparison is still made; the text warns. nil when there is none.
    public var identicalReplicates: [[String]]?

    /// The row named `method`, if compared.
    public subscript(method: String) -> Row? { rows.first { $0.method == method } }

    /// Compares `arm` with `base`.
    ///
    /// - Parameters:
    ///   - base: the reference arm's tables, one per replicate (at least one).
    ///   - arm: the other arm's tables (at least one).
    ///   - methods: the rows to compare (nil: every row present in all tables).
    ///   - bootstrap: resamples, confidence and seed of every interval.
    ///   - sources: what errors call each table, base tables first, then the arm's (e.g. the
    ///     files they were read from); nil: "base table 1", "arm table 2", ...
    /// - Throws: ``WeakSupervisionError/emptyInput(what:)`` for an arm without tables,
    ///   ``WeakSupervisionError/invalidParameter(name:reason:)`` naming the table whose cases
    ///   differ from the base's first, or whose references disagree on which cases are
    ///   positive, a requested row missing from a table (named), no row common to all tables,
    ///   `sources` of the wrong count, or invalid bootstrap settings.
    public init(base: [ComparisonTable], arm: [ComparisonTable], methods: [String]? = nil,
                bootstrap: BootstrapSettings = BootstrapSettings(), sources: [String]? = nil) throws {
        try bootstrap.validate()
        guard let first = base.first else { throw WeakSupervisionError.emptyInput(what: "the base arm's comparison tables") }
        guard !arm.isEmpty else { throw WeakSupervisionError.emptyInput(what: "the other arm's comparison tables") }
        if let sources, sources.count != base.count + arm.count {
            throw WeakSupervisionError.invalidParameter(name: "sources", reason: "\(sources.count) names for \(base.count + arm.count) tables")
        }
        let names = sources ?? (base.indices.map { "base table \($0 + 1)" } + arm.indices.map { "arm table \($0 + 1)" })
        let labelled = Array(zip(names, base + arm))
        for (label, table) in labelled where table.caseNames != first.caseNames {
            let missing = Set(first.caseNames).subtracting(table.caseNames).sorted().prefix(3)
            let extra = Set(table.caseNames).subtracting(first.caseNames).sorted().prefix(3)
            throw WeakSupervisionError.invalidParameter(
                name: label, reason: "its cases differ from \(names[0])'s (\(table.caseNames.count) against \(first.caseNames.count)"
                    + (missing.isEmpty ? "" : "; missing \(missing.joined(separator: ", "))")
                    + (extra.isEmpty ? "" : "; not in \(names[0]): \(extra.joined(separator: ", "))")
                    + (missing.isEmpty && extra.isEmpty ? "; another order" : "") + ")")
        }
        let compared = methods ?? first.rows.map(\.method).filter { m in labelled.allSatisfy { $0.1[m] != nil } }
        if let methods {
            for m in methods { for (label, table) in labelled where table[m] == nil {
                throw WeakSupervisionError.invalidParameter(name: label, reason: "no row '\(m)'; its rows: \(table.rows.map(\.method).joined(separator: "; "))")
            } }
        }
        guard let anyRow = compared.first.flatMap({ first[$0] }) else {
            throw WeakSupervisionError.invalidParameter(name: "rows", reason: "no row is present in every table of both arms")
        }
        let positive = anyRow.cases.map { $0.scores.truthVolumeML > 0 }
        for (label, table) in labelled {
            for row in table.rows where compared.contains(row.method) && row.cases.map({ $0.scores.truthVolumeML > 0 }) != positive {
                throw WeakSupervisionError.invalidParameter(
                    name: label, reason: "row '\(row.method)' calls other cases positive than \(names[0]) (another reference?)")
            }
        }
        caseNames = first.caseNames
        positiveCases = positive.filter { $0 }.count
        negativeCases = positive.count - positiveCases
        evaluatedOn = first.evaluatedOn
        let positives = positive.indices.filter { positive[$0] }, negatives = positive.indices.filter { !positive[$0] }

        func scores(_ tables: [ComparisonTable], _ method: String) -> (ArmScores, dice: [Double], ml: [Double]) {
            let rows = tables.map { $0[method]! }
            func averaged(_ i: Int, _ value: (SegmentationScores) -> Double) -> Double {
                let defined = rows.map { value($0.cases[i].scores) }.filter { !$0.isNaN }
                return defined.isEmpty ? .nan : NumPyReductions.mean(defined)
            }
            let dice = positives.map { averaged($0) { $0.dice } }
            let ml = negatives.map { averaged($0) { $0.predictionVolumeML } }
            let clean = negatives.filter { i in rows.allSatisfy { $0.cases[i].scores.predictionVolumeML == 0 } }.count
            let definedDice = dice.filter { !$0.isNaN }
            return (ArmScores(dicePerReplicate: rows.map(\.meanDice),
                              dice: definedDice.isEmpty ? .nan : NumPyReductions.mean(definedDice),
                              millilitresPerNegativeCase: ml.isEmpty ? .nan : NumPyReductions.mean(ml),
                              cleanNegativeCases: clean), dice, ml)
        }
        var identical: [[String]] = []
        for (tables, offset) in [(base, 0), (arm, base.count)] {
            for i in tables.indices { for j in tables.indices where j > i && Self.sameScores(tables[i], tables[j]) {
                identical.append([names[offset + i], names[offset + j]])
            } }
        }
        identicalReplicates = identical.isEmpty ? nil : identical
        rows = compared.map { method in
            let (b, bd, bm) = scores(base, method), (a, ad, am) = scores(arm, method)
            return Row(method: method, base: b, arm: a,
                       dice: PairedDifference(method: "arm", reference: "base", metric: "dice", ad, bd, bootstrap: bootstrap),
                       millilitres: negatives.isEmpty ? nil
                           : PairedDifference(method: "arm", reference: "base", metric: "predictionVolumeML", am, bm, bootstrap: bootstrap))
        }
    }

    /// The warning for a pair of ``identicalReplicates``.
    public static func identicalWarning(_ pair: [String]) -> String {
        "warning: \(pair.joined(separator: " and ")) score every case of every row identically: possibly one training counted as "
            + "two replicates (a collapsed seed restarted as the next replicate's, or one table given twice)"
    }

    /// Whether two tables score every case of every row they share alike (Dice and predicted
    /// volume; NaN equal to NaN).
    static func sameScores(_ a: ComparisonTable, _ b: ComparisonTable) -> Bool {
        let shared = a.rows.filter { b[$0.method] != nil }
        guard !shared.isEmpty else { return false }
        return shared.allSatisfy { row in
            let other = b[row.method]!
            return row.cases.count == other.cases.count && zip(row.cases, other.cases).allSatisfy {
                $0.scores.dice.sameSummaryNumber($1.scores.dice) && $0.scores.predictionVolumeML.sameSummaryNumber($1.scores.predictionVolumeML)
            }
        }
    }

    /// A table: per row, each arm's Dice (mean over seeds of the per-case means) with its
    /// replicates' range, the paired difference and its interval, mL per negative case and
    /// the negative cases clean in every replicate; then one warning line per pair of
    /// ``identicalReplicates``.
    public func text() -> String {
        func f(_ v: Double, _ d: Int = 3) -> String { ComparisonTable.number(v, d) }
        func signed(_ v: Double, _ d: Int = 3) -> String { v.isNaN ? "nan" : (v >= 0 ? "+" : "") + f(v, d) }
        func range(_ s: ArmScores) -> String {
            guard let lo = s.dicePerReplicate.min(), let hi = s.dicePerReplicate.max(), s.dicePerReplicate.count > 1 else { return f(s.dice) }
            return "\(f(s.dice)) (\(f(lo))–\(f(hi)))"
        }
        let n = replicates
        var lines: [[String]] = [["method", "base Dice (\(n.base))", "arm Dice (\(n.arm))", "arm − base [CI]",
                                  "mL per negative case, base → arm, difference [CI]", "clean negatives, base → arm"]]
        for r in rows {
            let d = r.dice.difference
            lines.append([r.method, range(r.base), range(r.arm), "\(signed(d.estimate)) [\(signed(d.lower)), \(signed(d.upper))]",
                          negativeCases == 0 ? "-" : "\(f(r.base.millilitresPerNegativeCase, 2)) → \(f(r.arm.millilitresPerNegativeCase, 2))"
                              + (r.millilitres.map { m in
                                  let d = m.difference
                                  return ", \(signed(d.estimate, 2)) [\(signed(d.lower, 2)), \(signed(d.upper, 2))]"
                              } ?? ""),
                          negativeCases == 0 ? "-" : "\(r.base.cleanNegativeCases) → \(r.arm.cleanNegativeCases) of \(negativeCases)"])
        }
        var out = ComparisonTable.align(lines)
        out.append("")
        let confidence = rows.first.map { Int(($0.dice.difference.confidence * 100).rounded()) } ?? 95
        out.append("\(positiveCases) positive and \(negativeCases) negative cases; each case's score averaged over an arm's replicates "
                   + "(base \(n.base), arm \(n.arm)), then arm − base bootstrapped over cases (\(confidence)% interval). "
                   + "Dice over positive cases (its replicates' range in parentheses); mL called blood over negative cases; "
                   + "clean: no voxel in any replicate.")
        if let evaluatedOn { out.append("evaluated on: \(evaluatedOn)") }
        for pair in identicalReplicates ?? [] {
            out.append(Self.identicalWarning(pair))
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// The comparison as JSON (sorted keys, pretty; non-finite numbers as `"nan"`, `"inf"`), as
    /// ``ComparisonTable/jsonData()`` writes tables.
    public func jsonData() throws -> Data { try ComparisonTable.encoder.encode(self) }

    enum CodingKeys: String, CodingKey { case caseNames, positiveCases, negativeCases, rows, evaluatedOn, identicalReplicates }
}
