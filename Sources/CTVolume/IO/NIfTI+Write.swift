import CNIfTI
import Foundation

extension NIfTI {
    /// Writes a scan as a single-file NIfTI-1 (`.nii`, or gzip level 1 for `.nii.gz`, as nibabel).
    ///
    /// The header carries the volume's geometry: the qform (encoded as a quaternion by
    /// nifti_clib's `nifti_mat44_to_quatern`) and its code, the sform rows and code, and pixdim
    /// (the qform's column lengths when `qformCode > 0`, else ``Geometry/spacing``), units mm.
    /// The file is written to a temporary name in the same folder and renamed into place.
    ///
    /// - Parameters:
    ///   - scan: the volume; its values are the intensities readers will see.
    ///   - url: the destination, ending in `.nii` or `.nii.gz`.
    ///   - datatype: the storage; default `.float32`. Integer storage rounds
    ///     `(value - intercept) / slope` to the nearest integer (ties to even, as numpy's `rint`).
    ///   - overwrite: replace an existing file; default false (refused with `.outputExists`).
    ///   - descrip: the header's `descrip` text (at most 79 bytes kept).
    /// - Throws: ``CTVolumeError`` `.outputExists`, `.io`, `.nonFiniteVoxels` (NaN / inf cannot
    ///   be stored), `.invalidParameter` (a bad file name, slope or a value that does not fit
    ///   the integer type), `.unsupportedDimensions` (a dimension over 32767).
    public static func write(_ scan: ScanVolume, to url: URL, datatype: NIfTIDatatype = .float32,
                             overwrite: Bool = false, descrip: String = "ichct") throws {
        let path = url.path
        let bad = scan.voxels.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
        if bad > 0 { throw CTVolumeError.nonFiniteVoxels(path: path, count: bad) }
        let (slope, intercept) = datatype.slopeIntercept
        guard slope.isFinite, slope != 0, intercept.isFinite else {
            throw CTVolumeError.invalidParameter(name: "datatype", reason: "slope \(slope) and intercept \(intercept) must be finite, slope non-zero")
        }
        let payload: [UInt8]
        switch datatype {
        case .float32:
            payload = bytes(of: scan.voxels)
        case .float64:
            payload = bytes(of: scan.voxels.map(Double.init))
        case .uint8:
            payload = bytes(of: try quantize(scan.voxels, as: UInt8.self, slope: 1, intercept: 0, path: path))
        case .int16:
            payload = bytes(of: try quantize(scan.voxels, as: Int16.self, slope: slope, intercept: intercept, path: path))
        }
        try write(payload: payload, shape: scan.shape, geometry: scan.geometry, storage: datatype.storage,
                  slope: slope, intercept: intercept, to: url, overwrite: overwrite, descrip: descrip)
    }

    /// Writes a label volume as uint8 (unscaled), with the geometry of its source scan so that
    /// it opens over that scan in 3D Slicer or ITK-SNAP.
    ///
    /// - Parameters: as ``write(_:to:datatype:overwrite:descrip:)``.
    /// - Throws: `.outputExists`, `.io`, `.invalidParameter`, `.unsupportedDimensions`.
    public static func write(_ mask: MaskVolume, to url: URL, overwrite: Bool = false, descrip: String = "ichct mask") throws {
        try write(payload: bytes(of: mask.voxels), shape: mask.shape, geometry: mask.geometry, storage: .uint8,
                  slope: 1, intercept: 0, to: url, overwrite: overwrite, descrip: descrip)
    }

    /// The values a reader gets back from `values` written with `datatype`
    /// (``write(_:to:datatype:overwrite:descrip:)``, then ``read(at:)``), without a file: integer
    /// storage rounds them as the writer does and scales the raw numbers as the reader does
    /// (``NIfTIScaling``); float storage keeps them. For code that uses a volume both as computed
    /// and from the file it saved, and needs the same numbers either way.
    ///
    /// - Parameters:
    ///   - values: the intensities.
    ///   - datatype: the storage.
    ///   - path: the name errors give.
    /// - Throws: as `write` does for these values: `.nonFiniteVoxels`, `.invalidParameter`.
    public static func storedValues(_ values: [Float], datatype: NIfTIDatatype, path: String = "values") throws -> [Float] {
        let bad = values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
        if bad > 0 { throw CTVolumeError.nonFiniteVoxels(path: path, count: bad) }
        let (slope, intercept) = datatype.slopeIntercept
        guard slope.isFinite, slope != 0, intercept.isFinite else {
            throw CTVolumeError.invalidParameter(name: "datatype", reason: "slope \(slope) and intercept \(intercept) must be finite, slope non-zero")
        }
        let scaling = try NIfTIScaling.resolve(slope: slope, intercept: intercept, path: path)
        switch datatype {
        case .float32, .float64:
            return values
        case .uint8:
            return try quantize(values, as: UInt8.self, slope: 1, intercept: 0, path: path).map { scaling.apply(Float($0)) }
        case .int16:
            return try quantize(values, as: Int16.self, slope: slope, intercept: intercept, path: path).map { scaling.apply(Float($0)) }
        }
    }

    // MARK: - Internals

    /// nifti_clib prints diagnostics at its default debug level 1; this module reports errors itself.
    private static let quietLibrary: Void = { nifti_set_debug_level(0) }()

    private static func bytes<T>(of values: [T]) -> [UInt8] {
        precondition(hostIsLittleEndian, "NIfTI writing assumes a little-endian host")
        return values.withUnsafeBytes { Array($0) }
    }

    /// `round((v - intercept) / slope)` in Double, refusing values outside `T`'s range.
    private static func quantize<T: FixedWidthInteger>(_ values: [Float], as: T.Type, slope: Float, intercept: Float,
                                                       path: String) throws -> [T] {
        let s = Double(slope), b = Double(intercept)
        let lo = Double(T.min), hi = Double(T.max)
        var out = [T](repeating: 0, count: values.count)
        for (i, v) in values.enumerated() {
            let r = ((Double(v) - b) / s).rounded(.toNearestOrEven)
            guard r >= lo, r <= hi else {
                throw CTVolumeError.invalidParameter(
                    name: "datatype",
                    reason: "\(path): value \(v) does not fit \(T.self) with slope \(slope), intercept \(intercept) (raw \(r) outside \(T.min)...\(T.max))")
            }
            // r is whole and within T's range: through Int, one machine conversion (T(r) from a
            // Double goes through the generic bit-by-bit conversion, 10% of the CAM stage)
            out[i] = T(truncatingIfNeeded: Int(r))
        }
        return out
    }

    /// The header for a grid, its geometry and storage, built on nifti_clib's defaults.
    static func makeHeader(shape: GridShape, geometry: Geometry, storage: NIfTIStorage,
                           slope: Float, intercept: Float, descrip: String, path: String) throws -> nifti_1_header {
        for (axis, n) in [("x", shape.x), ("y", shape.y), ("z", shape.z)] where n < 1 || n > Int(Int16.max) {
            throw CTVolumeError.unsupportedDimensions(path: path, reason: "\(axis) size \(n) is outside 1...32767, which NIfTI-1 cannot store")
        }
        _ = quietLibrary
        var dims: [Int32] = [3, Int32(shape.x), Int32(shape.y), Int32(shape.z), 1, 1, 1, 1]
        guard let made = nifti_make_new_header(&dims, storage.rawValue) else {
            throw CTVolumeError.io(path: path, reason: "nifti_clib could not allocate a header")
        }
        var h = made.pointee
        free(made)

        let q = geometry.qform
        var mat = mat44()
        withUnsafeMutableBytes(of: &mat.m) { raw in
            let m = raw.bindMemory(to: Float.self)
            for i in 0..<16 { m[i] = Float(q.m[i]) }
        }
        var qb: Float = 0, qc: Float = 0, qd: Float = 0, qx: Float = 0, qy: Float = 0, qz: Float = 0
        var dx: Float = 0, dy: Float = 0, dz: Float = 0, qfac: Float = 0
        nifti_mat44_to_quatern(mat, &qb, &qc, &qd, &qx, &qy, &qz, &dx, &dy, &dz, &qfac)
        let zooms: (Float, Float, Float) = geometry.qformCode > 0
            ? (dx, dy, dz)
            : (Float(geometry.spacing.x), Float(geometry.spacing.y), Float(geometry.spacing.z))

        h.sizeof_hdr = 348
        h.datatype = Int16(storage.rawValue)
        h.bitpix = Int16(storage.byteCount * 8)
        h.pixdim = (qfac, zooms.0, zooms.1, zooms.2, 1, 1, 1, 1)
        h.vox_offset = 352
        h.scl_slope = slope
        h.scl_inter = intercept
        h.xyzt_units = Int8(NIFTI_UNITS_MM)
        h.qform_code = Int16(geometry.qformCode)
        h.sform_code = Int16(geometry.sformCode)
        (h.quatern_b, h.quatern_c, h.quatern_d) = (qb, qc, qd)
        (h.qoffset_x, h.qoffset_y, h.qoffset_z) = (qx, qy, qz)
        let s = geometry.sform.m.map(Float.init)
        h.srow_x = (s[0], s[1], s[2], s[3])
        h.srow_y = (s[4], s[5], s[6], s[7])
        h.srow_z = (s[8], s[9], s[10], s[11])
        withUnsafeMutableBytes(of: &h.descrip) { raw in
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            for (i, byte) in descrip.utf8.prefix(raw.count - 1).enumerated() { raw[i] = byte }
        }
        withUnsafeMutableBytes(of: &h.magic) { raw in
            for (i, byte) in [0x6E, 0x2B, 0x31, 0].enumerated() { raw[i] = UInt8(byte) }
        }
        return h
    }

    /// Header, four zero extension bytes, then the voxels, written atomically.
    static func write(payload: [UInt8], shape: GridShape, geometry: Geometry, storage: NIfTIStorage,
                      slope: Float, intercept: Float, to url: URL, overwrite: Bool, descrip: String) throws {
        let name = url.lastPathComponent
        let ext: String
        if name.hasSuffix(".nii.gz") {
            ext = ".nii.gz"
        } else if name.hasSuffix(".nii") {
            ext = ".nii"
        } else {
            throw CTVolumeError.invalidParameter(name: "output", reason: "\(url.path): a NIfTI file name must end in .nii or .nii.gz")
        }
        var header = try makeHeader(shape: shape, geometry: geometry, storage: storage, slope: slope,
                                    intercept: intercept, descrip: descrip, path: url.path)
        try AtomicFile.write(to: url, overwrite: overwrite, extension: ext) { temp in
            let out = try GzipOutput(path: temp, compressed: ext == ".nii.gz")
            try withUnsafeBytes(of: &header) { try out.write($0) }
            try [UInt8](repeating: 0, count: 4).withUnsafeBytes { try out.write($0) }
            try payload.withUnsafeBytes { try out.write($0) }
            try out.close()
        }
    }
}
