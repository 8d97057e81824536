import CGDCM
import Foundation

/// The attributes of one DICOM file that series discovery and the series reader use, read up
/// to the pixel data by GDCM (see `Docs/dicom.md`).
public struct DICOMHeader: Sendable, Hashable {
    /// The file.
    public var url: URL
    /// (0008,0018) SOP Instance UID.
    public var sopInstanceUID: String
    /// (0020,000E) Series Instance UID: files of one series share it.
    public var seriesInstanceUID: String
    /// (0020,000D) Study Instance UID.
    public var studyInstanceUID: String
    /// (0020,0052) Frame of Reference UID.
    public var frameOfReferenceUID: String
    /// (0002,0010) the transfer syntax of the data set.
    public var transferSyntaxUID: String
    /// (0008,0060) Modality, e.g. "CT".
    public var modality: String
    /// (0028,0004) Photometric Interpretation.
    public var photometricInterpretation: String
    /// (0008,0008) Image Type values, trimmed and upper-cased, e.g. ["ORIGINAL", "PRIMARY",
    /// "AXIAL"]; empty when the attribute is missing.
    public var imageType: [String]
    /// (0008,103E) Series Description.
    public var seriesDescription: String
    /// (0010,0020) Patient ID.
    public var patientID: String
    /// (0028,0010) Rows and (0028,0011) Columns, in pixels (0 when absent).
    public var rows: Int, columns: Int
    /// (0028,0002) Samples per Pixel.
    public var samplesPerPixel: Int
    /// (0028,0100) Bits Allocated.
    public var bitsAllocated: Int
    /// (0028,0103) Pixel Representation (0 unsigned, 1 signed).
    public var pixelRepresentation: Int
    /// (0028,0008) Number of Frames (1 when absent).
    public var numberOfFrames: Int
    /// (0020,0013) Instance Number, when present (never used for ordering).
    public var instanceNumber: Int?
    /// (0020,0032) Image Position (Patient), LPS millimetres, when present.
    public var position: SIMD3<Double>?
    /// (0020,0037) Image Orientation (Patient): the row direction (along a row, i.e. the
    /// column index grows) and the column direction (down a column), LPS, when present.
    public var orientation: (row: SIMD3<Double>, column: SIMD3<Double>)? {
        get { orientationValues.map { (SIMD3($0[0], $0[1], $0[2]), SIMD3($0[3], $0[4], $0[5])) } }
        set { orientationValues = newValue.map { [$0.row.x, $0.row.y, $0.row.z, $0.column.x, $0.column.y, $0.column.z] } }
    }
    /// The six values of (0020,0037), when present.
    public var orientationValues: [Double]?
    /// (0028,0030) Pixel Spacing: between rows, then between columns (mm), when present.
    public var pixelSpacing: (row: Double, column: Double)? {
        get { pixelSpacingValues.map { ($0[0], $0[1]) } }
        set { pixelSpacingValues = newValue.map { [$0.row, $0.column] } }
    }
    /// The two values of (0028,0030), when present.
    public var pixelSpacingValues: [Double]?
    /// (0028,1053) Rescale Slope (1 when absent) and (0028,1052) Rescale Intercept (0 when absent).
    public var rescaleSlope: Double, rescaleIntercept: Double
    /// (0028,0120) Pixel Padding Value and (0028,0121) Pixel Padding Range Limit, stored values.
    public var paddingValue: Double?, paddingRangeLimit: Double?
    /// (0018,1120) Gantry/Detector Tilt in degrees, as recorded (the reader measures the tilt
    /// from the positions and does not rely on this).
    public var gantryTilt: Double?
    /// (0018,0050) Slice Thickness (mm).
    public var sliceThickness: Double?

    /// True when Image Type names a localizer (scout) image.
    public var isLocalizer: Bool { imageType.contains("LOCALIZER") }

    /// The unit normal of the image plane (row direction x column direction, LPS); nil without
    /// an orientation or when the two directions are parallel (a zero cross product).
    public var sliceNormal: SIMD3<Double>? {
        guard let o = orientation else { return nil }
        let n = SIMD3(o.row.y * o.column.z - o.row.z * o.column.y,
                      o.row.z * o.column.x - o.row.x * o.column.z,
                      o.row.x * o.column.y - o.row.y * o.column.x)
        let length = (n * n).sum().squareRoot()
        return length > 0 ? n / length : nil
    }

    /// Reads the header of `url` (up to the pixel data; no pixels decoded). A missing or
    /// unparsable attribute reads as nil (the optionals), "" (text), 1 (Samples per Pixel,
    /// Number of Frames, Rescale Slope) or 0 (the other numbers).
    /// - Throws: ``CTVolumeError/notDICOM(path:reason:)`` for a file without the "DICM" preamble
    ///   that GDCM cannot parse either (or one that cannot be opened), and
    ///   ``CTVolumeError/invalidDICOM(path:reason:)`` for a file with the preamble whose header
    ///   cannot be parsed.
    public static func read(at url: URL) throws -> DICOMHeader {
        var raw = ichct_dicom_header()
        var message = [CChar](repeating: 0, count: 512)
        let status = url.path.withCString { ichct_dicom_read_header($0, &raw, &message, message.count) }
        let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        switch status {
        case 0: return DICOMHeader(url: url, raw: raw)
        case 1: throw CTVolumeError.notDICOM(path: url.path, reason: reason)
        default: throw CTVolumeError.invalidDICOM(path: url.path, reason: reason)
        }
    }

    init(url: URL, raw: ichct_dicom_header) {
        var raw = raw
        func text<T>(_ field: inout T) -> String {
            withUnsafeBytes(of: &field) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
        }
        self.url = url
        sopInstanceUID = text(&raw.sop_instance_uid)
        seriesInstanceUID = text(&raw.series_instance_uid)
        studyInstanceUID = text(&raw.study_instance_uid)
        frameOfReferenceUID = text(&raw.frame_of_reference_uid)
        transferSyntaxUID = text(&raw.transfer_syntax_uid)
        modality = text(&raw.modality)
        photometricInterpretation = text(&raw.photometric_interpretation)
        imageType = text(&raw.image_type).split(separator: "\\").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
        seriesDescription = text(&raw.series_description)
        patientID = text(&raw.patient_id)
        rows = Int(raw.rows)
        columns = Int(raw.columns)
        samplesPerPixel = Int(raw.samples_per_pixel)
        bitsAllocated = Int(raw.bits_allocated)
        pixelRepresentation = Int(raw.pixel_representation)
        numberOfFrames = Int(raw.number_of_frames)
        instanceNumber = raw.has_instance_number != 0 ? Int(raw.instance_number) : nil
        position = raw.has_position != 0 ? SIMD3(raw.position.0, raw.position.1, raw.position.2) : nil
        orientationValues = raw.has_orientation != 0
            ? [raw.orientation.0, raw.orientation.1, raw.orientation.2, raw.orientation.3, raw.orientation.4, raw.orientation.5] : nil
        pixelSpacingValues = raw.has_pixel_spacing != 0 ? [raw.pixel_spacing.0, raw.pixel_spacing.1] : nil
        rescaleSlope = raw.has_slope != 0 ? raw.slope : 1
        rescaleIntercept = raw.has_intercept != 0 ? raw.intercept : 0
        paddingValue = raw.has_padding_value != 0 ? raw.padding_value : nil
        paddingRangeLimit = raw.has_padding_limit != 0 ? raw.padding_limit : nil
        gantryTilt = raw.has_gantry_tilt != 0 ? raw.gantry_tilt : nil
        sliceThickness = raw.has_slice_thickness != 0 ? raw.slice_thickness : nil
    }

    /// The stored pixel values of the file's single frame, row-major (`rows * columns`), decoded
    /// by GDCM's codecs; no rescale applied.
    /// - Throws: ``CTVolumeError/invalidDICOM(path:reason:)`` naming the file: no pixel data,
    ///   a truncated or undecodable stream, or a size that differs from the header's.
    public func readStoredPixels() throws -> [Float] {
        var pixels = [Float](repeating: 0, count: rows * columns)
        try pixels.withUnsafeMutableBufferPointer { try readStoredPixels(into: $0) }
        return pixels
    }

    /// ``readStoredPixels()`` into the first `rows * columns` elements of `buffer`; the rest of
    /// `buffer` is left as it is.
    /// - Precondition: `buffer` holds at least `rows * columns` floats.
    /// - Throws: as ``readStoredPixels()``.
    public func readStoredPixels(into buffer: UnsafeMutableBufferPointer<Float>) throws {
        let count = rows * columns
        precondition(buffer.count >= count, "readStoredPixels: \(buffer.count) floats for \(count) pixels")
        var message = [CChar](repeating: 0, count: 512)
        let status = url.path.withCString { ichct_dicom_read_pixels($0, buffer.baseAddress, count, &message, message.count) }
        guard status == 0 else {
            let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw CTVolumeError.invalidDICOM(path: url.path, reason: reason)
        }
    }

    /// The DICOM library in use and its version (e.g. "GDCM 3.0.21").
    public static var libraryVersion: String { String(cString: ichct_dicom_library_version()) }
}
