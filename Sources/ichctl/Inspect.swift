import ArgumentParser
import CTVolume
import Foundation

/// `ichctl inspect FILE [--json] [--mask]`: a NIfTI file's header, geometry, scaling and
/// value range; for a mask, its foreground size; for a scan, its head span. Wraps ``VolumeSummary/of(_:asMask:)``.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a NIfTI file's grid, datatype, spacing, affine, orientation, scaling and value range.",
        discussion: "A file is summarised as a mask (foreground voxel count and volume in mL) when it is uint8 or holds only 0 and 1, or when --mask is given. For a scan it shows the head span, the share of its axial slices' square the head's box fills, and the head offset, how far the box's centre lies off the slices' centre as a share of that square's side: what a run's comparison.headSpans judges.")

    @Argument(help: "A .nii or .nii.gz file.")
    var file: String

    @Flag(help: "Print JSON on stdout instead of a table.")
    var json = false

    @Flag(help: "Summarise as a mask (voxels > 0 are foreground) whatever the datatype.")
    var mask = false

    func run() throws {
        if ScanReader.isFolder(URL(fileURLWithPath: file)) {
            throw CLIError.invalid("\(file): is a folder; inspect shows a NIfTI file's header (for a DICOM folder, `ichctl convert \(file) --list` shows its series and `convert --json` the grid it reads)")
        }
        let summary = try VolumeSummary.of(URL(fileURLWithPath: file), asMask: mask ? true : nil)
        if json {
            try CLI.printJSON(summary)
        } else {
            print(summary.text)
        }
    }
}
