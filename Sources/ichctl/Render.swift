import ArgumentParser
import CTVolume
import Foundation

/// `ichctl render`: a slice or a montage of a scan as PNG, with an optional mask outline and
/// heat map. A thin wrapper over ``SliceRenderer`` and ``PNG``.
struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw a slice or a montage of a scan (NIfTI or DICOM folder) as PNG, with a mask and a heat map over it.",
        discussion: """
            The scan is shown in a CT window; a mask (voxel > 0) is drawn as an outline or a \
            translucent fill; a heat map (a CAM or a probability map on the scan's grid, values \
            in 0...1 unless --heatmap-range says otherwise) through the inferno colormap. \
            Without --slice or --montage the middle slice is drawn. \
            Pictures follow the affine in the radiological convention (anterior up, the patient's \
            right on the left) whatever voxel order the file stores; slice numbers are the file's \
            when its slices are axial. --voxel-order draws by voxel index instead.
            """)

    @Argument(help: "The scan: a NIfTI file (.nii, .nii.gz) or a folder of DICOM files.")
    var file: String

    @OptionGroup var scanInput: ScanInputOptions

    @Option(name: .long, help: "The PNG to write.")
    var out: String

    @Option(name: .long, help: "Window: brain, subdural, bone, stroke or CENTER,WIDTH in HU.")
    var window: String = "brain"

    @Option(name: .long, help: "Axial slice index (0-based).")
    var slice: Int?

    @Flag(name: .long, help: "Draw every slice in a grid.")
    var montage = false

    @Option(name: .long, help: "Montage slices, comma-separated (default: all).")
    var slices: String?

    @Option(name: .long, help: "Montage columns (default: a near-square grid).")
    var columns: Int?

    @Option(name: .long, help: "A mask on the scan's grid (voxel > 0 is inside).")
    var mask: String?

    @Option(name: .long, help: "How to draw the mask: outline or fill.")
    var maskStyle: String = "outline"

    @Flag(name: .long, help: "Also outline the intracranial mask (computed with its default parameters) in cyan.")
    var intracranial = false

    @Option(name: .long, help: "A heat map on the scan's grid (NIfTI).")
    var heatmap: String?

    @Option(name: .long, parsing: .unconditional, help: "Heat-map values drawn as the colormap's ends, LO:HI (e.g. -1:1).")
    var heatmapRange: String = "0:1"

    @Flag(name: .long, help: "Draw by voxel index instead of the affine, largest j at the top (default: radiological convention from the affine).")
    var voxelOrder = false

    @Flag(name: .long, help: "Draw by voxel index with row j = 0 at the top.")
    var noFlip = false

    @Flag(name: .long, help: "Replace the output if it exists.")
    var force = false

    @Flag(name: .long, help: "Print what was written as JSON on stdout.")
    var json = false

    func validate() throws {
        if slice != nil && montage { throw ValidationError("--slice and --montage exclude each other") }
        if let c = columns, c < 1 { throw ValidationError("--columns must be at least 1") }
        if slices != nil && !montage { throw ValidationError("--slices needs --montage (use --slice for one slice)") }
        _ = try parseSlices()
        if !["outline", "fill"].contains(maskStyle) { throw ValidationError("--mask-style must be outline or fill") }
        _ = try parseRange()
        do { _ = try Window.parse(window) } catch { throw ValidationError("--window: \(error)") }
    }

    private func parseSlices() throws -> [Int]? {
        guard let slices else { return nil }
        let ks = slices.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !ks.isEmpty, ks.allSatisfy({ $0 != nil }) else {
            throw ValidationError("--slices must be comma-separated slice indices, got '\(slices)'")
        }
        return ks.map { $0! }
    }

    /// `--heatmap-range` as Float ends, checked after the conversion (which may round two close
    /// ends together or overflow). Errors are usage errors.
    private func parseRange() throws -> ClosedRange<Float> {
        let range: ClosedRange<Double>
        do { range = try ValueRange.parse(heatmapRange, name: "--heatmap-range", strict: true) } catch { throw ValidationError("\(error)") }
        let lo = Float(range.lowerBound), hi = Float(range.upperBound)
        guard lo.isFinite, hi.isFinite, lo < hi else {
            throw ValidationError("--heatmap-range \(heatmapRange): the ends must be finite and differ in single precision")
        }
        return lo...hi
    }

    struct Written: Encodable {
        let out: String, width: Int, height: Int, slices: [Int], window: String
    }

    func run() throws {
        let outURL = URL(fileURLWithPath: out)
        try CLI.checkOutput(outURL, force: force)
        let scan = try scanInput.read(file)
        var maskVolume: MaskVolume?
        if let mask {
            maskVolume = try NIfTI.readMask(at: URL(fileURLWithPath: mask), matching: scan.geometry, shape: scan.shape)
        }
        var heat: ScanVolume?
        if let heatmap {
            let url = URL(fileURLWithPath: heatmap)
            try NIfTI.checkSameGrid(NIfTI.readHeader(at: url), shape: scan.shape, geometry: scan.geometry)
            heat = try NIfTI.readScan(at: url)
        }
        let style: MaskStyle = maskStyle == "fill" ? .fill(.red, opacity: 0.4) : .outline(.red)
        var overlays = [SliceRenderer.MaskOverlay]()
        if intracranial { overlays.append(.init(try IntracranialMask.compute(scan), style: .outline(.cyan))) }
        if let maskVolume { overlays.append(.init(maskVolume, style: style)) }
        let renderer = SliceRenderer(window: try Window.parse(window), maskStyle: style, heatmapRange: try parseRange(),
                                     flipVertically: !noFlip, radiological: !(voxelOrder || noFlip))
        // slices as the renderer numbers them: the file's when axial, else the displayed axial ones
        let slices = renderer.displayedSliceCount(scan)
        let drawn: [Int] = montage ? (try parseSlices() ?? Array(0..<slices)) : [slice ?? slices / 2]
        let image = montage
            ? try renderer.montage(scan, slices: drawn, masks: overlays, heatmap: heat, columns: columns)
            : try renderer.render(scan, slice: drawn[0], masks: overlays, heatmap: heat)
        try PNG.write(image, to: outURL, overwrite: force)
        if json {
            try CLI.printJSON(Written(out: out, width: image.width, height: image.height, slices: drawn,
                                      window: renderer.window.description))
        } else {
            CLI.note("\(out): \(image.width) x \(image.height), \(drawn.count == 1 ? "slice \(drawn[0])" : "\(drawn.count) slices")")
        }
    }
}
