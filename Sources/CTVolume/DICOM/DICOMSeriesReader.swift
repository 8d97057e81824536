import Dispatch
import Foundation
import ImageCore

/// How ``DICOMSeriesReader`` turns a series into a volume.
public struct DICOMReadSettings: Sendable, Hashable, Codable {
    /// Hounsfield value written where the stored value is the Pixel Padding Value (or inside
    /// the padding range): air, so that padding outside the field of view reads as outside
    /// the head. Default -1024.
    public var paddingHU: Float = -1024
    /// Steps between consecutive slice positions that differ from the median step by at most
    /// this fraction of it count as uniform. Default 0.01.
    public var stepTolerance: Double = 0.01
    /// A step longer than this many median steps is reported as a gap where a slice may be
    /// missing. Default 1.5.
    public var gapFactor: Double = 1.5
    /// Files decoded at once. Default: the active processors, at most 4; values below 1
    /// count as 1.
    public var workers: Int = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 4))

    /// The defaults.
    public init() {}
}

/// What reading a series did, for people (`ichctl convert`) and machines (`--json`).
public struct DICOMReadReport: Sendable, Hashable, Codable {
    /// The series read.
    public var seriesInstanceUID: String
    /// Its description, if any.
    public var seriesDescription: String
    /// Files (input slices) in the series.
    public var files: Int
    /// Slices in the volume (differs from `files` after resampling).
    public var slices: Int
    /// Columns x rows of each slice.
    public var columns: Int, rows: Int
    /// The transfer syntaxes met, sorted.
    public var transferSyntaxes: [String]
    /// Distances between consecutive slice positions along the slice normal, in mm (sorted
    /// by position), before any resampling.
    public var steps: [Double]
    /// The slice spacing of the volume along the slice normal (mm).
    public var sliceSpacing: Double
    /// Angle between the slice step and the slice normal, in degrees: the gantry tilt as the
    /// positions show it. A tilted series keeps its sheared affine (no resampling).
    public var tiltDegrees: Double
    /// True when non-uniform steps were resampled to a uniform grid.
    public var resampled: Bool
    /// Voxels set to ``DICOMReadSettings/paddingHU`` as padding.
    public var paddingVoxels: Int
    /// Things a reader should know (gaps that may be missing slices, resampling, tilt and,
    /// from ``DICOMSeriesReader/read(folder:seriesUID:settings:)``, files that could not be
    /// parsed); empty when there is nothing to say.
    public var warnings: [String]
    /// The decoding library and its version.
    public var library: String
}

/// The slices of a series before decoding: their order, steps, and where each output slice
/// comes from (``DICOMSeriesReader/plan(_:settings:)``). Dataset adapters use it to put
/// per-file labels in the volume's slice order.
public struct DICOMSlicePlan: Sendable, Hashable {
    /// The files, sorted by position along the slice normal.
    public var headers: [DICOMHeader]
    /// Each sorted file's position along the normal (mm).
    public var positions: [Double]
    /// Differences of consecutive positions (mm).
    public var steps: [Double]
    /// The median step (mm); for a single file, its Slice Thickness (1 when missing or not
    /// positive).
    public var medianStep: Double
    /// True when the output slices are resampled (non-uniform steps).
    public var resampled: Bool
    /// One entry per output slice.
    public var sources: [Source]
    /// Gaps and resampling, in words.
    public var warnings: [String]
    /// The volume's voxel-to-world transform (RAS), sheared when the gantry was tilted.
    public var affine: Affine
    /// The distance between output slices along the slice normal (mm).
    public var sliceSpacing: Double
    /// The angle between the slice step and the slice normal (degrees); 0 for a single file.
    public var tiltDegrees: Double

    /// Output slice = input `lower` x (1 - weight) + input `upper` x weight (`lower == upper`
    /// for a copy).
    public struct Source: Sendable, Hashable {
        /// Index into ``DICOMSlicePlan/headers``.
        public var lower: Int, upper: Int
        /// Interpolation weight of `upper`, in (0, 1) when the two differ.
        public var weight: Double
    }

    /// The volume's grid: columns x rows x output slices.
    public var shape: GridShape { GridShape(headers[0].columns, headers[0].rows, sources.count) }

    /// The volume's geometry: qform and sform hold ``affine`` (code 1); a sheared affine
    /// (gantry tilt above 0.01 degrees) only the sform, since a qform cannot hold a shear.
    public var geometry: Geometry {
        var g = Geometry(affine: affine)
        if tiltDegrees > 0.01 { g.qformCode = 0 }
        return g
    }

    /// Per-file values (in ``headers`` order) carried to the output slices: a copied slice
    /// takes its file's value, an interpolated one the larger of its two files' (a slice label
    /// is positive when either neighbour shows bleeding).
    public func outputValues(_ values: [Float]) -> [Float] {
        precondition(values.count == headers.count, "DICOMSlicePlan: \(values.count) values for \(headers.count) files")
        return sources.map { max(values[$0.lower], values[$0.upper]) }
    }
}

/// A scan read from a DICOM series, with what the reader did.
public struct DICOMScan: Sendable {
    /// The volume in Hounsfield units, geometry in the NIfTI (RAS) convention.
    public var scan: ScanVolume
    /// What the reader did.
    public var report: DICOMReadReport
}

/// Reads a single-frame CT series into a ``ScanVolume`` (see `Docs/dicom.md` for every rule):
///
/// - **Order.** Slices are ordered by Image Position (Patient) projected on the slice normal
///   (row x column direction), ascending; never by file name or Instance Number.
/// - **Voxels.** i runs along a row (the column index), j down a column (the row index), k
///   along the normal. A slice's pixels are copied as stored: row r, column c is voxel (c, r, k).
/// - **Geometry.** DICOM's LPS patient coordinates become NIfTI's RAS (x and y negated). Column
///   i of the affine is the row direction times the column spacing, column j the column
///   direction times the row spacing, column k the step between slice positions, origin the
///   first slice's position. A gantry tilt makes that step oblique to the normal: the affine
///   is kept sheared (sform only), so every voxel sits where the DICOM says it is.
/// - **Values.** Stored value x each file's Rescale Slope + Intercept gives HU; padding
///   values (Pixel Padding Value, up to Pixel Padding Range Limit) become
///   ``DICOMReadSettings/paddingHU``.
/// - **Steps.** Uniform steps (within ``DICOMReadSettings/stepTolerance``) are kept. Otherwise
///   the series is resampled along k to the median step by linear interpolation between the
///   two bracketing slices, from the first position to the last; each step longer than
///   ``DICOMReadSettings/gapFactor`` median steps is warned about as a possibly missing slice.
/// - **Refusals**, naming the file: a modality other than CT, more than one sample per pixel,
///   multi-frame images, a missing position, orientation or pixel spacing, sizes or
///   orientations that differ within the series, two slices at one position, no or truncated
///   pixel data.
public enum DICOMSeriesReader {
    /// Checks `series` and plans the volume's slices without decoding pixels: the order, the
    /// steps, and which input slices each output slice comes from.
    /// - Throws: ``CTVolumeError/invalidDICOM(path:reason:)`` for every refusal of the type
    ///   that the headers show (all but pixel-data ones), and for non-uniform positions that
    ///   give no uniform grid of a sensible size (span over median step of 4 per file or more).
    public static func plan(_ series: DICOMSeries, settings: DICOMReadSettings = DICOMReadSettings()) throws -> DICOMSlicePlan {
        let first = series.headers[0]
        try check(first, against: nil)
        for header in series.headers.dropFirst() { try check(header, against: first) }
        let normal = first.sliceNormal!
        let sorted = series.headers.sorted { projection($0, normal) < projection($1, normal) }
        let positions = sorted.map { projection($0, normal) }
        for k in 1..<max(1, sorted.count) where abs(positions[k] - positions[k - 1]) < 1e-4 {
            throw CTVolumeError.invalidDICOM(path: sorted[k].url.path,
                                             reason: "lies at the same position as \(sorted[k - 1].url.lastPathComponent) (two slices at one place: a duplicate or a second acquisition; keep one)")
        }
        let steps = zip(positions.dropFirst(), positions).map { $0 - $1 }
        // One file: its slice thickness (when a usable one) as the step along the normal.
        let thickness = first.sliceThickness.flatMap { $0.isFinite && $0 > 0 ? $0 : nil } ?? 1
        let median = steps.isEmpty ? thickness : medianOf(steps)
        let uniform = steps.allSatisfy { abs($0 - median) <= settings.stepTolerance * median }
        var warnings: [String] = []
        for (k, step) in steps.enumerated() where step > settings.gapFactor * median {
            warnings.append("gap of \(format(step)) mm between \(sorted[k].url.lastPathComponent) and \(sorted[k + 1].url.lastPathComponent) (median step \(format(median)) mm): a slice may be missing")
        }
        var sources: [DICOMSlicePlan.Source] = []
        if uniform || sorted.count < 2 {
            sources = sorted.indices.map { DICOMSlicePlan.Source(lower: $0, upper: $0, weight: 0) }
        } else {
            let span = positions.last! - positions[0]
            // A plan of many more slices than files means positions no volume can come from
            // (a few slices a hair apart among normal steps): refused rather than resampled.
            guard median > 0, (span / median).isFinite, span / median < Double(4 * sorted.count) else {
                throw CTVolumeError.invalidDICOM(path: series.folder.path, reason: "slice positions (median step \(format(median)) mm over \(format(span)) mm, \(sorted.count) files) cannot be resampled to a uniform grid of a sensible size")
            }
            let count = Int((span / median).rounded()) + 1
            warnings.append("non-uniform slice steps (\(format(steps.min()!)) to \(format(steps.max()!)) mm): resampled to \(count) slices of \(format(span / Double(count - 1))) mm by linear interpolation")
            var lower = 0
            for m in 0..<count {
                let p = positions[0] + Double(m) * span / Double(count - 1)
                while lower < positions.count - 2 && positions[lower + 1] <= p { lower += 1 }
                let t = max(0, min(1, (p - positions[lower]) / (positions[lower + 1] - positions[lower])))
                if t < 1e-9 {
                    sources.append(.init(lower: lower, upper: lower, weight: 0))
                } else if t > 1 - 1e-9 {
                    sources.append(.init(lower: lower + 1, upper: lower + 1, weight: 0))
                } else {
                    sources.append(.init(lower: lower, upper: lower + 1, weight: t))
                }
            }
        }
        // The affine: LPS -> RAS by negating x and y.
        let firstPosition = sorted[0].position!, lastPosition = sorted[sorted.count - 1].position!
        let stepVector: SIMD3<Double> = sorted.count > 1
            ? (lastPosition - firstPosition) / Double(sources.count - 1)
            : normal * thickness
        let orientation = first.orientation!, spacing = first.pixelSpacing!
        let sign = SIMD3<Double>(-1, -1, 1)
        let i = orientation.row * spacing.column * sign, j = orientation.column * spacing.row * sign
        let k = stepVector * sign, origin = firstPosition * sign
        let affine = Affine(rowMajor: [i.x, j.x, k.x, origin.x, i.y, j.y, k.y, origin.y, i.z, j.z, k.z, origin.z, 0, 0, 0, 1])
        let stepLength = (stepVector * stepVector).sum().squareRoot()
        let cosine = min(1, abs((stepVector * normal).sum()) / max(stepLength, 1e-12))
        return DICOMSlicePlan(headers: sorted, positions: positions, steps: steps, medianStep: median,
                              resampled: !(uniform || sorted.count < 2), sources: sources, warnings: warnings,
                              affine: affine, sliceSpacing: abs((stepVector * normal).sum()),
                              tiltDegrees: sorted.count > 1 ? acos(cosine) * 180 / Double.pi : 0)
    }

    /// Reads `series` with `settings`: ``plan(_:settings:)``, then every file decoded and
    /// rescaled to HU (resampled along k when the plan says so).
    /// - Returns: the volume (HU, RAS geometry) and what the reader did.
    /// - Throws: as ``plan(_:settings:)``, and ``CTVolumeError/invalidDICOM(path:reason:)``
    ///   naming the file for no, truncated or undecodable pixel data (the first file by slice
    ///   order when several fail).
    public static func read(_ series: DICOMSeries, settings: DICOMReadSettings = DICOMReadSettings()) throws -> DICOMScan {
        let plan = try plan(series, settings: settings)
        let sorted = plan.headers, first = sorted[0]
        var warnings = plan.warnings
        // Decode every file into one buffer (in parallel, each file its own slice), rescaling
        // each slice to HU as soon as it is decoded.
        let rows = first.rows, columns = first.columns, sliceCount = rows * columns
        let stored = SharedBuffer<Float>(count: sorted.count * sliceCount, repeating: 0)
        let padded = try decode(sorted, into: stored, sliceCount: sliceCount, paddingHU: settings.paddingHU, workers: settings.workers)
        let padding = padded.reduce(0, +)

        // Output slices: the decoded ones, or linear interpolation between two of them.
        let outputSlices = plan.sources.count
        var voxels: [Float]
        if !plan.resampled {
            voxels = stored.array()
        } else {
            voxels = [Float](repeating: 0, count: outputSlices * sliceCount)
            voxels.withUnsafeMutableBufferPointer { out in
                for (m, source) in plan.sources.enumerated() {
                    let a = stored.pointer + source.lower * sliceCount, b = stored.pointer + source.upper * sliceCount
                    let t = Float(source.weight), o = out.baseAddress! + m * sliceCount
                    if source.lower == source.upper {
                        o.update(from: a, count: sliceCount)
                    } else {
                        for n in 0..<sliceCount { o[n] = a[n] + t * (b[n] - a[n]) }
                    }
                }
            }
        }
        let tilt = plan.tiltDegrees
        let geometry = plan.geometry
        if tilt > 0.01 {
            warnings.append("gantry tilt \(format(tilt)) degrees: the sheared affine is kept (no resampling)")
        }
        let report = DICOMReadReport(
            seriesInstanceUID: series.uid, seriesDescription: first.seriesDescription, files: sorted.count,
            slices: outputSlices, columns: columns, rows: rows,
            transferSyntaxes: Array(Set(sorted.map(\.transferSyntaxUID))).sorted(), steps: plan.steps,
            sliceSpacing: plan.sliceSpacing, tiltDegrees: tilt, resampled: plan.resampled,
            paddingVoxels: padding, warnings: warnings, library: DICOMHeader.libraryVersion)
        return DICOMScan(scan: ScanVolume(shape: GridShape(columns, rows, outputSlices), voxels: voxels, geometry: geometry),
                         report: report)
    }

    /// Discovers the series under `folder`, chooses one (``DICOMDiscovery/choose(uid:)``: the
    /// series `seriesUID`, or the default choice when nil) and reads it. Files that look like
    /// DICOM but could not be parsed are named in the report's warnings.
    /// - Throws: as ``DICOMSeries/discover(in:)``, ``DICOMDiscovery/choose(uid:)`` and
    ///   ``read(_:settings:)``.
    public static func read(folder: URL, seriesUID: String? = nil, settings: DICOMReadSettings = DICOMReadSettings()) throws -> DICOMScan {
        let discovery = try DICOMSeries.discover(in: folder)
        var scan = try read(try discovery.choose(uid: seriesUID), settings: settings)
        // Files that look like DICOM but could not be parsed may be slices of this series.
        scan.report.warnings += discovery.unreadable.map { "\($0.url.path): \($0.reason) (skipped; if it was a slice of this series, a gap shows it)" }
        return scan
    }

    // MARK: - Internals

    private static func projection(_ header: DICOMHeader, _ normal: SIMD3<Double>) -> Double {
        (header.position! * normal).sum()
    }

    private static func medianOf(_ values: [Double]) -> Double {
        let v = values.sorted(), c = v.count
        return c % 2 == 1 ? v[c / 2] : (v[c / 2 - 1] + v[c / 2]) / 2
    }

    private static func format(_ value: Double) -> String { String(format: "%.3g", value) }

    /// Decoded bytes of one slice allowed whatever the file's size: 4096 x 4096 floats.
    static let sliceBytesAlwaysAllowed = 64.0 * 1024 * 1024

    private static func check(_ header: DICOMHeader, against first: DICOMHeader?) throws {
        func refuse(_ reason: String) -> CTVolumeError { .invalidDICOM(path: header.url.path, reason: reason) }
        guard header.modality.uppercased() == "CT" else {
            throw refuse("modality \(header.modality.isEmpty ? "missing" : header.modality); only CT series are read")
        }
        guard header.samplesPerPixel == 1 else {
            throw refuse("\(header.samplesPerPixel) samples per pixel (\(header.photometricInterpretation)); only grey-scale images are read")
        }
        guard header.numberOfFrames == 1 else {
            throw refuse("\(header.numberOfFrames) frames in one file; multi-frame (enhanced) CT is not read")
        }
        guard header.rows > 0, header.columns > 0 else { throw refuse("no image size (Rows/Columns)") }
        // The decoded slice is allocated before its pixels are read, so a damaged header that
        // declares a huge image would take gigabytes first (found by fuzzing: 37662 x 64547 in a
        // 3 kB file). A slice must fit what its file can hold: up to 64 MB of decoded floats
        // (4096 x 4096) always, beyond that at most 1,000 times the file's size.
        let decoded = Double(header.rows) * Double(header.columns) * 4
        let fileSize = (try? FileManager.default.attributesOfItem(atPath: header.url.path)[.size] as? NSNumber)?.doubleValue ?? 0
        guard decoded <= max(Self.sliceBytesAlwaysAllowed, 1000 * fileSize) else {
            throw refuse("image size \(header.columns) x \(header.rows) cannot be held by a file of \(Int(fileSize)) bytes (a damaged header)")
        }
        guard let position = header.position, (position * position).sum().isFinite else {
            throw refuse("no usable Image Position (Patient) (0020,0032)")
        }
        guard let values = header.orientationValues, values.allSatisfy(\.isFinite), header.sliceNormal != nil else {
            throw refuse("no usable Image Orientation (Patient) (0020,0037)")
        }
        guard let spacing = header.pixelSpacing, spacing.row > 0, spacing.column > 0, spacing.row.isFinite, spacing.column.isFinite else {
            throw refuse("no usable Pixel Spacing (0028,0030)")
        }
        guard header.rescaleSlope.isFinite, header.rescaleIntercept.isFinite, header.rescaleSlope != 0 else {
            throw refuse("Rescale Slope \(header.rescaleSlope) / Intercept \(header.rescaleIntercept) give no HU")
        }
        guard let first else { return }
        guard header.rows == first.rows, header.columns == first.columns else {
            throw refuse("image size \(header.columns) x \(header.rows) differs from \(first.url.lastPathComponent)'s \(first.columns) x \(first.rows) in the same series")
        }
        let a = header.orientationValues!, b = first.orientationValues!
        guard zip(a, b).allSatisfy({ abs($0 - $1) < 1e-4 }) else {
            throw refuse("orientation \(a) differs from \(first.url.lastPathComponent)'s \(b) in the same series")
        }
        let s = first.pixelSpacing!
        guard abs(spacing.row - s.row) < 1e-4, abs(spacing.column - s.column) < 1e-4 else {
            throw refuse("pixel spacing \(spacing.row) x \(spacing.column) differs from \(first.url.lastPathComponent)'s \(s.row) x \(s.column)")
        }
    }

    /// Decodes file k into slice k of `buffer` and rescales it to HU (padding to `paddingHU`),
    /// `workers` files at a time; returns each file's padding count. The first error by file
    /// order is thrown.
    private static func decode(_ headers: [DICOMHeader], into buffer: SharedBuffer<Float>, sliceCount: Int,
                               paddingHU: Float, workers: Int) throws -> [Int] {
        let count = headers.count
        guard count > 0 else { return [] }
        @Sendable func one(_ k: Int) throws -> Int {
            let header = headers[k], base = buffer.pointer + k * sliceCount
            try header.readStoredPixels(into: UnsafeMutableBufferPointer(start: base, count: sliceCount))
            let slope = Float(header.rescaleSlope), intercept = Float(header.rescaleIntercept)
            var padded = 0
            if let value = header.paddingValue {
                let limit = header.paddingRangeLimit ?? value
                let low = Float(min(value, limit)), high = Float(max(value, limit))
                for n in 0..<sliceCount {
                    let v = base[n]
                    if v >= low && v <= high {
                        base[n] = paddingHU
                        padded += 1
                    } else {
                        base[n] = v * slope + intercept
                    }
                }
            } else if slope != 1 || intercept != 0 {
                for n in 0..<sliceCount { base[n] = base[n] * slope + intercept }
            }
            return padded
        }
        // GDCM builds its dictionaries on first use: decode one file before going parallel.
        var results = [Result<Int, Error>](repeating: .success(0), count: count)
        results[0] = Result { try one(0) }
        let slots = SharedBuffer<Result<Int, Error>?>(count: count, repeating: nil)
        let width = max(1, min(workers, count - 1))
        if count > 1 {
            DispatchQueue.concurrentPerform(iterations: width) { w in
                var k = 1 + w
                while k < count {
                    slots.pointer[k] = Result { try one(k) }
                    k += width
                }
            }
            for k in 1..<count { results[k] = slots.pointer[k]! }
        }
        return try results.map { try $0.get() }
    }
}
