import CNIfTI

/// What a NIfTI-1 header says about its image, decoded and checked, without the voxels.
///
/// Obtained from ``NIfTI/readHeader(at:)``; ``NIfTI/readScan(at:)`` reads the same header
/// first. Geometry follows nibabel: ``qform`` is decoded from the quaternion fields and
/// `pixdim` (with `qfac = pixdim[0] < 0 ? -1 : 1`), ``sform`` from `srow_x/y/z`, and the
/// effective ``affine`` is the sform when `sform_code > 0`, else the qform when
/// `qform_code > 0`, else `diag(pixdim[1], pixdim[2], pixdim[3])` (nifti_clib's fallback; nibabel
/// would instead centre an Analyze-style affine).
public struct NIfTIHeader: Sendable, Hashable, Codable {
    /// The file the header was read from.
    public var path: String
    /// The spatial grid: `dim[1], dim[2], dim[3]` (1 for a dimension the file lacks).
    public var shape: GridShape
    /// `dim[1] ... dim[dim[0]]` as stored (a 4-D file with one time point has four).
    public var dimensions: [Int]
    /// nibabel's name of the stored datatype ("int16", "float32", ...).
    public var datatype: String
    /// The NIfTI datatype code (4 for int16, 16 for float32, ...).
    public var datatypeCode: Int
    /// Bits per voxel as the header states them.
    public var bitpix: Int
    /// Voxel size `pixdim[1...3]`, in ``spatialUnit``.
    public var spacing: SIMD3<Double>
    /// Unit of the spacing from `xyzt_units` ("mm", "m", "micron" or "unknown").
    public var spatialUnit: String
    /// The header's raw `scl_slope`.
    public var sclSlope: Float
    /// The header's raw `scl_inter`.
    public var sclInter: Float
    /// The scaling in force by nibabel's rule (see ``NIfTIScaling/resolve(slope:intercept:path:)``).
    public var scaling: NIfTIScaling
    /// `qform_code` (0 unknown, 1 scanner, 2 aligned, 3 Talairach, 4 MNI).
    public var qformCode: Int32
    /// The quaternion transform, decoded whatever the code.
    public var qform: Affine
    /// `sform_code`.
    public var sformCode: Int32
    /// The `srow_x/y/z` transform, whatever the code.
    public var sform: Affine
    /// The effective voxel-to-world transform (sform > qform > pixdim).
    public var affine: Affine
    /// ``Affine/axisCodes`` of ``affine``, e.g. "RAS" or "LPS".
    public var orientation: String
    /// The header's `descrip` text.
    public var descrip: String
    /// Byte offset of the voxel data in the (decompressed) file, `vox_offset`.
    public var voxelOffset: Int
    /// "little" or "big": the byte order of the header and voxels.
    public var byteOrder: String
    /// Whether the file is gzip-compressed.
    public var isCompressed: Bool

    /// The grid's geometry (spacing, both transforms and their codes) for a ``Volume``.
    public var geometry: Geometry {
        Geometry(spacing: spacing, qformCode: qformCode, qform: qform, sformCode: sformCode, sform: sform)
    }

    /// Bytes of voxel data the header promises: voxels x bytes per voxel.
    public var dataByteCount: Int { shape.count * bitpix / 8 }
}

// MARK: - Decoding a raw nifti_1_header

extension NIfTIHeader {
    /// Size of the NIfTI-1 header on disk.
    static let headerSize = 348

    /// Checks the raw 348 bytes (size field, byte order, magic) and decodes them.
    /// - Returns: the header and its storage type (nil for an unsupported datatype, which is
    ///   reported when voxels are requested so that `inspect`-style callers still see the header).
    static func decode(bytes: [UInt8], path: String, compressed: Bool) throws -> (NIfTIHeader, NIfTIStorage?) {
        precondition(bytes.count >= headerSize)
        let size = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: Int32.self) }
        let swapped: Bool
        if size == 348 {
            swapped = false
        } else if size.byteSwapped == 348 {
            swapped = true
        } else if size == 540 || size.byteSwapped == 540 {
            throw CTVolumeError.notNIfTI(path: path, reason: "NIfTI-2 header (sizeof_hdr 540); only NIfTI-1 is read")
        } else {
            throw CTVolumeError.notNIfTI(path: path, reason: "sizeof_hdr is \(size), not 348")
        }
        let magic = Array(bytes[344..<348])
        if magic == [0x6E, 0x69, 0x31, 0] {
            throw CTVolumeError.notNIfTI(path: path, reason: "magic 'ni1' marks a two-file .hdr/.img pair; only single-file .nii is read")
        }
        guard magic == [0x6E, 0x2B, 0x31, 0] else {
            let shown = magic.map { $0 == 0 ? "\\0" : (0x20..<0x7F).contains($0) ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }.joined()
            throw CTVolumeError.notNIfTI(path: path, reason: "bad magic '\(shown)', expected 'n+1'")
        }
        var h = nifti_1_header()
        withUnsafeMutableBytes(of: &h) { dst in
            bytes.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[0..<headerSize])) }
        }
        if swapped { swap_nifti_header(&h, 1) }
        return try decode(h, path: path, swapped: swapped, compressed: compressed)
    }

    /// Decodes and checks a header already in host byte order.
    static func decode(_ h: nifti_1_header, path: String, swapped: Bool, compressed: Bool) throws -> (NIfTIHeader, NIfTIStorage?) {
        let dim = tuple(h.dim, as: Int16.self).map(Int.init)
        let pixdim = tuple(h.pixdim, as: Float.self).map(Double.init)
        let rank = dim[0]
        guard (1...7).contains(rank) else {
            throw CTVolumeError.invalidHeader(path: path, reason: "dim[0] is \(rank), not 1...7")
        }
        for d in 1...rank where dim[d] < 1 {
            throw CTVolumeError.invalidHeader(path: path, reason: "dim[\(d)] is \(dim[d]); every dimension must be at least 1")
        }
        let dims = Array(dim[1...rank])
        if rank > 3, dims[3...].contains(where: { $0 != 1 }) {
            let shown = dims.map(String.init).joined(separator: " x ")
            let what = rank == 4 ? "\(dims[3]) time points" : "extra dimensions"
            throw CTVolumeError.unsupportedDimensions(path: path, reason: "\(shown) has \(what); only 3-D or 4-D with one time point is read")
        }
        let shape = GridShape(dims[0], rank >= 2 ? dims[1] : 1, rank >= 3 ? dims[2] : 1)

        var spacing = SIMD3<Double>(1, 1, 1)
        for a in 0..<3 where a < rank {
            let p = pixdim[a + 1]
            guard p.isFinite, p != 0 else {
                throw CTVolumeError.invalidHeader(path: path, reason: "pixdim[\(a + 1)] is \(p); voxel sizes must be finite and non-zero")
            }
            spacing[a] = abs(p)  // nibabel fixes negative pixdims to their absolute values
        }

        let code = Int32(h.datatype)
        let storage = NIfTIStorage(rawValue: code)
        let scaling = try NIfTIScaling.resolve(slope: h.scl_slope, intercept: h.scl_inter, path: path)

        let qform = quaternionAffine(h, spacing: spacing)
        let srows = [tuple(h.srow_x, as: Float.self), tuple(h.srow_y, as: Float.self), tuple(h.srow_z, as: Float.self)]
        let sform = Affine(rowMajor: srows.flatMap { $0.map(Double.init) } + [0, 0, 0, 1])
        let geometry = Geometry(spacing: spacing, qformCode: Int32(h.qform_code), qform: qform,
                                sformCode: Int32(h.sform_code), sform: sform)
        if geometry.sformCode > 0, !sform.m.allSatisfy(\.isFinite) {
            throw CTVolumeError.invalidHeader(path: path, reason: "sform_code is \(h.sform_code) but srow_x/y/z hold NaN or infinity")
        }
        let affine = geometry.affine

        let offset = Double(h.vox_offset)
        // (below 2^53, so that it converts to Int; no file is that large)
        guard offset.isFinite, offset >= 0, offset.rounded() == offset, offset < 0x1p53 else {
            throw CTVolumeError.invalidHeader(path: path, reason: "vox_offset is \(h.vox_offset), not a whole number of bytes within any file")
        }
        // nibabel and nifti_clib both accept vox_offset 0 in a .nii as "right after the header"
        // only for old writers; NIfTI-1 requires at least 352 for single files.
        guard offset >= 348 else {
            throw CTVolumeError.invalidHeader(path: path, reason: "vox_offset is \(Int(offset)), inside the 348-byte header")
        }

        let units = Int32(h.xyzt_units) & 0x07
        let unitName: String
        switch units {
        case 1: unitName = "m"
        case 2: unitName = "mm"
        case 3: unitName = "micron"
        default: unitName = "unknown"
        }
        let descrip = tupleString(h.descrip)
        let header = NIfTIHeader(
            path: path, shape: shape, dimensions: dims,
            datatype: NIfTIStorage.name(ofCode: code), datatypeCode: Int(code),
            bitpix: storage.map { $0.byteCount * 8 } ?? Int(h.bitpix),
            spacing: spacing, spatialUnit: unitName,
            sclSlope: h.scl_slope, sclInter: h.scl_inter, scaling: scaling,
            qformCode: geometry.qformCode, qform: qform, sformCode: geometry.sformCode, sform: sform,
            affine: affine, orientation: affine.axisCodes, descrip: descrip,
            voxelOffset: Int(offset), byteOrder: (swapped ? !hostIsLittleEndian : hostIsLittleEndian) ? "little" : "big",
            isCompressed: compressed)
        return (header, storage)
    }

    /// nibabel's `get_qform`: rotation from the quaternion (b, c, d) with
    /// `a = sqrt(max(0, 1 - b² - c² - d²))` (nibabel's `fillpositive`; its `quat2mat`
    /// normalises), times `diag(pixdim[1], pixdim[2], qfac * pixdim[3])`, plus
    /// `(qoffset_x, qoffset_y, qoffset_z)`. Computed in Double from the Float fields.
    static func quaternionAffine(_ h: nifti_1_header, spacing: SIMD3<Double>) -> Affine {
        let x = Double(h.quatern_b), y = Double(h.quatern_c), z = Double(h.quatern_d)
        let w2 = 1 - (x * x + y * y + z * z)
        let w = w2 > 0 ? w2.squareRoot() : 0
        let nq = w * w + x * x + y * y + z * z
        var r: [Double] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
        if nq >= Double.ulpOfOne {
            let s = 2 / nq
            let (bx, by, bz) = (x * s, y * s, z * s)
            let (wX, wY, wZ) = (w * bx, w * by, w * bz)
            let (xX, xY, xZ) = (x * bx, x * by, x * bz)
            let (yY, yZ, zZ) = (y * by, y * bz, z * bz)
            r = [1 - (yY + zZ), xY - wZ, xZ + wY,
                 xY + wZ, 1 - (xX + zZ), yZ - wX,
                 xZ - wY, yZ + wX, 1 - (xX + yY)]
        }
        let qfac: Double = h.pixdim.0 < 0 ? -1 : 1
        let zoom = [spacing.x, spacing.y, spacing.z * qfac]
        var m = [Double](repeating: 0, count: 16)
        for row in 0..<3 {
            for col in 0..<3 { m[4 * row + col] = r[3 * row + col] * zoom[col] }
        }
        m[3] = Double(h.qoffset_x); m[7] = Double(h.qoffset_y); m[11] = Double(h.qoffset_z); m[15] = 1
        return Affine(rowMajor: m)
    }
}

let hostIsLittleEndian = 1.littleEndian == 1

/// The elements of a homogeneous C array imported as a Swift tuple.
func tuple<Tuple, Element>(_ t: Tuple, as: Element.Type) -> [Element] {
    withUnsafeBytes(of: t) { Array($0.bindMemory(to: Element.self)) }
}

/// A NUL-terminated (or full-length) C char array as a String, trailing spaces removed.
func tupleString<Tuple>(_ t: Tuple) -> String {
    withUnsafeBytes(of: t) { raw in
        let bytes = raw.prefix { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self).trimmingTrailingSpaces()
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
