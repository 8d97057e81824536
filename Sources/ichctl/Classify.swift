import ArgumentParser
import CTVolume
import Foundation
import NeuralCore
import WeakSupervision

/// `ichctl classify`: per-slice ICH probabilities of a volume from a ResNetLSTM checkpoint.
/// A thin wrapper over ``ResNetLSTM/classify(_:chunkSize:flipAveraging:)``.
struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Per-slice hemorrhage probabilities of a scan (NIfTI or DICOM folder) from a slice-classifier checkpoint.",
        discussion: """
            The scan's axial slices are preprocessed with the checkpoint's input size and windows \
            and run through the classifier as one sequence, in slice order. Prints one \
            probability per slice and the volume's maximum (the volume's probability).
            """)

    @Option(name: .long, help: "A ResNetLSTM checkpoint (.safetensors with ichct.config kind resnet_lstm).")
    var model: String?

    @Option(name: .customLong("run"), help: "A pipeline run folder: use the classifier that makes its slice calls (RUN/classifier/classifier.safetensors, or RUN/classifier/slice-calls/classifier.safetensors when its configuration fine-tunes one), on slabs when the scan's slices are thinner than its comparison.thinSlices allows, through a window around the head when its head lies outside comparison.headSpans (or centred on it when it lies further off the centre than their mostOffset).")
    var runFolder: String?

    func validate() throws {
        guard (model == nil) != (runFolder == nil) else { throw ValidationError("give either --model or --run") }
        if runFolder != nil && flipAverage {
            throw ValidationError("--flip-average does not go with --run: the run's slice calls are made without it (or use --model)")
        }
        if batch.isBatch {
            guard file == nil else { throw ValidationError("--list takes no scan argument: the records go to --out-dir") }
        } else {
            guard file != nil else { throw ValidationError("give a scan (or --list FILE --out-dir DIR)") }
            if force { throw ValidationError("--force needs --list") }
        }
    }

    /// The checkpoint: --model, or the network that makes the run's slice calls
    /// (``Pipeline/sliceClassifierURL``: its slice-call classifier when it has one); and with
    /// --run, the run's pipeline (its rules for thin slices and head spans, ``Pipeline/methodInput(for:)``).
    func checkpoint() throws -> (path: String, run: Pipeline?) {
        if let model { return (model, nil) }
        let run = URL(fileURLWithPath: runFolder!)
        let pipeline = try Pipeline(config: Pipeline.savedConfig(in: run), output: run)
        return (pipeline.sliceClassifierURL.path, pipeline)
    }

    @Argument(help: "The scan: a NIfTI file (.nii, .nii.gz) or a folder of DICOM files (or --list).")
    var file: String?

    @OptionGroup var scanInput: ScanInputOptions

    @OptionGroup var batch: BatchOptions

    @Flag(name: .long, help: "With --list: process finished scans again and replace their records.")
    var force = false

    @Flag(name: .long, help: "Average each slice's logit with the logit for the scan flipped left-right (test-time augmentation; twice the network time).")
    var flipAverage = false

    @Flag(name: .long, help: "Print the result as JSON on stdout.")
    var json = false

    struct Result: BatchRecord {
        let file: String
        let model: String
        let slices: Int
        let probabilities: [Float]
        let logits: [Float]
        let max: Float
        let maxSlice: Int?
        let positiveSlices: [Int]
        /// true with `--flip-average`; nil (the key absent) without it.
        let flipAveraged: Bool?
        /// With --run, the slices per slab when the scan's slices were averaged into slabs
        /// (each slice then has its slab's probability); nil (the key absent) otherwise.
        let slabFactor: Int?
        /// With --run, the window the scan was seen through when its head fills too little or
        /// too much of its slices; nil (the key absent) otherwise.
        let headWindow: HeadWindow?

        enum CodingKeys: String, CodingKey {
            case file, model, slices, probabilities, logits, max
            case maxSlice = "max_slice", positiveSlices = "positive_slices", flipAveraged = "flip_average", slabFactor = "slab_factor"
            case headWindow = "head_window"
        }
        static let csvColumns = ["slices", "max", "max_slice", "positive_slices"]
        var csvValues: [String] {
            ["\(slices)", "\(max)", maxSlice.map { "\($0)" } ?? "", positiveSlices.map { "\($0)" }.joined(separator: " ")]
        }
    }

    /// The probabilities of one scan, per slice of the file when its slices are axial.
    func classify(_ file: String, with net: ResNetLSTM, from checkpoint: String, run: Pipeline?) throws -> Result {
        // The LSTM reads axial slices inferior to superior in the order it was trained on (LAS);
        // results are reported per slice of the file when its slices are axial.
        let source = try scanInput.read(file)
        let orientation = Reorientation(source)
        let scan = orientation.apply(source)
        // with --run, slices under the run's limit for thin slices (comparison.thinSlices) are classified as
        // slabs, each slice taking its slab's call (as the run's comparison does)
        // and a head that fills too little or too much of the slices is seen through a window (comparison.headSpans)
        let (result, slabs, frame) = run?.sliceCalls(of: scan, classifier: net, flipAveraging: flipAverage)
            ?? (net.classify(scan, flipAveraging: flipAverage), SliceSlabs(sliceCount: scan.shape.z, factor: 1),
                HeadFrame.identity(height: scan.shape.y, width: scan.shape.x))
        if !slabs.isIdentity { CLI.note(CLI.slabNote(file, slabs: slabs, spacingMM: scan.geometry.spacing.z)) }
        if let run, !frame.isIdentity { CLI.note(CLI.frameNote(file, scan: scan, run: run, frame: frame)) }
        var probabilities = result.probabilities, logits = result.logits
        if let p = orientation.sourceSliceOrder(probabilities), let l = orientation.sourceSliceOrder(logits) {
            probabilities = p
            logits = l
        } else {
            CLI.note("\(file): its slices are not axial (axes \(source.geometry.affine.axisCodes)); results are per axial slice, inferior to superior")
        }
        let maximum = probabilities.max() ?? 0
        return Result(file: file, model: checkpoint, slices: probabilities.count, probabilities: probabilities, logits: logits,
                      max: maximum, maxSlice: probabilities.firstIndex(of: maximum),
                      positiveSlices: probabilities.indices.filter { probabilities[$0] >= 0.5 },
                      flipAveraged: flipAverage ? true : nil, slabFactor: slabs.isIdentity ? nil : slabs.factor,
                      headWindow: frame.isIdentity ? nil : HeadWindow(frame))
    }

    func run() throws {
        let (checkpoint, run) = try checkpoint()
        let net = try ResNetLSTM(contentsOf: URL(fileURLWithPath: checkpoint))
        if batch.isBatch {
            // the record DIR/NAME.json is the output
            var settings = ["model": CLI.absolute(checkpoint) ?? "", "series": scanInput.series ?? ""]
            if flipAverage { settings["flip_average"] = "true" }   // absent when off: folders from before still resume
            // --run with a rule for thin slices calls thin scans on slabs, which --model on the same
            // network does not: the folders must not mix (absent without a rule, as before it existed)
            if let rule = run?.config.comparison.thinSlices { settings["thin_slices"] = "\(rule.thinnerThanMM):\(rule.slabMM)" }
            // likewise heads outside the run's range of spans are seen through a window
            if let rule = run?.config.comparison.headSpans { settings["head_spans"] = "\(rule.least):\(rule.most)" + (rule.mostOffset.map { ":\($0)" } ?? "") }
            return try batch.run(command: "classify", force: force, json: json, settings: settings, outputs: { _, _ in [] }) { item, _, _ in
                try classify(item.input.path, with: net, from: checkpoint, run: run)
            }
        }
        let r = try classify(file!, with: net, from: checkpoint, run: run)
        if json {
            try CLI.printJSON(r)
        } else {
            for (k, p) in r.probabilities.enumerated() { print("slice \(k)\t\(String(format: "%.4f", p))") }
            print("max\t\(String(format: "%.4f", r.max))\(r.maxSlice.map { "\t(slice \($0))" } ?? "")")
        }
    }
}
