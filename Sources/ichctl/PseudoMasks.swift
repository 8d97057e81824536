import ArgumentParser
import CTVolume
import Foundation
import NeuralCore
import WeakSupervision

/// `ichctl pseudo-masks`: stages 2 to 4 on a dataset (CAM, threshold, k-means, components). A
/// thin wrapper over ``CAMMethod/volume(_:)`` and ``PseudoMaskBuilder/build(scan:intracranial:cam:probabilities:)``.
struct PseudoMasks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pseudo-masks",
        abstract: "Write k-means pseudo-masks of every case of a dataset from a classifier's CAMs.",
        discussion: """
            For each case: the intracranial mask, the classifier's CAM and slice probabilities, \
            the CAM thresholded on slices with probability >= 0.5 (or, with --positive-slices labels, \
            on the slices the dataset labels positive), intersected with the hyperdense \
            k-means cluster (centroid inside 40..100 HU) of the soft-tissue voxels (--tissue), \
            components below --min-size dropped, thin structures opened away (--opening). \
            Writes OUT/NAME.nii.gz (uint8 on the scan's grid), the training targets of \
            `ichctl train refiner --masks OUT`.
            """)

    @Option(name: .long, help: "The classifier checkpoint (ResNet-LSTM).")
    var model: String

    @Option(name: .long, help: "Dataset folder: INSTANCE (ROOT/data/NAME.nii.gz) or a public layout (Docs/datasets/).")
    var data: String

    @Option(name: .long, help: "Output folder for the masks.")
    var out: String

    @Option(name: .long, help: "CAM threshold: otsu, pNN (percentile, e.g. p90) or a number (e.g. 0.3).")
    var threshold: ThresholdChoice = .fixed(0.3)

    @Option(name: .long, help: "k-means clusters.")
    var k: Int = 4

    @Option(name: .long, help: "CAM method: gradcam, gradcampp, layercam.")
    var cam: CAM.Kind = .gradcam

    @Option(name: .long, help: "Residual stage the CAM explains (layer1 ... layer4).")
    var layer: String = "layer3"

    @Option(name: .long, help: "k-means features, comma-separated: hu, smoothed:SIGMA_MM, depth:SIGMA_MM (smoothed, then corrected for the brightening towards the skull).")
    var features: String = "smoothed:1"

    @Option(name: .long, help: "Connected components (8-connected, per slice) below this many voxels are dropped.")
    var minSize: Int = 8

    @Option(name: .long, help: "Opening iterations (3 x 3, per slice) that drop structures thinner than 2n+1 pixels for n iterations, e.g. the falx (0: none).")
    var opening: Int = 1

    @Option(name: .long, parsing: .unconditional, help: "Soft-tissue HU range k-means runs in, LO:HI (default -100:150).")
    var tissue: String = "-100:150"

    @Option(name: .long, help: "Which slices get a pseudo-mask: classifier (probability >= 0.5) or labels (the dataset's weak labels; a case labelled negative gets an empty mask).")
    var positiveSlices: PipelineConfig.PseudoMaskSettings.PositiveSlices = .classifier

    @Option(name: .long, help: "k-means seed.")
    var seed: UInt64 = 0

    @Flag(name: .long, help: "Replace existing masks.")
    var force = false

    @Flag(name: .long, help: "Progress on stderr even off a terminal.")
    var progress = false

    @Flag(name: .long, help: "Print a per-case summary as JSON on stdout.")
    var json = false

    struct Row: Encodable {
        let name: String, voxels: Int, positiveSlices: Int, slices: Int
        enum CodingKeys: String, CodingKey { case name, voxels, slices; case positiveSlices = "positive_slices" }
    }

    func validate() throws {
        // usage errors (exit 64 with the usage line), as the other range options
        do {
            _ = try parsedFeatures()
            _ = try ValueRange.parse(tissue, name: "--tissue")
        } catch let error as CTVolumeError {
            throw ValidationError("\(error)")
        } catch let error as WeakSupervisionError {
            throw ValidationError("--features: \(error)")
        }
        guard opening >= 0 else { throw ValidationError("--opening must be 0 or more") }
    }

    /// `--features`, comma-separated text forms.
    func parsedFeatures() throws -> [FeatureChoice] {
        try features.split(separator: ",").map { try FeatureChoice(parsing: String($0)) }
    }

    func run() throws {
        let kind = cam
        let tissueHU = try ValueRange.parse(tissue, name: "--tissue")
        let settings = PipelineConfig.PseudoMaskSettings(k: k, features: try parsedFeatures(),
                                                         threshold: threshold, minimumComponentSize: minSize, seed: seed,
                                                         tissueHU: tissueHU, opening: opening, positiveSlices: positiveSlices)
        _ = try settings.segmenter()   // a bad setting fails before the first case
        let dataset = try Dataset(root: URL(fileURLWithPath: data))
        let outURL = URL(fileURLWithPath: out)
        let targets = dataset.cases.map { outURL.appendingPathComponent("\($0.name).nii.gz") }
        for t in targets { try CLI.checkOutput(t, force: force, createsFolder: true) }
        let net = try ResNetLSTM(contentsOf: URL(fileURLWithPath: model))
        let method = try CAM.method(kind, model: net, layer: layer)
        try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
        let reporter = ProgressReporter(forced: progress)
        var rows: [Row] = []
        for (i, item) in dataset.cases.enumerated() {
            let scan = try item.loadScan()
            let result = try method.volume(scan)
            let mask = try settings.pseudoMask(of: SegmentationCase(name: item.name, scan: scan, intracranial: try IntracranialMask.compute(scan),
                                                                    cam: result.map, sliceProbabilities: result.probabilities),
                                               labels: { try item.sliceLabels() })
            // computed in LAS (the networks' order), written on the image file's own grid
            try NIfTI.write(try item.onStoredGrid(mask), to: targets[i], overwrite: force, descrip: "ichct pseudo-mask")
            let row = Row(name: item.name, voxels: mask.voxels.reduce(0) { $0 + Int($1) },
                          positiveSlices: mask.sliceLabels.filter { $0 > 0 }.count, slices: scan.shape.z)
            rows.append(row)
            reporter.report("\(i + 1)/\(dataset.cases.count) \(item.name): \(row.voxels) voxels on \(row.positiveSlices) slices")
        }
        if json { return try CLI.printJSON(rows) }
        for r in rows { print("\(r.name)\t\(r.voxels) voxels\t\(r.positiveSlices)/\(r.slices) slices") }
    }
}
