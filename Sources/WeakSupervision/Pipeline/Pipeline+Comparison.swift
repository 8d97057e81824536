import CTVolume
import Foundation
import Metrics
import NeuralCore

extension Pipeline {
    /// Name of the full-pipeline row (UNetLite trained on pseudo-masks).
    public static let pipelineRow = "full pipeline (UNetLite on pseudo-masks)"
    /// Name of the classifier-gated pipeline row (``PipelineConfig/classifierGate``).
    public static let gatedPipelineRow = "full pipeline, gated by the classifier"
    /// Name of the upper-bound row (UNetLite trained on true masks, same budget).
    public static let upperBoundRow = "upper bound (UNetLite on true masks)"

    /// The rows of method.md section 10 built from this run's saved artefacts and configuration:
    /// threshold 50..90 HU · k-means alone · CAM alone · pseudo-masks · full pipeline · full
    /// pipeline gated by the classifier (with a ``PipelineConfig/classifierGate``) · upper bound
    /// (when trained). The k-means, CAM and pseudo-mask rows use the run's ``PipelineConfig/pseudoMasks``
    /// (k-means and pseudo-masks inside its soft-tissue range, the CAM alone inside the whole intracranial mask).
    public func methods() throws -> [any Segmenter] {
        try rows().map(\.method)
    }

    /// ``methods()`` with the short name of each row (its folder under `comparison/masks/` and
    /// its key in the comparison stage's summary).
    func rows() throws -> [(slug: String, method: any Segmenter)] {
        let builder = try config.pseudoMasks.builder()
        var rows: [(slug: String, method: any Segmenter)] = [
            ("threshold", try IntensityThresholdBaseline()),
            ("kmeans", try config.pseudoMasks.kmeansSegmenter()),
            ("cam", CAMBaseline(threshold: builder.threshold, positiveAt: builder.positiveAt)),
            ("pseudo-masks", try config.pseudoMasks.segmenter()),
            ("pipeline", try refinerRow(.refiner, name: Self.pipelineRow)),
        ]
        if let gate = config.classifierGate {
            rows.append(("pipeline-gated", try refinerRow(.refiner, name: Self.gatedPipelineRow, gate: gate)))
        }
        if config.upperBound {
            rows.append(("upper-bound", try refinerRow(.upperBound, name: Self.upperBoundRow)))
        }
        return rows
    }

    /// A refiner row: the stage's network, gated by the classifier when `gate` is given
    /// (``ClassifierGated``), then its small components dropped when the stage chose a minimum
    /// volume on the validation cases (``minimumComponentVolume(_:gated:)``), then grown into the
    /// blood range with the configuration's ``PipelineConfig/growth`` (``IntensityGrowth``).
    func refinerRow(_ stage: PipelineStage, name: String, gate: Float? = nil) throws -> any Segmenter {
        let refiner = try RefinerSegmenter(contentsOf: folder(stage).appendingPathComponent("refiner.safetensors"), name: name)
        let base: any Segmenter = gate.map { ClassifierGated(base: refiner, positiveAt: $0) } ?? refiner
        let volume = try minimumComponentVolume(stage, gated: gate != nil)
        let filtered: any Segmenter = volume > 0 ? ComponentFiltered(base: base, minimumVolumeML: volume) : base
        return try config.growth.map { try IntensityGrowth(base: filtered, settings: $0) } ?? filtered
    }

    /// Comparison cases: scan, true mask, intracranial mask, CAM and slice probabilities. A case
    /// of this run's dataset uses the saved intracranial mask and CAM; any other case (e.g. from
    /// another dataset) gets them computed with the run's classifier and CAM settings.
    ///
    /// - Parameter items: the cases (each needs a mask file: it is the reference).
    /// - Throws: a case without mask, and reading or CAM errors.
    public func comparisonCases(_ items: [DatasetCase], progress: (Int, Int, String) -> Void = { _, _, _ in }) throws -> [ComparisonCase] {
        let ownRoot = datasetRoot.standardizedFileURL.path
        let saved = (try? probabilities()) ?? [:]
        var method: (any CAMMethod)?
        var out: [ComparisonCase] = []
        for (i, item) in items.enumerated() {
            let scan = try item.loadScan()
            guard let truth = try item.loadMask() else {
                throw WeakSupervisionError.missingInput(method: "comparison", input: "the reference mask of case \(item.name) (\(item.imageURL.path))")
            }
            let own = item.imageURL.standardizedFileURL.path.hasPrefix(ownRoot + "/") && saved[item.name] != nil
            let inside: MaskVolume, cam: Volume<Float>, p: [Float]
            if own {
                inside = try intracranial(item.name)
                cam = try self.cam(item.name)
                p = saved[item.name]!
            } else {
                if method == nil {
                    let model = try ResNetLSTM(contentsOf: folder(.classifier).appendingPathComponent("classifier.safetensors"))
                    method = try CAM.method(config.cam.method, model: model, layer: config.cam.layer)
                }
                inside = try IntracranialMask.compute(scan)
                let result = try method!.volume(scan)
                cam = result.map
                p = result.probabilities
            }
            out.append(ComparisonCase(input: SegmentationCase(name: item.name, scan: scan, intracranial: inside, cam: cam, sliceProbabilities: p),
                                      truth: truth))
            progress(i + 1, items.count, item.name)
        }
        return out
    }

    /// Compares ``methods()`` on `cases` and adds the classifier's slice scores on them.
    ///
    /// - Parameters:
    ///   - cases: from ``comparisonCases(_:progress:)``.
    ///   - extra: more rows (a user's own method) appended after the built-in ones.
    ///   - keep: receives every prediction (method index, case index, mask).
    public func compare(_ cases: [ComparisonCase], extra: [any Segmenter] = [],
                        keep: (Int, Int, MaskVolume) throws -> Void = { _, _, _ in }) throws -> ComparisonTable {
        let builtIn = try methods()
        var table = try MethodComparison.run(methods: builtIn + extra, cases: cases, tolerance: config.tolerance, keep: keep)
        table.classification = Self.classification(cases)
        let grown = builtIn.compactMap { $0 as? IntensityGrowth }
        if let g = grown.first?.settings, g.distanceMM > 0 {
            func short(_ v: Double) -> String { String(format: "%g", v) }
            table.notes = ["grown \(short(g.distanceMM)) mm in-plane into \(short(g.range.lowerBound))..\(short(g.range.upperBound)) HU "
                           + "inside the intracranial mask (IntensityGrowth): \(grown.map(\.name).joined(separator: "; "))"]
        }
        return table
    }

    /// Slice classification scores (threshold 0.5) of the cases' probabilities against the
    /// slice labels of their reference masks; nil when a case has no probabilities.
    public static func classification(_ cases: [ComparisonCase]) -> SliceClassificationScores? {
        var scores: [Double] = [], labels: [Bool] = []
        for c in cases {
            guard let p = c.input.sliceProbabilities else { return nil }
            scores += p.map(Double.init)
            labels += c.truth.sliceLabels.map { $0 > 0.5 }
        }
        return SliceClassificationScores(scores: scores, labels: labels)
    }

    // MARK: the comparison stage

    func runComparison(_ observer: @escaping (PipelineEvent) -> TrainingControl) throws -> [String: Double] {
        let dataset = try dataset(), split = try split()
        let items = try cases(split.test, in: dataset)
        let cases = try comparisonCases(items) { done, total, name in
            _ = observer(.progress(.comparison, done: done, total: total, item: "loaded \(name)"))
        }
        let rows = try rows()
        let slugs = rows.map(\.slug)
        let pipelineIndex = slugs.firstIndex(of: "pipeline"), pseudoIndex = slugs.firstIndex(of: "pseudo-masks")
        let masks = folder(.comparison).appendingPathComponent("masks")
        var pipelineMasks: [Int: MaskVolume] = [:], pseudoMasks: [Int: MaskVolume] = [:]
        let montageCases = Set(cases.indices.filter { cases[$0].isPositive }.prefix(config.montageCases))
        let table = try compare(cases) { m, i, mask in
            let folder = masks.appendingPathComponent(slugs[m])
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try NIfTI.write(mask, to: folder.appendingPathComponent("\(cases[i].input.name).nii.gz"), overwrite: true, descrip: "ichct \(slugs[m])")
            if montageCases.contains(i) && m == pipelineIndex { pipelineMasks[i] = mask }
            if montageCases.contains(i) && m == pseudoIndex { pseudoMasks[i] = mask }
            _ = observer(.progress(.comparison, done: m * cases.count + i + 1, total: rows.count * cases.count,
                                   item: "\(slugs[m]) \(cases[i].input.name)"))
        }
        try table.jsonData().write(to: folder(.comparison).appendingPathComponent("comparison.json"), options: .atomic)
        try Data(table.text().utf8).write(to: folder(.comparison).appendingPathComponent("comparison.txt"), options: .atomic)
        try writeMontages(cases: cases, indices: montageCases.sorted(), pipeline: pipelineMasks, pseudo: pseudoMasks)
        var summary: [String: Double] = ["cases": Double(cases.count)]
        for (slug, row) in zip(slugs, table.rows) {
            summary["dice.\(slug)"] = row.meanDice
            summary["fp.\(slug)"] = row.meanFalsePositiveVoxels
        }
        summary["auc"] = table.classification?.auc ?? .nan
        return summary
    }

    /// PNG montages of the positive slices (at most 8) of some test cases: `NAME.cam.png` (the
    /// CAM as a heat map, the true mask outlined in green) and `NAME.masks.png` (true mask green,
    /// pseudo-mask yellow, full pipeline red, brain window).
    func writeMontages(cases: [ComparisonCase], indices: [Int], pipeline: [Int: MaskVolume], pseudo: [Int: MaskVolume]) throws {
        let folder = folder(.comparison).appendingPathComponent("montages")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for i in indices {
            let c = cases[i]
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
        }
    }
}
