import ArgumentParser
import CTVolume
import Foundation

/// `ichctl convert DICOM_DIR --out FILE.nii.gz`: one DICOM series to NIfTI. A thin wrapper over
/// ``DICOMSeries/discover(in:)``, ``DICOMDiscovery/choose(uid:)`` and
/// ``DICOMSeriesReader/read(_:settings:)``.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a DICOM CT series (a folder tree) to NIfTI.",
        discussion: """
            Finds the series under DICOM_DIR by Series Instance UID and reads the axial CT series \
            with the most files (or --series UID; --list shows them all). Slices are ordered by \
            their position along the slice normal, stored values are rescaled to HU, padding \
            becomes -1024 HU. A gantry tilt keeps its sheared affine (sform); non-uniform steps are \
            resampled to the median step, and gaps that may be missing slices are reported. The \
            NIfTI is int16 when every HU value is an integer in range, else float32. \
            Rules and refusals: Docs/dicom.md.
            """)

    @Argument(help: "A folder holding the DICOM files (searched recursively).")
    var folder: String

    @Option(name: .long, help: "The NIfTI file to write (.nii or .nii.gz).")
    var out: String?

    @Option(name: .long, help: "The Series Instance UID to read (default: the axial CT series with the most files).")
    var series: String?

    @Flag(name: .long, help: "List the series found and write nothing.")
    var list = false

    @Flag(name: .long, help: "Replace the output if it exists.")
    var force = false

    @Flag(name: .long, help: "Print what was done as JSON on stdout.")
    var json = false

    func validate() throws {
        guard list || out != nil else { throw ValidationError("give --out FILE.nii.gz (or --list)") }
        if let out {
            guard out.hasSuffix(".nii") || out.hasSuffix(".nii.gz") else { throw ValidationError("--out \(out): name a .nii or .nii.gz file") }
            let outKey = URL(fileURLWithPath: out).standardizedFileURL.resolvingSymlinksInPath().path
            let inKey = URL(fileURLWithPath: folder).standardizedFileURL.resolvingSymlinksInPath().path
            guard !outKey.hasPrefix(inKey + "/") else { throw ValidationError("--out \(out): lies inside the DICOM folder; write it elsewhere") }
        }
    }

    struct SeriesListing: Encodable {
        let uid: String, modality: String, files: Int, axial: Bool, localizer: Bool, description: String, folder: String
    }

    struct Listing: Encodable {
        let folder: String, series: [SeriesListing], chosen: String?, skippedFiles: Int, unreadableFiles: [String]
        enum CodingKeys: String, CodingKey {
            case folder, series, chosen, skippedFiles = "skipped_files", unreadableFiles = "unreadable_files"
        }
    }

    struct Summary: Encodable {
        let folder: String, out: String, datatype: String, shape: [Int], spacing: [Double], affine: [[Double]]
        let report: DICOMReadReport, skippedFiles: Int
        enum CodingKeys: String, CodingKey { case folder, out, datatype, shape, spacing, affine, report, skippedFiles = "skipped_files" }
    }

    func run() throws {
        let root = URL(fileURLWithPath: folder)
        guard ScanReader.isFolder(root) else { throw CLIError.invalid("\(folder): not a folder (convert reads a folder of DICOM files)") }
        let outURL = out.map { URL(fileURLWithPath: $0) }
        if let outURL, !list { try CLI.checkOutput(outURL, force: force) }
        let discovery = try DICOMSeries.discover(in: root)
        for bad in discovery.unreadable { CLI.note("warning: \(bad.url.path): \(bad.reason) (skipped)") }
        if list {
            let chosen = try? discovery.choose(uid: series)
            let rows = discovery.series.map {
                SeriesListing(uid: $0.uid, modality: $0.modality, files: $0.fileCount, axial: $0.isAxial, localizer: $0.isLocalizer,
                              description: $0.seriesDescription, folder: $0.folder.path)
            }
            if json {
                try CLI.printJSON(Listing(folder: folder, series: rows, chosen: chosen?.uid, skippedFiles: discovery.skipped.count,
                                          unreadableFiles: discovery.unreadable.map(\.url.path)))
            } else {
                for s in discovery.series { print((s.uid == chosen?.uid ? "* " : "  ") + s.summary) }
                if !discovery.skipped.isEmpty { print("(\(discovery.skipped.count) file(s) that are not DICOM skipped)") }
            }
            return
        }
        let read = try DICOMSeriesReader.read(try discovery.choose(uid: series))
        for warning in read.report.warnings { CLI.note("warning: \(warning)") }
        let scan = read.scan
        let integral = scan.voxels.allSatisfy { $0 == $0.rounded() && $0 >= -32768 && $0 <= 32767 }
        let datatype: NIfTIDatatype = integral ? .int16() : .float32
        try NIfTI.write(scan, to: outURL!, datatype: datatype, overwrite: force, descrip: "ichct convert \(read.report.seriesInstanceUID.suffix(40))")
        let a = scan.geometry.affine
        if json {
            try CLI.printJSON(Summary(folder: folder, out: out!, datatype: integral ? "int16" : "float32",
                                      shape: [scan.shape.x, scan.shape.y, scan.shape.z],
                                      spacing: [scan.geometry.spacing.x, scan.geometry.spacing.y, scan.geometry.spacing.z],
                                      affine: (0..<4).map { r in (0..<4).map { a[r, $0] } }, report: read.report,
                                      skippedFiles: discovery.skipped.count))
        } else {
            let r = read.report
            print("\(out!): \(scan.shape) voxels from \(r.files) file(s) of series \(r.seriesInstanceUID)"
                + (r.resampled ? ", resampled to \(r.slices) slices" : "")
                + String(format: ", slice spacing %.3g mm, tilt %.2g degrees", r.sliceSpacing, r.tiltDegrees))
        }
    }
}
