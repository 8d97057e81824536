import ArgumentParser
import CTVolume
import Foundation
import Metrics

/// `ichctl evaluate --pred P --truth T [--tolerance MM] [--label N] [--json] [--csv FILE]`:
/// every segmentation metric per case and over the cases. P and T are two mask files or two
/// folders paired by file name (``CasePairing``); distances use the truth's spacing. A thin
/// wrapper over ``SegmentationScores`` and ``SegmentationReport``.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score predicted masks against true masks (Dice, IoU, volumes, MedPy/MONAI/surface-distance distances, NSD).",
        discussion: """
        Masks must hold only 0 and 1 unless --label N selects one class (voxel == N is foreground). \
        Non-finite results (a distance to an empty mask is inf, an undefined ratio nan) are written \
        as "inf" and "nan" in the table, the JSON and the CSV; summaries leave NaN out and count it \
        as "excluded". See Docs/metrics.md for every metric's convention and empty-mask result.
        """)

    @Option(name: .customLong("pred"), help: "Predicted mask file, or a folder of them.")
    var prediction: String

    @Option(help: "True mask file, or a folder of them (paired with --pred by file name).")
    var truth: String

    @Option(help: "Normalised surface Dice tolerance in mm (INSTANCE 2022's evaluator uses 0.42).")
    var tolerance: Double = SegmentationScores.defaultTolerance

    @Option(help: "Select one label of multi-label masks: voxels equal to N are foreground.")
    var label: Int?

    @Flag(help: "Print the report as JSON on stdout instead of a table.")
    var json = false

    @Option(help: "Also write the per-case table as CSV to this file.")
    var csv: String?

    @Flag(help: "Replace an existing --csv file.")
    var force = false

    @Flag(help: "Show progress on stderr even when it is not a terminal.")
    var progress = false

    @Flag(help: "Summarise only the cases whose truth is non-empty (MONAI's ignore_empty): the mean Dice over positive cases.")
    var ignoreEmpty = false

    @Option(help: "Lesion maps (0 background, one label 1...255 per lesion; e.g. a phantom set's lesions/ folder): a file, or a folder paired with --truth by case name. Each label is then one lesion in the detection; a case without a map uses connected components. A map must label exactly the truth's voxels.")
    var lesions: String?

    @OptionGroup var statistics: StatisticsOptions

    func validate() throws {
        guard tolerance.isFinite && tolerance >= 0 else {
            throw ValidationError("--tolerance must be a finite number of mm >= 0, not \(tolerance)")
        }
    }

    func run() throws {
        let pairs = try CasePairing.pairs(prediction: URL(fileURLWithPath: prediction), truth: URL(fileURLWithPath: truth))
        let csvURL = csv.map { URL(fileURLWithPath: $0) }
        if let csvURL { try CLI.checkOutput(csvURL, force: force) }
        let reporter = ProgressReporter(forced: progress)
        var cases: [SegmentationReport.Case] = []
        var detections: [LesionDetection] = []
        let settings = statistics.settings
        for (n, pair) in pairs.enumerated() {
            reporter.report("[\(n + 1)/\(pairs.count)] \(pair.name)")
            let (predictionMask, truthMask) = try Self.readPair(pair, label: label)
            cases.append(.init(name: pair.name,
                               scores: SegmentationScores(prediction: predictionMask, truth: truthMask, tolerance: tolerance)))
            if let map = try lesionMap(for: pair, pairs: pairs.count, truth: truthMask) {
                detections.append(LesionDetection(prediction: predictionMask, lesionLabels: map, settings: settings.detection))
            } else {
                detections.append(LesionDetection(prediction: predictionMask, truth: truthMask, settings: settings.detection))
            }
        }
        var report = SegmentationReport(cases: cases, tolerance: tolerance, ignoreEmpty: ignoreEmpty)
        report.statistics = SegmentationStatistics(scores: cases.map(\.scores), detections: detections, settings: settings)
        if let csvURL {
            try Data(report.csv().utf8).write(to: csvURL, options: .atomic)
        }
        if json {
            try CLI.printJSON(report)
        } else {
            print(report.table(), terminator: "")
        }
    }

    /// The lesion map of a case (``lesions``): the file itself for a single pair, else the file
    /// of the truth's name in the folder; nil without one. It must lie on the truth's grid and
    /// label exactly the truth's voxels.
    func lesionMap(for pair: CasePairing.Pair, pairs: Int, truth: BinaryMask) throws -> [UInt8]? {
        guard let lesions else { return nil }
        let given = URL(fileURLWithPath: lesions)
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: given.path, isDirectory: &isFolder) else {
            throw CTVolumeError.io(path: given.path, reason: "no such lesion map file or folder")
        }
        let url: URL
        if isFolder.boolValue {
            // the truth's file name, or its case name with the other NIfTI extension
            let name = pair.truth.lastPathComponent
            let stem = name.hasSuffix(".nii.gz") ? String(name.dropLast(7)) : name.hasSuffix(".nii") ? String(name.dropLast(4)) : name
            guard let found = [name, stem + ".nii.gz", stem + ".nii"].map({ given.appendingPathComponent($0) })
                .first(where: { FileManager.default.fileExists(atPath: $0.path) }) else { return nil }
            url = found
        } else {
            guard pairs == 1 else {
                throw CTVolumeError.invalidParameter(name: "--lesions", reason: "\(given.path) is a file, but --truth gives \(pairs) cases: pass a folder")
            }
            url = given
        }
        let header = try NIfTI.readHeader(at: pair.truth)
        let map = try NIfTI.readLabels(at: url, matching: header.geometry, shape: header.shape).voxels
        if let v = map.indices.first(where: { (map[$0] > 0) != truth.voxels[$0] }) {
            let s = header.shape, i = v % s.x, j = (v / s.x) % s.y, k = v / (s.x * s.y)
            throw CTVolumeError.gridMismatch(path: url.path, reason: "voxel (\(i), \(j), \(k)) is \(map[v] > 0 ? "lesion \(map[v])" : "background") here but \(truth.voxels[v] ? "hemorrhage" : "background") in \(pair.truth.path); a lesion map must label exactly the mask's voxels")
        }
        return map
    }

    /// Reads one case: both masks on the same grid, binary (or the chosen label), with the
    /// truth's spacing.
    static func readPair(_ pair: CasePairing.Pair, label: Int?) throws -> (BinaryMask, BinaryMask) {
        let truthVolume = try NIfTI.readScan(at: pair.truth)
        let predictionHeader = try NIfTI.readHeader(at: pair.prediction)
        guard predictionHeader.shape == truthVolume.shape else {
            throw MetricsError.gridMismatch(name: pair.name, prediction: maskShape(predictionHeader.shape),
                                            truth: maskShape(truthVolume.shape))
        }
        try NIfTI.checkSameGrid(predictionHeader, shape: truthVolume.shape, geometry: truthVolume.geometry)
        let predictionVolume = try NIfTI.readScan(at: pair.prediction)
        let spacing = truthVolume.geometry.spacing, voxelML = truthVolume.geometry.voxelVolumeML
        return (try mask(predictionVolume, spacing: spacing, voxelVolumeML: voxelML, label: label, name: "\(pair.name) (prediction)"),
                try mask(truthVolume, spacing: spacing, voxelVolumeML: voxelML, label: label, name: "\(pair.name) (truth)"))
    }

    /// Foreground is `voxel == label`, or `voxel == 1` for a mask that must be binary.
    static func mask(_ volume: ScanVolume, spacing: SIMD3<Double>, voxelVolumeML: Double, label: Int?, name: String) throws -> BinaryMask {
        let shape = maskShape(volume.shape)
        if let label {
            let value = Float(label)
            return BinaryMask(shape: shape, spacing: spacing, voxels: volume.voxels.map { $0 == value }, voxelVolumeML: voxelVolumeML)
        }
        var others = Set<Int>()
        for v in volume.voxels where v != 0 && v != 1 {
            others.insert(v.isFinite ? Int(v.rounded(.towardZero)) : Int.min)
            if others.count >= 5 { break }
        }
        if !others.isEmpty { throw MetricsError.notBinary(name: name, values: others.sorted()) }
        return BinaryMask(shape: shape, spacing: spacing, voxels: volume.voxels.map { $0 == 1 }, voxelVolumeML: voxelVolumeML)
    }

    static func maskShape(_ s: GridShape) -> MaskShape { MaskShape(s.x, s.y, s.z) }
}
