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
            its own logit at --layer, resized to the slice and divided by its maximum. Methods: \
            gradcam (default), gradcampp (Grad-CAM++ as MONAI), layercam (finer at layer3).
            """)

    @Option(name: .long, help: "The classifier checkpoint (resnet_lstm safetensors).")
    var model: String?

    @Option(name: .customLong("run"), help: "A pipeline run folder: its classifier, CAM method and layer (RUN/config.json).")
    var runFolder: String?

    @Argument(help: "The scan: a NIfTI file (.nii, .nii.gz) or a folder of DICOM files.")
    var file: String

    @OptionGroup var scanInput: ScanInputOptions

    @Option(name: .long, help: "The map to write (.nii or .nii.gz).")
    var out: String

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
        if runFolder != nil && (methodOption != nil || layerOption != nil) {
            throw ValidationError("--method and --layer do not go with --run: the run's CAM settings are used")
        }
        if let methodOption, CAM.Kind(rawValue: methodOption) == nil {
            throw ValidationError("--method must be one of \(CAM.Kind.allCases.map(\.rawValue).joined(separator: ", ")), got '\(methodOption)'")
        }
    }

    struct Output: Encodable {
        var file: String, out: String, method: String, layer: String
        var probabilities: [Float]
    }

    func run() throws {
        let outURL = URL(fileURLWithPath: out)
        try CLI.checkOutput(outURL, force: force)
        var checkpoint = model ?? "", method = methodOption ?? "gradcam", layer = layerOption ?? "layer4"
        if let runFolder {
            let runURL = URL(fileURLWithPath: runFolder)
            let settings = try Pipeline.savedConfig(in: runURL).cam
            checkpoint = runURL.appendingPathComponent("classifier/classifier.safetensors").path
            method = settings.method.rawValue
            layer = settings.layer
        }
        let net = try ResNetLSTM(contentsOf: URL(fileURLWithPath: checkpoint))
        let cam = try CAM.method(CAM.Kind(rawValue: method)!, model: net, layer: layer)
        // Computed in the networks' voxel order (LAS), written back on the scan's own grid.
        let source = try scanInput.read(file)
        let orientation = Reorientation(source)
        let scan = orientation.apply(source)
        let result = try cam.volume(scan)
        try NIfTI.write(orientation.invert(result.map, geometry: source.geometry), to: outURL, datatype: .float32, overwrite: force,
                        descrip: "ichct \(method) \(layer)")
        if json {
            let probabilities = orientation.sourceSliceOrder(result.probabilities) ?? result.probabilities
            try CLI.printJSON(Output(file: file, out: out, method: method, layer: layer, probabilities: probabilities))
        } else {
            let positive = result.probabilities.filter { $0 >= 0.5 }.count
            print("\(out): \(method) at \(layer), \(scan.shape.z) slices, \(positive) called positive (p >= 0.5)")
        }
    }
}
