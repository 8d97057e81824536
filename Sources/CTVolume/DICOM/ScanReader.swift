import Foundation

/// One entry point for a scan on disk, whatever its format: a NIfTI file (`.nii`, `.nii.gz`)
/// or a folder of DICOM files (one series chosen by ``DICOMDiscovery/choose(uid:)``).
///
/// ```swift
/// let scan = try ScanReader.read(at: URL(filePath: "patient-17/"))          // DICOM folder
/// let other = try ScanReader.read(at: URL(filePath: "case_001.nii.gz"))    // NIfTI
/// ```
///
/// Either way the result is the same ``ScanVolume``: Hounsfield units, geometry in the NIfTI
/// (RAS) convention.
public enum ScanReader {
    /// A scan and, when it came from DICOM, what the DICOM reader did.
    public struct Result: Sendable {
        /// The scan in HU.
        public var scan: ScanVolume
        /// The DICOM reader's report; nil for NIfTI.
        public var dicom: DICOMReadReport?
    }

    /// True when `url` names an existing folder (read as DICOM), links followed; false for a
    /// file or a missing path.
    public static func isFolder(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Reads the scan at `url`: a folder as DICOM (``isFolder(_:)``), anything else as a NIfTI
    /// file.
    /// - Parameters:
    ///   - seriesUID: for a DICOM folder, the series to read (default: the documented choice).
    ///   - settings: for a DICOM folder, the reader's settings.
    /// - Throws: as ``NIfTI/readScan(at:)`` or ``DICOMSeriesReader/read(folder:seriesUID:settings:)``;
    ///   `.invalidParameter` when `seriesUID` is given for a NIfTI file.
    public static func readWithReport(at url: URL, seriesUID: String? = nil,
                                      settings: DICOMReadSettings = DICOMReadSettings()) throws -> Result {
        if isFolder(url) {
            let read = try DICOMSeriesReader.read(folder: url, seriesUID: seriesUID, settings: settings)
            return Result(scan: read.scan, dicom: read.report)
        }
        if seriesUID != nil {
            throw CTVolumeError.invalidParameter(name: "series", reason: "\(url.path) is a NIfTI file; --series picks a series in a DICOM folder")
        }
        return Result(scan: try NIfTI.readScan(at: url), dicom: nil)
    }

    /// The scan at `url`, read with the default DICOM settings, without the report.
    /// - Throws: as ``readWithReport(at:seriesUID:settings:)``.
    public static func read(at url: URL, seriesUID: String? = nil) throws -> ScanVolume {
        try readWithReport(at: url, seriesUID: seriesUID).scan
    }
}
