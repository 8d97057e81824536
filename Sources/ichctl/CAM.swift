import ArgumentParser
import CTVolume
import Foundation
import NeuralCore
import WeakSupervision

/// `ichctl cam`: class activation maps of a scan as a float32 NIfTI on its grid. A thin wrapper
/// over ``CAMMethod/volume(_:)``.
struct CAMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cam",
        abstract: "Class activation maps of a scan (float32 NIfTI on its grid, 0..1 per slice).",
        discussion: """
            All slices go through the classifier as one sequence; each slice's map is taken for \
            its own logit at --layer, resized to the slice (through its square frame when the \
            slice is not square) and divided by its maximum. Methods: \
            gradcam (default), gradcampp (Grad-CAM++ as MONAI), layercam (finer at layer3).
            """)

    @Option(name: .long, help: "The classifier checkpoint (resnet_lstm safetensors).")
    var model: String?

    @Option(name: .customLong("run"), help: "A pipeline run folder: its CAM classifier (RUN/classifier/classifier.safetensors, also in a run with a slice-call classifier), CAM method and layer (RUN/config.json).")
    var runFolder: String?

    @Argument(help: "The scan: a NIfTI file (.nii, .nii.gz) or a folder of DICOM files (or --list).")
    var file: String?

    @OptionGroup var scanInput: ScanInputOptions

    @Option(name: .long, help: "The map to write (.nii or .nii.gz); with --list, --out-dir instead.")
    var out: String?

    @OptionGroup var batch: BatchOptions

    @Option(name: .customLong("method"), help: "gradcam (default), gradcampp or layercam; with --run, the run's.")
    var methodOption: String?

    @Option(name: .customLong("layer"), help: "Target stage: layer1 ... layer4 (default layer4); with --run, the run's.")
    var layerOption: String?

    @Flag(name: .long, help: "Replace the output if it exists.")
    var force = false

    @Flag(name: .long, help: "Print the per-slice probabilities as JSON on stdout.")
    var json = false

    func validate() throws {
        guard (model == nil) != (runFolder == nil) else { throw ValidationError("give either --model or --run") }
        if batch.isBatch {
            guard file == nil && out == nil else { throw ValidationError("--list takes neither a scan argument nor --out: outputs go to --out-dir") }
        } else {
            guard file != nil else { throw ValidationError("give a scan (or --list FILE --out-dir DIR)") }
            guard out != nil else { throw ValidationError("--out is required with a scan") }
        }
        if runFolder != nil && (methodOption != nil || layerOption != nil) {
            throw ValidationError("--method and --layer do not go with --run: the run's CAM settings are used")
        }
        if let methodOption, CAM.Kind(rawValue: methodOption) == nil {
            throw ValidationError("--method must be one of \(CAM.Kind.allCases.map(\.rawValue).joined(separator: ", ")), got '\(methodOption)'")
        }
    }

    struct Output: BatchRecord {
        var file: String, out: String, method: String, layer: String
        var probabilities: [Float]
        static let csvColumns = ["out", "method", "layer", "slices", "max"]
        var csvValues: [String] { [out, method, layer, "\(probabilities.count)", "\(probabilities.max() ?? 0)"] }
    }

    func run() throws {
        var checkpoint = model ?? "", method = methodOption ?? "gradcam", layer = layerOption ?? "layer4"
        if let runFolder {
            let runURL = URL(fileURLWithPath: runFolder)
            let pipeline = try Pipeline(config: Pipeline.savedConfig(in: runURL), output: runURL)
            let settings = pipeline.config.cam
            checkpoint = pipeline.camClassifierURL.path   // the CAM classifier, also beside a slice-call one
            method = settings.method.rawValue
            layer = settings.layer
        }
        if !batch.isBatch { try CLI.checkOutput(URL(fileURLWithPath: out!), force: force) }
        let net = try ResNetLSTM(contentsOf: URL(fileURLWithPath: checkpoint))
        let cam = try CAM.method(CAM.Kind(rawValue: method)!, model: net, layer: layer)
        func map(_ file: String, to outURL: URL, reportedOut: String, overwrite: Bool) throws -> Output {
            // Computed in the networks' voxel order (LAS), written back on the scan's own grid.
            let source = try scanInput.read(file)
            let orientation = Reorientation(source)
            let result = try cam.volume(orientation.apply(source))
            try NIfTI.write(orientation.invert(result.map, geometry: source.geometry), to: outURL, datatype: .float32, overwrite: overwrite,
                            descrip: "ichct \(method) \(layer)")
            let probabilities = orientation.sourceSliceOrder(result.probabilities) ?? result.probabilities
            return Output(file: file, out: reportedOut, method: method, layer: layer, probabilities: probabilities)
        }
        if batch.isBatch {
            let outputs: (ScanList.Item, URL) -> [URL] = { item, dir in [dir.appendingPathComponent(item.name + ".nii.gz")] }
            let settings = ["model": CLI.absolute(checkpoint) ?? "", "method": method, "layer": layer, "series": scanInput.series ?? ""]
            return try batch.run(command: "cam", force: force, json: json, settings: settings, outputs: outputs) { item, staged, final in
                try map(item.input.path, to: staged[0], reportedOut: final[0].path, overwrite: true)
            }
        }
        let r = try map(file!, to: URL(fileURLWithPath: out!), reportedOut: out!, overwrite: force)
        if json {
            try CLI.printJSON(r)
        } else {
            let positive = r.probabilities.filter { $0 >= 0.5 }.count
            print("\(out!): \(method) at \(layer), \(r.probabilities.count) slices, \(positive) called positive (p >= 0.5)")
        }
    }
}
