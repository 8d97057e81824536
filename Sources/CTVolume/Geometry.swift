/// A 4 x 4 affine transform, row-major, mapping voxel indices (i, j, k, 1) to world millimetres.
public struct Affine: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Row-major entries; `m[4 * r + c]` is row r, column c. The last row is (0, 0, 0, 1).
    public var m: [Double]

    /// An affine from 16 row-major entries. - Precondition: `m.count == 16`.
    public init(rowMajor m: [Double]) {
        precondition(m.count == 16, "Affine needs 16 entries, got \(m.count)")
        self.m = m
    }

    /// The diagonal affine of a grid with this spacing and no rotation or offset.
    public static func scaling(_ spacing: SIMD3<Double>) -> Affine {
        Affine(rowMajor: [spacing.x, 0, 0, 0, 0, spacing.y, 0, 0, 0, 0, spacing.z, 0, 0, 0, 0, 1])
    }

    /// The identity: voxel indices are world millimetres.
    public static let identity = Affine.scaling(SIMD3(1, 1, 1))

    /// Entry at `row`, `column` (0-based).
    public subscript(row: Int, column: Int) -> Double {
        get { m[4 * row + column] }
        set { m[4 * row + column] = newValue }
    }

    /// World coordinates of voxel (i, j, k) (indices may be fractional).
    public func apply(_ ijk: SIMD3<Double>) -> SIMD3<Double> {
        SIMD3(
            m[0] * ijk.x + m[1] * ijk.y + m[2] * ijk.z + m[3],
            m[4] * ijk.x + m[5] * ijk.y + m[6] * ijk.z + m[7],
            m[8] * ijk.x + m[9] * ijk.y + m[10] * ijk.z + m[11])
    }

    /// Length of each column of the 3 x 3 part: the voxel spacing this affine implies.
    public var columnNorms: SIMD3<Double> {
        func norm(_ c: Int) -> Double { (m[c] * m[c] + m[4 + c] * m[4 + c] + m[8 + c] * m[8 + c]).squareRoot() }
        return SIMD3(norm(0), norm(1), norm(2))
    }

    /// Four lines of four numbers, row by row.
    public var description: String {
        (0..<4).map { r in (0..<4).map { c in String(self[r, c]) }.joined(separator: " ") }.joined(separator: "\n")
    }
}

/// Where a voxel grid lies in the world, kept as NIfTI-1 keeps it so that a mask written
/// from a volume opens over that volume in 3D Slicer or ITK-SNAP.
///
/// The effective voxel-to-world ``affine`` follows nibabel's rule: the sform when
/// `sformCode > 0`, else the qform when `qformCode > 0`, else the pixdim scaling.
public struct Geometry: Hashable, Sendable, Codable {
    /// Voxel size in millimetres along i, j, k (NIfTI `pixdim[1...3]`).
    public var spacing: SIMD3<Double>
    /// NIfTI `qform_code` (0 unknown, 1 scanner, 2 aligned, 3 Talairach, 4 MNI).
    public var qformCode: Int32
    /// The transform the quaternion fields describe (meaningful when `qformCode > 0`).
    public var qform: Affine
    /// NIfTI `sform_code`.
    public var sformCode: Int32
    /// The `srow_x/y/z` transform (meaningful when `sformCode > 0`).
    public var sform: Affine

    /// A geometry from every NIfTI field it keeps; see the properties.
    public init(spacing: SIMD3<Double>, qformCode: Int32, qform: Affine, sformCode: Int32, sform: Affine) {
        self.spacing = spacing
        self.qformCode = qformCode
        self.qform = qform
        self.sformCode = sformCode
        self.sform = sform
    }

    /// A geometry whose qform and sform both hold `affine` (code 1, scanner anatomical);
    /// the spacing is taken from the affine's column lengths.
    public init(affine: Affine) {
        self.init(spacing: affine.columnNorms, qformCode: 1, qform: affine, sformCode: 1, sform: affine)
    }

    /// Axis-aligned geometry with this spacing and no world transform (both codes 0).
    public init(spacing: SIMD3<Double>) {
        self.init(spacing: spacing, qformCode: 0, qform: .scaling(spacing), sformCode: 0, sform: .scaling(spacing))
    }

    /// The voxel-to-world transform in force: sform > qform > pixdim.
    public var affine: Affine {
        if sformCode > 0 { return sform }
        if qformCode > 0 { return qform }
        return .scaling(spacing)
    }

    /// Volume of one voxel in millilitres (mm^3 / 1000): the product of the spacings times the
    /// ``obliquity``. A gantry-tilted series is stored with a sheared affine whose slice step
    /// runs along the table: its voxels are `cos(tilt)` of the product. An orthogonal affine, or
    /// none, gives the product exactly.
    public var voxelVolumeML: Double { spacing.x * spacing.y * spacing.z / 1000 * obliquity }

    /// The share of the spacings' product a voxel fills: `|det A| / (|a₁| |a₂| |a₃|)` for the
    /// affine in force (A its 3 x 3 part, aᵢ the columns) when its columns are not orthogonal,
    /// exactly 1 when they are (within 1e-6 in the cosines between columns) or when there is
    /// no affine. `cos(tilt)` for a gantry-tilted series.
    public var obliquity: Double {
        guard sformCode > 0 || qformCode > 0 else { return 1 }
        let a = affine
        let c = (0..<3).map { j in SIMD3(a[0, j], a[1, j], a[2, j]) }
        let n = c.map { ($0 * $0).sum().squareRoot() }
        guard n.allSatisfy({ $0 > 0 && $0.isFinite }) else { return 1 }
        func cosine(_ i: Int, _ j: Int) -> Double { (c[i] * c[j]).sum() / (n[i] * n[j]) }
        guard abs(cosine(0, 1)) > 1e-6 || abs(cosine(0, 2)) > 1e-6 || abs(cosine(1, 2)) > 1e-6 else { return 1 }
        let cross = SIMD3(c[1].y * c[2].z - c[1].z * c[2].y, c[1].z * c[2].x - c[1].x * c[2].z, c[1].x * c[2].y - c[1].y * c[2].x)
        return abs((c[0] * cross).sum()) / (n[0] * n[1] * n[2])
    }
}
