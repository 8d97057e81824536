import ArgumentParser
import CTVolume
import Foundation
import NeuralCore
import WeakSupervision

/// `ichctl segment`: the test-time refiner (method.md section 7) on one scan, writing a uint8
/// mask on the scan's grid. A thin wrapper over ``UNetLite/segment(_:intracranial:threshold:batchSize:)``.
struct Segment: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Segment hemorrhage in a NIfTI scan with a UNetLite checkpoint.",
        discussion: """
            Preprocesses every axial slice with the checkpoint's input size and windows, runs the \
            network, resizes the logits bilinearly to the scan's grid, thresholds the probability \
            at 0.5 and keeps only voxels inside the intracranial mask. The mask is written as \
            uint8 NIfTI with the scan's qform/sform, so it opens over the scan in a viewer.
            """)

    @Option(name: .long, help: "A UNetLite checkpoint (.safetensors with ichct.config kind unet_lite).")
    var model: String

    @Argument(help: "The scan (.nii or .nii.gz).")
    var file: String

    @Option(name: .long, help: "The mask to write (.nii or .nii.gz).")
    var out: String

    @Option(name: .long, help: "Also write the per-voxel probability map (float32 NIfTI) here.")
    var probabilities: String?

    @Option(name: .long, help: "Probability threshold (default 0.5).")
    var threshold: Float = 0.5

    @Flag(name: .long, help: "Replace outputs that exist.")
    var force = false

    @Flag(name: .long, help: "Print a summary as JSON on stdout.")
    var json = false

    func validate() throws {
        guard threshold > 0 && threshold < 1 else { throw ValidationError("--threshold must lie strictly between 0 and 1") }
        if let probabilities, probabilities == out { throw ValidationError("--probabilities and --out must differ") }
    }

    struct Summary: Encodable {
        let file: String, model: String, out: String, probabilities: String?
        let voxels: Int, intracranialVoxels: Int, volumeMl: Double

        enum CodingKeys: String, CodingKey {
            case file, model, out, probabilities, voxels
            case intracranialVoxels = "intracranial_voxels", volumeMl = "volume_ml"
        }
    }

    func run() throws {
        let outURL = URL(fileURLWithPath: out)
        let probURL = probabilities.map { URL(fileURLWithPath: $0) }
        try CLI.checkOutput(outURL, force: force)
        if let probURL { try CLI.checkOutput(probURL, force: force) }
        let net = try UNetLite(contentsOf: URL(fileURLWithPath: model))
        let scan = try NIfTI.readScan(at: URL(fileURLWithPath: file))
        let result = try net.segment(scan, threshold: threshold)
        if let probURL { try NIfTI.write(result.probabilities, to: probURL, datatype: .float32, overwrite: force, descrip: "ichct ICH probability") }
        try NIfTI.write(result.mask, to: outURL, overwrite: force, descrip: "ichct ICH mask")
        let voxels = result.mask.voxels.reduce(0) { $0 + Int($1) }
        let s = scan.geometry.spacing
        let ml = Double(voxels) * Double(s.x * s.y * s.z) / 1000
        if json {
            try CLI.printJSON(Summary(file: file, model: model, out: out, probabilities: probabilities, voxels: voxels,
                                      intracranialVoxels: result.intracranial.voxels.reduce(0) { $0 + Int($1) }, volumeMl: ml))
        } else {
            CLI.note("\(out): \(voxels) voxel(s) of hemorrhage (\(String(format: "%.2f", ml)) ml)")
        }
    }
}
