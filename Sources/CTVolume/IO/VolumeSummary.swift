import Foundation

/// What `ichctl inspect` shows about a NIfTI file: its header, intensity range and, for a
/// mask, the foreground's size.
public struct VolumeSummary: Sendable, Codable {
    /// The decoded header (grid, datatype, spacing, scaling, transforms, orientation).
    public var header: NIfTIHeader
    /// Which transform the affine comes from: "sform", "qform" or "pixdim".
    public var affineSource: String
    /// Smallest voxel value after scaling (HU for CT).
    public var minimum: Float
    /// Largest voxel value after scaling.
    public var maximum: Float
    /// Mean voxel value after scaling, summed in Double.
    public var mean: Double
    /// Whether the file is summarised as a mask.
    public var isMask: Bool
    /// For a mask: voxels with value > 0.
    public var foregroundVoxels: Int?
    /// For a mask: `foregroundVoxels x spacing.x x spacing.y x spacing.z / 1000` (mL, spacing
    /// taken as mm).
    public var foregroundML: Double?
    /// For a scan (not a mask): the share of the networks' input its head fills
    /// (``HeadExtent/span(height:width:)`` of its axial slices in the networks' voxel order,
    /// ``Reorientation``), the measure a run's ``HeadSpanRule`` judges (a run measures a
    /// thin-slice scan after averaging it into slabs, which can move the box by a voxel); nil
    /// when no voxel is above ``HeadExtent/tissueHU``.
    public var headSpan: Double?
    /// For a scan (not a mask): how far its head's centre lies off the centre of those slices
    /// (``HeadExtent/offset(height:width:)``), the measure a run's
    /// ``HeadSpanRule/mostOffset`` judges; nil when ``headSpan`` is.
    public var headOffset: Double?

    /// Reads `url` and summarises it.
    ///
    /// - Parameters:
    ///   - url: a `.nii` or `.nii.gz` file.
    ///   - asMask: true to summarise as a mask, false never to, nil (default) to decide: a
    ///     uint8 file, or one whose values are all 0 or 1, is a mask.
    /// - Throws: every error of ``NIfTI/readScan(at:)``.
    public static func of(_ url: URL, asMask: Bool? = nil) throws -> VolumeSummary {
        let header = try NIfTI.readHeader(at: url)
        let scan = try NIfTI.readScan(at: url)
        var lo = Float.infinity, hi = -Float.infinity, sum = 0.0
        var binary = true
        var positive = 0
        for v in scan.voxels {
            lo = min(lo, v)
            hi = max(hi, v)
            sum += Double(v)
            if v != 0 && v != 1 { binary = false }
            if v > 0 { positive += 1 }
        }
        let isMask = asMask ?? (header.datatype == "uint8" || binary)
        let source = header.sformCode > 0 ? "sform" : (header.qformCode > 0 ? "qform" : "pixdim")
        var span: Double?, offset: Double?
        if !isMask {
            let las = Reorientation(scan).apply(scan)
            let extent = HeadExtent.measure(las)
            span = extent?.span(height: las.shape.y, width: las.shape.x)
            offset = extent?.offset(height: las.shape.y, width: las.shape.x)
        }
        return VolumeSummary(
            header: header, affineSource: source, minimum: lo, maximum: hi,
            mean: scan.voxels.isEmpty ? 0 : sum / Double(scan.voxels.count), isMask: isMask,
            foregroundVoxels: isMask ? positive : nil,
            foregroundML: isMask ? Double(positive) * header.geometry.voxelVolumeML : nil, headSpan: span, headOffset: offset)
    }

    /// A two-column, human-readable table of the summary.
    public var text: String {
        let h = header
        func num(_ x: Double) -> String {
            if x.isNaN { return "nan" }
            if x.isInfinite { return x > 0 ? "inf" : "-inf" }
            if x == x.rounded() && abs(x) < 1e9 { return String(Int(x)) }
            return String(format: "%.6g", x)
        }
        func xform(_ code: Int32) -> String {
            let names = [0: "unknown", 1: "scanner", 2: "aligned", 3: "talairach", 4: "mni", 5: "template"]
            return "code \(code) (\(names[Int(code)] ?? "nonstandard"))"
        }
        var rows: [(String, String)] = [
            ("file", "\(h.path)\(h.isCompressed ? " (gzip)" : "")"),
            ("grid", "\(h.shape.x) x \(h.shape.y) x \(h.shape.z)" + (h.dimensions.count > 3 ? " (dims \(h.dimensions.map(String.init).joined(separator: " ")))" : "")),
            ("datatype", "\(h.datatype) (\(h.bitpix) bits, \(h.byteOrder)-endian)"),
            ("spacing", "\(num(h.spacing.x)) x \(num(h.spacing.y)) x \(num(h.spacing.z)) \(h.spatialUnit)"),
            ("scaling", h.scaling == .raw
                ? "none (scl_slope \(num(Double(h.sclSlope))), scl_inter \(num(Double(h.sclInter))))"
                : "raw * \(num(Double(h.scaling.slope))) \(h.scaling.intercept < 0 ? "-" : "+") \(num(Double(abs(h.scaling.intercept))))"),
            ("qform", xform(h.qformCode)),
            ("sform", xform(h.sformCode)),
        ]
        for r in 0..<4 {
            let line = (0..<4).map { c in num(h.affine[r, c]).leftPadded(to: 10) }.joined(separator: " ")
            rows.append((r == 0 ? "affine (\(affineSource))" : "", line))
        }
        rows.append(("orientation", h.orientation))
        rows.append((isMask ? "values" : "HU range", "min \(num(Double(minimum)))  max \(num(Double(maximum)))  mean \(num(mean))"))
        if isMask, let n = foregroundVoxels, let ml = foregroundML {
            rows.append(("mask", "\(n) voxels > 0, \(String(format: "%.3f", ml)) mL"))
        }
        if let headSpan {
            rows.append(("head span", String(format: "%.3f of the axial slices' square (the head's box, voxels above %g HU)", headSpan, Double(HeadExtent.tissueHU))))
        }
        if let headOffset {
            rows.append(("head offset", String(format: "%.3f of that square's side between the box's centre and the slices'", headOffset)))
        }
        if !h.descrip.isEmpty { rows.append(("descrip", h.descrip)) }
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
