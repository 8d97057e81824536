import CTVolume
import Foundation
import ImageCore
import Metrics

/// One held-out case of a comparison: what a method may look at (``SegmentationCase``) and
/// the true mask it is scored against (never shown to the methods).
public struct ComparisonCase: Sendable {
    /// The method's input: scan, intracranial mask, optional CAM and slice probabilities.
    public var input: SegmentationCase
    /// The reference mask on the scan's grid (voxel > 0 is ICH).
    public var truth: MaskVolume
    /// The reference's lesions one by one, when known (a phantom's ``PhantomCase/lesionLabels``):
    /// 0 where `truth` is 0, k ≥ 1 for the voxels of lesion k. Lesion detection then counts each
    /// label as one lesion; nil (default): each connected component of `truth` is one.
    public var lesions: MaskVolume?
    /// When the input is the truth's thin slices averaged into slabs (``SliceSlabs``, from
    /// ``PipelineConfig/ComparisonSettings/thinSlices``): every method's mask and the slice
    /// probabilities are copied back to the truth's slices before they are scored
    /// (``onTruthGrid(_:)``). nil (default): the input lies on the truth's grid.
    public var slabs: SliceSlabs?
    /// When the input is a window of the truth's slices around the head (``HeadFrame``, from
    /// ``PipelineConfig/ComparisonSettings/headSpans``): every method's mask is put back on the
    /// whole slice, 0 outside the window, before it is scored (``onTruthGrid(_:)``). nil
    /// (default): the input's slices are the truth's.
    public var frame: HeadFrame?

    /// A case; `truth` and `lesions` must lie on `input.scan`'s grid (with `slabs`, on the grid
    /// of its slices: `slabs.sliceCount` of them; with `frame`, on its whole slices:
    /// `frame.height x frame.width`), and `lesions` must be non-zero exactly where
    /// `truth` is (checked by ``MethodComparison/run(methods:cases:tolerance:detection:keep:)``).
    public init(input: SegmentationCase, truth: MaskVolume, lesions: MaskVolume? = nil, slabs: SliceSlabs? = nil, frame: HeadFrame? = nil) {
        self.input = input
        self.truth = truth
        self.lesions = lesions
        self.slabs = slabs
        self.frame = frame
    }

    /// A method's mask of `input` on the truth's grid (with the truth's geometry): put back on
    /// the whole slice when the case has a frame, copied back from the slabs to their slices
    /// when it has slabs, else as it is.
    public func onTruthGrid(_ prediction: MaskVolume) -> MaskVolume {
        guard slabs != nil || frame != nil else { return prediction }
        let whole = frame?.restore(prediction, fill: 0, geometry: truth.geometry) ?? prediction
        return slabs?.expand(whole, geometry: truth.geometry) ?? whole
    }

    /// The input's slice probabilities, one per slice of the truth (each slice its slab's).
    public var sliceProbabilitiesOnTruthGrid: [Float]? {
        guard let p = input.sliceProbabilities else { return nil }
        return slabs.map { $0.expand(p) } ?? p
    }

    /// The grid the truth's voxels are measured on (spacing, voxel volume): the input scan's,
    /// or with slabs or a frame the truth's own (the slabs' voxels are thicker; the pipeline
    /// gives such a truth the geometry of the scan's slices).
    var scoringGeometry: Geometry { slabs == nil && frame == nil ? input.scan.geometry : truth.geometry }

    /// Checks the grids of `truth` and `lesions` against the scan's, and that `lesions` labels
    /// exactly the voxels `truth` does.
    /// - Throws: ``WeakSupervisionError/shapeMismatch(what:expected:got:)`` naming the case.
    public func validate() throws {
        try input.validate()
        let grid = input.scan.shape
        if let slabs {
            guard grid.z == slabs.slabCount else {
                throw WeakSupervisionError.shapeMismatch(what: "\(input.name): slabs of the input", expected: "\(slabs.slabCount)", got: "\(grid.z)")
            }
        }
        if let frame, grid.x != frame.columns || grid.y != frame.rows {
            throw WeakSupervisionError.shapeMismatch(what: "\(input.name): window of the input", expected: "\(frame.columns)x\(frame.rows)", got: "\(grid.x)x\(grid.y)")
        }
        let expected = GridShape(frame?.width ?? grid.x, frame?.height ?? grid.y, slabs?.sliceCount ?? grid.z)
        guard truth.shape == expected else {
            throw WeakSupervisionError.shapeMismatch(what: "\(input.name): reference mask grid", expected: "\(expected)", got: "\(truth.shape)")
        }
        guard let lesions else { return }
        guard lesions.shape == truth.shape else {
            throw WeakSupervisionError.shapeMismatch(what: "\(input.name): lesion map grid", expected: "\(truth.shape)", got: "\(lesions.shape)")
        }
        if let problem = Self.lesionMapMismatch(lesions, truth: truth) {
            throw WeakSupervisionError.invalidParameter(name: "\(input.name): lesion map", reason: problem)
        }
    }

    /// Where a lesion map and its mask disagree (the first voxel, as (i, j, k) of their grid,
    /// and what each holds there), or nil when the map is non-zero exactly where the mask is.
    /// - Precondition: both on one grid.
    public static func lesionMapMismatch(_ lesions: MaskVolume, truth: MaskVolume) -> String? {
        let (t, l) = (truth.voxels, lesions.voxels)
        guard let v = t.indices.first(where: { (t[$0] > 0) != (l[$0] > 0) }) else { return nil }
        let s = truth.shape, i = v % s.x, j = (v / s.x) % s.y, k = v / (s.x * s.y)
        return "voxel (\(i), \(j), \(k)) is \(l[v] > 0 ? "lesion \(l[v])" : "background") in the lesion map but "
            + "\(t[v] > 0 ? "hemorrhage" : "background") in the mask; a lesion map must label exactly the mask's voxels"
    }

    /// Whether the reference holds any hemorrhage voxel (a positive case).
    public var isPositive: Bool { truth.voxels.contains { $0 > 0 } }
}

/// One row of the comparison table (Docs/method.md#6-the-comparison): a method scored on every case.
///
/// Overlap and distance statistics are over the **positive** cases (reference non-empty);
/// negative cases (empty reference) are counted through their false-positive voxels, since
/// Dice is undefined (NaN) or 0 there and says nothing useful.
public struct ComparisonRow: Sendable, Codable {
    /// The method's name (``Segmenter/name``).
    public var method: String
    /// Every case's scores (``SegmentationScores``), positive and negative, in case order.
    public var cases: [SegmentationReport.Case]
    /// Mean ± sd (``MetricSummary``) over the positive cases of: `dice`, `iou`, `precision`,
    /// `recall`, `medpy_hd95`, `medpy_assd`, `sd_nsd` (and every other metric of
    /// ``SegmentationScores/metricNames``). NaN values (e.g. precision of an empty prediction)
    /// are left out and counted; infinite distances (an empty prediction) make mean and sd inf.
    public var positive: [String: MetricSummary]
    /// Number of positive cases.
    public var positiveCases: Int
    /// Predicted voxels on each negative case (all of them false positives), in case order.
    public var falsePositiveVoxels: [Int]
    /// Mean of ``falsePositiveVoxels`` (NaN without negative cases).
    public var meanFalsePositiveVoxels: Double
    /// How many negative cases got an empty prediction.
    public var negativesWithoutFalsePositives: Int
    /// Wall-clock seconds the method took per case (mean; scoring not included).
    public var secondsPerCase: Double
    /// Lesion detection of every case, in case order (nil in tables written before it existed).
    public var detections: [LesionDetection]?
    /// Intervals, strata, detection and volume agreement of this row
    /// (``ComparisonTable/withStatistics(_:subtypes:pairs:)``; nil until computed).
    public var statistics: SegmentationStatistics?

    /// The value of `metric` on every case, in case order (NaN where undefined).
    public func values(_ metric: String) -> [Double] { cases.map { $0.scores.metrics[metric] ?? .nan } }

    /// Mean Dice over the positive cases (NaN without positive cases).
    public var meanDice: Double { positive["dice"]?.mean ?? .nan }
}

/// The comparison table: rows of methods scored on the same cases, plus (optionally) the
/// classifier's slice-classification scores on those cases.
public struct ComparisonTable: Sendable, Codable {
    /// One row per method, in the order given.
    public var rows: [ComparisonRow]
    /// Case names in order.
    public var caseNames: [String]
    /// Surface-Dice tolerance in mm used for `sd_nsd`.
    public var tolerance: Double
    /// Slice classification on the same cases (AUC, accuracy, sensitivity, specificity at 0.5), when known.
    public var classification: SliceClassificationScores?
    /// Lines printed under the table: what a reader needs to know about how rows were made (e.g.
    /// the pipeline's growth of its refiner rows). nil in tables written before it existed.
    public var notes: [String]?
    /// Paired Dice differences between rows with their intervals and Wilcoxon tests, over the
    /// positive cases (``withStatistics(_:subtypes:pairs:)``; nil until computed).
    public var comparisons: [PairedDifference]?
    /// What the table was evaluated on, e.g. `sealed test set (200 cases, seed 7)`; nil: unsaid.
    public var evaluatedOn: String?

    /// A table; see the properties.
    public init(rows: [ComparisonRow], caseNames: [String], tolerance: Double, classification: SliceClassificationScores? = nil,
                notes: [String]? = nil) {
        self.rows = rows
        self.caseNames = caseNames
        self.tolerance = tolerance
        self.classification = classification
        self.notes = notes
    }

    /// The row named `method`, if any.
    public subscript(method: String) -> ComparisonRow? { rows.first { $0.method == method } }

    /// The table with every row's ``ComparisonRow/statistics`` and the paired differences of
    /// `pairs` (method, reference) in Dice over the positive cases.
    ///
    /// - Parameters:
    ///   - settings: bootstrap, strata and detection rule (the detections themselves were made
    ///     when the rows were scored, with ``MethodComparison/run(methods:cases:tolerance:detection:keep:)``'s rule).
    ///   - subtypes: per case name, the hemorrhage subtypes its truth holds (nil: unknown).
    ///   - pairs: (method, reference) row names; a pair naming a missing row is skipped.
    /// - Throws: invalid settings.
    public func withStatistics(_ settings: SegmentationStatistics.Settings = SegmentationStatistics.Settings(),
                               subtypes: [String: [String]]? = nil,
                               pairs: [(method: String, reference: String)] = []) throws -> ComparisonTable {
        try settings.validate()
        var out = self
        let caseSubtypes = subtypes.map { s in caseNames.map { s[$0] ?? [] } }
        for r in out.rows.indices {
            let row = out.rows[r]
            let detections = row.detections ?? []
            guard detections.count == row.cases.count else { continue }
            out.rows[r].statistics = SegmentationStatistics(scores: row.cases.map(\.scores), detections: detections,
                                                            subtypes: caseSubtypes, settings: settings)
        }
        out.comparisons = pairs.compactMap { pair in
            guard let a = self[pair.method], let b = self[pair.reference] else { return nil }
            let positive = a.cases.indices.filter { a.cases[$0].scores.truthVolumeML > 0 }
            let da = a.values("dice"), db = b.values("dice")
            return PairedDifference(method: pair.method, reference: pair.reference, metric: "dice",
                                    positive.map { da[$0] }, positive.map { db[$0] }, bootstrap: settings.bootstrap)
        }
        return out
    }
}

/// Runs methods (any ``Segmenter``) on the same cases and scores them with Metrics.
///
/// ```swift
/// let table = try MethodComparison.run(methods: [try IntensityThresholdBaseline(), builder], cases: cases)
/// print(table.text())
/// ```
public enum MethodComparison {
    /// Scores every method on every case (add intervals with ``ComparisonTable/withStatistics(_:subtypes:pairs:)``).
    ///
    /// For each method and case: `segment` is timed (wall clock), the prediction is checked to be
    /// on the case's grid, and ``SegmentationScores`` (spacing from the scan's geometry,
    /// `tolerance` in mm for the surface Dice) compares it with the truth. Then
    /// ``ComparisonRow`` aggregates: statistics over positive cases, false-positive voxels over
    /// negative cases.
    ///
    /// - Parameters:
    ///   - methods: the rows, in order.
    ///   - cases: the held-out cases (each validated).
    ///   - tolerance: surface-Dice tolerance in mm (default ``SegmentationScores/defaultTolerance``).
    ///   - keep: called with (method index, case index, prediction) for every prediction, on the
    ///     truth's grid (``ComparisonCase/onTruthGrid(_:)``), e.g. to write it (default: nothing).
    /// - Returns: the table (no classification scores; set ``ComparisonTable/classification``).
    ///   - detection: the lesion-detection rule of every row's ``ComparisonRow/detections``.
    /// - Throws: ``WeakSupervisionError/emptyInput(what:)`` without cases or methods, invalid detection settings,
    ///   ``WeakSupervisionError/shapeMismatch(what:expected:got:)`` for a truth or prediction on
    ///   another grid, and whatever a method throws.
    public static func run(methods: [any Segmenter], cases: [ComparisonCase],
                           tolerance: Double = SegmentationScores.defaultTolerance,
                           detection: LesionDetection.Settings = LesionDetection.Settings(),
                           keep: (Int, Int, MaskVolume) throws -> Void = { _, _, _ in }) throws -> ComparisonTable {
        try detection.validate()
        guard !methods.isEmpty else { throw WeakSupervisionError.emptyInput(what: "comparison methods") }
        guard !cases.isEmpty else { throw WeakSupervisionError.emptyInput(what: "comparison cases") }
        for c in cases { try c.validate() }
        return try run(methods: methods, caseCount: cases.count, loading: { cases[$0] }, tolerance: tolerance,
                       detection: detection, keep: keep)
    }

    /// Scores every method on cases loaded one at a time, so that only a few cases are in
    /// memory at once, whatever their number and size: a large test set of 512 x 512 scans
    /// fits where loading all of it would not. The same table as
    /// ``run(methods:cases:tolerance:detection:keep:)`` on the same cases.
    ///
    /// Case i + 1 is loaded on a background queue while the methods run on case i (`load` is
    /// called once per index, in order, one call at a time, on that queue); each loaded case is
    /// validated, then handed to `visit` (on the calling thread, before any method sees it), e.g.
    /// to collect slice probabilities or keep a few cases for pictures.
    ///
    /// - Parameters:
    ///   - methods: the rows, in order. - caseCount: the number of cases (at least 1).
    ///   - load: case `i` for `i` in `0 ..< caseCount`.
    ///   - tolerance, detection, keep: as for ``run(methods:cases:tolerance:detection:keep:)``.
    ///   - visit: called with (case index, case) once per case, in order.
    /// - Throws: as ``run(methods:cases:tolerance:detection:keep:)``, and whatever `load` throws
    ///   (after the cases before it were scored; no load is left running).
    public static func run(methods: [any Segmenter], caseCount: Int, loading load: @escaping (Int) throws -> ComparisonCase,
                           tolerance: Double = SegmentationScores.defaultTolerance,
                           detection: LesionDetection.Settings = LesionDetection.Settings(),
                           visit: (Int, ComparisonCase) throws -> Void = { _, _ in },
                           keep: (Int, Int, MaskVolume) throws -> Void = { _, _, _ in }) throws -> ComparisonTable {
        try detection.validate()
        guard !methods.isEmpty else { throw WeakSupervisionError.emptyInput(what: "comparison methods") }
        guard caseCount > 0 else { throw WeakSupervisionError.emptyInput(what: "comparison cases") }
        // Cases in the outer loop: every row sees case i before any row sees case i + 1, so rows
        // that share a network (RefinerSegmenter's memo) run it once per case. Case i's
        // predictions are scored on a background queue while case i + 1 is segmented (scores are
        // pure functions of the masks, so the table does not depend on the timing); at most two
        // cases' predictions wait to be scored, and at most one case is being loaded ahead.
        let results = ScoredResults(methods: methods.count, cases: caseCount)
        let scoring = DispatchQueue(label: "ichct.comparison.scoring")
        let waiting = DispatchSemaphore(value: 2)
        var seconds = [Double](repeating: 0, count: methods.count)
        var names: [String] = [], positive: [Bool] = []
        let loader = CaseLoader(UncheckedSendable(load))
        defer {
            loader.finish()       // no load outlives the call, also when a method throws
            scoring.sync {}       // nor any scoring work
        }
        loader.start(0)
        for i in 0..<caseCount {
            let c = try loader.take()
            if i + 1 < caseCount { loader.start(i + 1) }
            try c.validate()
            names.append(c.input.name)
            positive.append(c.isPositive)
            try visit(i, c)
            var predictions: [MaskVolume] = []
            for (m, method) in methods.enumerated() {
                let start = DispatchTime.now().uptimeNanoseconds
                let prediction = try method.segment(c.input)
                seconds[m] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                guard prediction.shape == c.input.scan.shape else {
                    throw WeakSupervisionError.shapeMismatch(what: "\(method.name) on \(c.input.name): prediction grid", expected: "\(c.input.scan.shape)", got: "\(prediction.shape)")
                }
                let scored = c.onTruthGrid(prediction)
                try keep(m, i, scored)
                predictions.append(scored)
            }
            waiting.wait()
            scoring.async { [predictions] in
                for (m, p) in predictions.enumerated() { results.set(m, i, ScoredCase(p, c, tolerance: tolerance, detection: detection)) }
                waiting.signal()
            }
        }
        scoring.sync {}
        let rows = methods.indices.map { m in
            row(method: methods[m].name, results.row(m), positive: positive, tolerance: tolerance, secondsPerCase: seconds[m] / Double(caseCount))
        }
        return ComparisonTable(rows: rows, caseNames: names, tolerance: tolerance)
    }

    /// Loads one case ahead on its own queue: `start(i)` begins case i, `take()` waits for it.
    private final class CaseLoader: @unchecked Sendable {
        let load: UncheckedSendable<(Int) throws -> ComparisonCase>
        let queue = DispatchQueue(label: "ichct.comparison.loading")
        let group = DispatchGroup()
        var result: Result<ComparisonCase, Error>?

        init(_ load: UncheckedSendable<(Int) throws -> ComparisonCase>) { self.load = load }

        func start(_ i: Int) {
            group.enter()
            queue.async {
                self.result = Result { try self.load.value(i) }
                self.group.leave()
            }
        }

        func take() throws -> ComparisonCase {
            group.wait()
            defer { result = nil }
            return try result!.get()
        }

        func finish() { group.wait() }
    }

    /// Scores given predictions (one per case, on its grid) as one row.
    ///
    /// - Parameters:
    ///   - method: the row's name. - predictions: masks, voxel > 0 is ICH, in case order.
    ///   - cases: the cases. - tolerance: surface-Dice tolerance in mm.
    ///   - secondsPerCase: the time to report (default NaN: unknown).
    /// - Precondition: one prediction per case, each on its case's grid.
    public static func score(method: String, predictions: [MaskVolume], cases: [ComparisonCase],
                             tolerance: Double = SegmentationScores.defaultTolerance,
                             detection: LesionDetection.Settings = LesionDetection.Settings(),
                             secondsPerCase: Double = .nan) -> ComparisonRow {
        precondition(predictions.count == cases.count, "score: \(predictions.count) predictions for \(cases.count) cases")
        let scored = zip(predictions, cases).map { ScoredCase($0, $1, tolerance: tolerance, detection: detection) }
        return row(method: method, scored, positive: cases.map(\.isPositive), tolerance: tolerance, secondsPerCase: secondsPerCase)
    }

    /// Scored cases per method, filled by the scoring queue (one writer at a time, read after it drains).
    final class ScoredResults: @unchecked Sendable {
        private var scored: [[ScoredCase?]]
        init(methods: Int, cases: Int) { scored = Array(repeating: Array(repeating: nil, count: cases), count: methods) }
        func set(_ m: Int, _ i: Int, _ s: ScoredCase) { scored[m][i] = s }
        func row(_ m: Int) -> [ScoredCase] { scored[m].map { $0! } }
    }

    /// One prediction scored against its case's truth.
    struct ScoredCase: Sendable {
        let item: SegmentationReport.Case
        let detection: LesionDetection
        let predictedVoxels: Int

        init(_ prediction: MaskVolume, _ c: ComparisonCase, tolerance: Double, detection settings: LesionDetection.Settings) {
            precondition(prediction.shape == c.truth.shape, "score: prediction grid differs from the truth's (a mask on slabs or a window must be put back first)")
            let g = c.truth.shape, shape = MaskShape(g.x, g.y, g.z)
            let spacing = c.scoringGeometry.spacing, voxelML = c.scoringGeometry.voxelVolumeML
            let p = BinaryMask(shape: shape, spacing: spacing, voxels: prediction.voxels.map { $0 > 0 }, voxelVolumeML: voxelML)
            let t = BinaryMask(shape: shape, spacing: spacing, voxels: c.truth.voxels.map { $0 > 0 }, voxelVolumeML: voxelML)
            item = SegmentationReport.Case(name: c.input.name, scores: SegmentationScores(prediction: p, truth: t, tolerance: tolerance))
            if let lesions = c.lesions {
                detection = LesionDetection(prediction: p, lesionLabels: lesions.voxels, settings: settings)
            } else {
                detection = LesionDetection(prediction: p, truth: t, settings: settings)
            }
            predictedVoxels = p.foregroundCount
        }
    }

    /// The row of scored cases: statistics over the positive ones, false positives over the others.
    static func row(method: String, _ scored: [ScoredCase], positive: [Bool], tolerance: Double,
                    secondsPerCase: Double) -> ComparisonRow {
        var positiveCases: [SegmentationReport.Case] = []
        var falsePositives: [Int] = []
        for (s, isPositive) in zip(scored, positive) {
            if isPositive { positiveCases.append(s.item) } else { falsePositives.append(s.predictedVoxels) }
        }
        let summary = SegmentationReport(cases: positiveCases, tolerance: tolerance).summary
        let meanFP = falsePositives.isEmpty ? Double.nan : Double(falsePositives.reduce(0, +)) / Double(falsePositives.count)
        return ComparisonRow(method: method, cases: scored.map(\.item), positive: summary, positiveCases: positiveCases.count,
                             falsePositiveVoxels: falsePositives, meanFalsePositiveVoxels: meanFP,
                             negativesWithoutFalsePositives: falsePositives.filter { $0 == 0 }.count,
                             secondsPerCase: secondsPerCase, detections: scored.map(\.detection))
    }
}
