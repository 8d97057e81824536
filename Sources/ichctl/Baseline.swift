import ArgumentParser
import CTVolume
import Foundation
import WeakSupervision

/// `ichctl baseline`: the intensity threshold baseline of Docs/method.md#6-the-comparison (HU window
/// inside the intracranial mask) on every scan of a dataset, one uint8 mask per case, so that
/// `ichctl evaluate` can score it like any other method. Each step is a library call:
/// ``Dataset``, ``IntracranialMask/compute(_:parameters:)``,
/// ``IntensityThresholdBaseline/segment(_:)``, ``NIfTI/write(_:to:overwrite:descrip:)``.
struct Baseline: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write an intensity-only baseline's masks for a dataset (the HU threshold, or k-means alone).",
        discussion: """
            For each DATA/data/NAME.nii(.gz), computes the intracranial mask and keeps the voxels \
            whose HU lies in [--lower, --upper] (default 50..90) inside it; writes OUT/NAME.nii.gz \
            on the scan's grid. With --method kmeans, keeps the hyperdense cluster of k-means over the \
            intracranial voxels instead (the comparison's "k-means alone" row). Score them with \
            `ichctl evaluate --pred OUT --truth DATA/label`.
            """)

    @Option(name: .long, help: "A dataset folder: INSTANCE (data/, optional label/) or a public layout (Docs/datasets/).")
    var data: String

    @Option(name: .long, help: "The folder to write the masks into (created if missing).")
    var out: String

    /// The intensity-only methods `baseline` can write.
    enum Method: String, ExpressibleByArgument, CaseIterable {
        case threshold, kmeans
    }

    @Option(name: .long, help: "threshold (the HU window, default) or kmeans (k-means alone: the hyperdense cluster with the full preset's pseudo-mask settings, as the comparison's row).")
    var method: Method = .threshold

    @Option(name: .long, help: "Lowest HU kept (default 50).")
    var lower: Float = 50

    @Option(name: .long, help: "Highest HU kept (default 90).")
    var upper: Float = 90

    @Option(name: .long, help: "Drop in-plane components smaller than this many voxels (default 0: keep all).")
    var minimumComponentSize: Int = 0

    @Flag(name: .long, help: "Replace masks that exist.")
    var force = false

    @Flag(name: .long, help: "Show progress on stderr even when it is not a terminal.")
    var progress = false

    @Flag(name: .long, help: "Print what was written as JSON on stdout.")
    var json = false

    func validate() throws {
        guard lower <= upper else { throw ValidationError("--lower (\(lower)) must not exceed --upper (\(upper))") }
        guard minimumComponentSize >= 0 else { throw ValidationError("--minimum-component-size must be 0 or more") }
        if method == .kmeans && (lower != 50 || upper != 90 || minimumComponentSize != 0) {
            throw ValidationError("--lower, --upper and --minimum-component-size belong to --method threshold; kmeans takes the full preset's pseudo-mask settings")
        }
    }

    struct Written: Encodable {
        let name: String, mask: String, voxels: Int
    }

    func run() throws {
        let dataset = try Dataset(root: URL(fileURLWithPath: data))
        let segmenter: any Segmenter = switch method {
        case .threshold: try IntensityThresholdBaseline(lower: lower, upper: upper, minimumComponentSize: minimumComponentSize)
        case .kmeans: try PipelineConfig.full.pseudoMasks.kmeansSegmenter()
        }
        let outDir = URL(fileURLWithPath: out)
        let targets = dataset.cases.map { outDir.appendingPathComponent("\($0.name).nii.gz") }
        // Refuse before writing anything, so a refused run leaves no partial set behind.
        for url in targets { try CLI.checkOutput(url, force: force, createsFolder: true) }
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        let reporter = ProgressReporter(forced: progress)
        var written: [Written] = []
        for (index, item) in dataset.cases.enumerated() {
            let scan = try item.loadScan()
            let intracranial = try IntracranialMask.compute(scan)
            // computed in LAS (the case's order), written on the image file's own grid
            let mask = try item.onStoredGrid(try segmenter.segment(SegmentationCase(name: item.name, scan: scan, intracranial: intracranial)))
            try NIfTI.write(mask, to: targets[index], overwrite: force, descrip: "ichct \(method.rawValue) baseline")
            let voxels = mask.voxels.reduce(0) { $0 + Int($1) }
            written.append(Written(name: item.name, mask: targets[index].path, voxels: voxels))
            reporter.report("baseline \(index + 1)/\(dataset.cases.count) \(item.name): \(voxels) voxel(s)")
        }
        if json {
            try CLI.printJSON(written)
        } else {
            for w in written { print("\(w.name)\t\(w.voxels)\t\(w.mask)") }
        }
    }
}
