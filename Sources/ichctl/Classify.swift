import ArgumentParser
import CTVolume
import Foundation
import NeuralCore
import WeakSupervision

/// `ichctl classify`: per-slice ICH probabilities of a volume from a ResNetLSTM checkpoint.
/// A thin wrapper over ``ResNetLSTM/classify(_:chunkSize:)``.
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

    @Option(name: .customLong("run"), help: "A pipeline run folder: use its classifier (RUN/classifier/classifier.safetensors).")
    var runFolder: String?

    func validate() throws {
        guard (model == nil) != (runFolder == nil) else { throw ValidationError("give either --model or --run") }
    }

    /// The checkpoint: --model, or the run's classifier.
    var checkpoint: String {
        model ?? URL(fileURLWithPath: runFolder!).appendingPathComponent("classifier/classifier.safetensors").path
    }

    @Argument(help: "The scan: a NIfTI file (.nii, .nii.gz) or a folder of DICOM files.")
    var file: String

    @OptionGroup var scanInput: ScanInputOptions

    @Flag(name: .long, help: "Print the result as JSON on stdout.")
    var json = false

    struct Result: Encodable {
        let file: String
        let model: String
        let slices: Int
        let probabilities: [Float]
        let logits: [Float]
        let max: Float
        let maxSlice: Int?
        let positiveSlices: [Int]

        enum CodingKeys: String, CodingKey {
            case file, model, slices, probabilities, logits, max
            case maxSlice = "max_slice", positiveSlices = "positive_slices"
        }
    }

    func run() throws {
        let net = try ResNetLSTM(contentsOf: URL(fileURLWithPath: checkpoint))
        // The LSTM reads axial slices inferior to superior in the order it was trained on (LAS);
        // results are reported per slice of the file when its slices are axial.
        let source = try scanInput.read(file)
        let orientation = Reorientation(source)
        let result = net.classify(orientation.apply(source))
        var probabilities = result.probabilities, logits = result.logits
        if let p = orientation.sourceSliceOrder(probabilities), let l = orientation.sourceSliceOrder(logits) {
            probabilities = p
            logits = l
        } else {
            CLI.note("\(file): its slices are not axial (axes \(source.geometry.affine.axisCodes)); results are per axial slice, inferior to superior")
        }
        let maximum = probabilities.max() ?? 0
        let maxSlice = probabilities.firstIndex(of: maximum)
        let positive = probabilities.indices.filter { probabilities[$0] >= 0.5 }
        if json {
            try CLI.printJSON(Result(file: file, model: checkpoint, slices: probabilities.count, probabilities: probabilities,
                                     logits: logits, max: maximum, maxSlice: maxSlice, positiveSlices: positive))
        } else {
            for (k, p) in probabilities.enumerated() { print("slice \(k)\t\(String(format: "%.4f", p))") }
            print("max\t\(String(format: "%.4f", maximum))\(maxSlice.map { "\t(slice \($0))" } ?? "")")
        }
    }
}
