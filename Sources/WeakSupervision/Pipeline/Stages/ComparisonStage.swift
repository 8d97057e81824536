import CTVolume
import Foundation
import Metrics
import NeuralCore

/// The comparison on the test cases: every row of ``Pipeline/methods()`` scored against the
/// true masks, with the statistics of ``SegmentationStatistics``, the predicted masks of every
/// row, montages and a self-contained report. Reads ``PipelineConfig/comparison`` (and, for the
/// gated upper bound's component choice, the refiner's settings).
public struct ComparisonStage: PipelineStageRunner {
    /// The comparison stage's numbers (the table itself is `comparison.json`).
    public struct Summary: PipelineStageSummary {
        /// Test cases scored.
        public var cases: Int
        /// Slice AUC of the classifier on the test cases (NaN without both classes).
        public var auc: Double
        /// Mean Dice of each row over the positive cases, by row name (``Pipeline/rowNames()``).
        public var dice: [String: Double]
        /// Mean false-positive voxels of each row, by row name.
        public var falsePositiveVoxels: [String: Double]

        /// A summary of these numbers.
        public init(cases: Int, auc: Double, dice: [String: Double], falsePositiveVoxels: [String: Double]) {
            self.cases = cases
            self.auc = auc
            self.dice = dice
            self.falsePositiveVoxels = falsePositiveVoxels
        }

        /// The summary a record's numbers give (``PipelineStageSummary/init(values:)``).
        public init(values: [String: Double]) {
            func rows(_ prefix: String) -> [String: Double] {
                Dictionary(uniqueKeysWithValues: values.compactMap { k, v in k.hasPrefix(prefix) ? (String(k.dropFirst(prefix.count)), v) : nil })
            }
            self.init(cases: values.count("cases"), auc: values.number("auc"), dice: rows("dice."), falsePositiveVoxels: rows("fp."))
        }

        /// The numbers under the names stage records have always used.
        public var values: [String: Double] {
            var v: [String: Double] = ["cases": Double(cases), "auc": auc]
            for (row, d) in dice { v["dice.\(row)"] = d }
            for (row, f) in falsePositiveVoxels { v["fp.\(row)"] = f }
            return v
        }

        /// Equal numbers, a NaN (a score that could not be computed) equal to a NaN.
        public static func == (a: Self, b: Self) -> Bool {
            func same(_ x: [String: Double], _ y: [String: Double]) -> Bool {
                x.count == y.count && x.allSatisfy { k, v in y[k].map(v.sameSummaryNumber) ?? false }
            }
            return a.cases == b.cases && a.auc.sameSummaryNumber(b.auc) && same(a.dice, b.dice) && same(a.falsePositiveVoxels, b.falsePositiveVoxels)
        }
    }

    /// The stage; it holds no settings of its own (``run(in:observer:)`` reads the pipeline's configuration).
    public init() {}

    public var stage: PipelineStage { .comparison }

    public var artefacts: [String] {
        ["comparison.json", "comparison.txt", "comparison.csv (per row and case)", "comparison-summary.csv", "report.html",
         "masks/ROW/NAME.nii.gz (every row's prediction, on the case file's grid)", "montages/NAME.cam.png, montages/NAME.masks.png",
         "upper-bound.components.gated.json (the gated upper bound's component choice)"]
    }

    public func run(in pipeline: Pipeline, observer: @escaping (PipelineEvent) -> TrainingControl) throws -> PipelineStageOutcome<Summary> {
        let config = pipeline.config
        let dataset = try pipeline.dataset(), split = try pipeline.split()
        if config.refiner.upperBound, config.refiner.classifierGate != nil, let sizes = config.refiner.componentSizes, !sizes.candidates.isEmpty {
            // the gated upper bound's component volume, on the validation cases like every other choice
            _ = try pipeline.selectComponentVolume(stage: .upperBound, sizes: sizes, validation: split.validation, in: dataset,
                                          gatedOnly: true, observer)
        }
        let items = try pipeline.cases(split.test, in: dataset)
        let rows = try pipeline.rows()
        let slugs = rows.map(\.slug)
        let pipelineIndex = slugs.firstIndex(of: "pipeline"), pseudoIndex = slugs.firstIndex(of: "pseudo-masks")
        let masks = pipeline.folder(.comparison).appendingPathComponent("masks")
        var pipelineMasks: [Int: MaskVolume] = [:], pseudoMasks: [Int: MaskVolume] = [:]
        // The cases stream through (one loaded ahead of the rows); the first positive ones are
        // kept for the montages.
        var montageCases: [Int: ComparisonCase] = [:]
        var table = try pipeline.compare(items, visit: { i, c in
            if c.isPositive && montageCases.count < config.comparison.montageCases { montageCases[i] = c }
        }) { m, i, mask in
            let folder = masks.appendingPathComponent(slugs[m])
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            // scored in LAS; written on the case file's own grid, to pair with its label file
            try NIfTI.write(try items[i].onStoredGrid(mask), to: folder.appendingPathComponent("\(items[i].name).nii.gz"),
                            overwrite: true, descrip: "ichct \(slugs[m])")
            if montageCases[i] != nil && m == pipelineIndex { pipelineMasks[i] = mask }
            if montageCases[i] != nil && m == pseudoIndex { pseudoMasks[i] = mask }
            _ = observer(.progress(.comparison, done: i * rows.count + m + 1, total: rows.count * items.count,
                                   item: "\(slugs[m]) \(items[i].name)"))
        }
        table.evaluatedOn = pipeline.testSetDescription(split: split)
        let out = pipeline.folder(.comparison)
        try table.jsonData().write(to: Pipeline.tableURL(in: pipeline.output), options: .atomic)
        try Data(table.text().utf8).write(to: out.appendingPathComponent("comparison.txt"), options: .atomic)
        try Data(table.csv().utf8).write(to: out.appendingPathComponent("comparison.csv"), options: .atomic)
        try Data(table.summaryCSV().utf8).write(to: out.appendingPathComponent("comparison-summary.csv"), options: .atomic)
        let montages = try pipeline.writeMontages(cases: montageCases, pipeline: pipelineMasks, pseudo: pseudoMasks)
        let images = try montages.map { try ComparisonTable.ReportImage(caption: $0.lastPathComponent, png: Data(contentsOf: $0)) }
        try Data(table.html(title: "ichct comparison: \(pipeline.output.lastPathComponent)", images: images).utf8)
            .write(to: out.appendingPathComponent("report.html"), options: .atomic)
        return PipelineStageOutcome(summary: Summary(
            cases: items.count, auc: table.classification?.auc ?? .nan,
            dice: Dictionary(uniqueKeysWithValues: zip(slugs, table.rows.map(\.meanDice))),
            falsePositiveVoxels: Dictionary(uniqueKeysWithValues: zip(slugs, table.rows.map(\.meanFalsePositiveVoxels)))))
    }
}

extension Pipeline {
    /// PNG montages of the positive slices (at most 8) of some test cases: `NAME.cam.png` (the
    /// CAM as a heat map, the true mask outlined in green) and `NAME.masks.png` (true mask green,
    /// pseudo-mask yellow, full pipeline red, brain window).
    @discardableResult
    func writeMontages(cases: [Int: ComparisonCase], pipeline: [Int: MaskVolume], pseudo: [Int: MaskVolume]) throws -> [URL] {
        var written: [URL] = []
        let folder = folder(.comparison).appendingPathComponent("montages")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for i in cases.keys.sorted() {
            let c = cases[i]!
            // the run's own cases, never on slabs or a window; those would pair grids that differ
            guard c.slabs == nil, c.frame == nil else { continue }
            let positive = c.truth.sliceLabels.indices.filter { c.truth.sliceLabels[$0] > 0.5 }
            let step = max(1, (positive.count + 7) / 8)
            let slices = Array(stride(from: 0, to: positive.count, by: step).map { positive[$0] }.prefix(8))
            guard !slices.isEmpty else { continue }
            let renderer = SliceRenderer(maskStyle: .outline(.green))
            let camImage = try renderer.montage(c.input.scan, slices: slices, mask: c.truth, heatmap: c.input.cam, columns: 4)
            try PNG.write(camImage, to: folder.appendingPathComponent("\(c.input.name).cam.png"), overwrite: true)
            var overlays = [SliceRenderer.MaskOverlay(c.truth, style: .outline(.green))]
            if let p = pseudo[i] { overlays.append(.init(p, style: .outline(.yellow))) }
            if let p = pipeline[i] { overlays.append(.init(p, style: .outline(.red))) }
            let maskImage = try renderer.montage(c.input.scan, slices: slices, masks: overlays, columns: 4)
            try PNG.write(maskImage, to: folder.appendingPathComponent("\(c.input.name).masks.png"), overwrite: true)
            written += [folder.appendingPathComponent("\(c.input.name).cam.png"), folder.appendingPathComponent("\(c.input.name).masks.png")]
        }
        return written
    }
}
