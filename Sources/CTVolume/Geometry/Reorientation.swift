/// A change of voxel order that brings a volume to a target orientation: a permutation of the
/// three voxel axes and a reversal of some, read from the affine, as nibabel's
/// `as_closest_canonical` or MONAI's `Orientation` do. The networks see voxel order, not anatomy,
/// so a scan stored with i and j swapped, or head to foot, must be brought to the order they
/// were trained on, and their outputs taken back to the scan's own grid.
///
/// The default target is ``canonicalCodes`` `"LAS"`: i towards the patient's left, j towards
/// anterior, k towards superior, the order of axial head CT as dcm2niix writes it and as the
/// phantom stores it (so phantom cases and such scans are unchanged).
///
///     let r = Reorientation(scan)                  // from the scan's affine
///     let canonical = r.apply(scan)                // same voxels, LAS order, adjusted affine
///     let mask = try model.segment(canonical, intracranial: ...).mask
///     let onScanGrid = r.invert(mask)              // back to the scan's grid and affine
///
/// Every voxel keeps its world position: `canonical`'s affine maps each moved voxel to the
/// point the source affine gave it. An affine whose axes cannot be told apart (a collapsed
/// axis, `?` in ``Affine/axisCodes``), or a file with no stored orientation, gives the identity.
public struct Reorientation: Hashable, Sendable {
    /// The target orientation of the networks: `"LAS"`.
    public static let canonicalCodes = "LAS"

    /// The source grid.
    public let sourceShape: GridShape
    /// `permutation[t]` is the source axis that becomes target axis `t`.
    public let permutation: [Int]
    /// `flipped[t]`: target axis `t` runs against its source axis.
    public let flipped: [Bool]

    /// The reorientation of a grid whose voxel axes point as `codes` says (e.g. `"RPI"`) to
    /// `target` (three distinct letters, one of L/R, A/P, S/I each).
    ///
    /// - Precondition: `target` names each anatomical axis once.
    public init(shape: GridShape, codes: String, target: String = Reorientation.canonicalCodes) {
        sourceShape = shape
        let source = Array(codes), goal = Array(target)
        precondition(goal.count == 3 && Set(goal.compactMap(Self.axis)).count == 3, "Reorientation: target \(target) is not an orientation")
        guard source.count == 3, source.allSatisfy({ Self.axis($0) != nil }), Set(source.compactMap(Self.axis)).count == 3 else {
            permutation = [0, 1, 2]
            flipped = [false, false, false]
            return
        }
        var permutation = [0, 1, 2], flipped = [false, false, false]
        for t in 0..<3 {
            let a = source.firstIndex { Self.axis($0) == Self.axis(goal[t]) }!
            permutation[t] = a
            flipped[t] = source[a] != goal[t]
        }
        self.permutation = permutation
        self.flipped = flipped
    }

    /// The reorientation of `volume` to the networks' order, from its affine's ``Affine/axisCodes``.
    /// A volume with neither an sform nor a qform (both codes 0: a file that says nothing of
    /// its orientation) is left in its stored order.
    public init<V>(_ volume: Volume<V>, target: String = Reorientation.canonicalCodes) {
        let g = volume.geometry
        let known = g.sformCode > 0 || g.qformCode > 0
        self.init(shape: volume.shape, codes: known ? g.affine.axisCodes : target, target: target)
    }

    /// Whether the voxel order is already the target's.
    public var isIdentity: Bool { permutation == [0, 1, 2] && flipped == [false, false, false] }

    /// The grid after ``apply(_:)``.
    public var targetShape: GridShape {
        let n = [sourceShape.x, sourceShape.y, sourceShape.z]
        return GridShape(n[permutation[0]], n[permutation[1]], n[permutation[2]])
    }

    /// The volume in the target order, its geometry adjusted so that every voxel keeps its
    /// world position (qform and sform alike; spacing permuted).
    /// - Precondition: `volume.shape == sourceShape`.
    public func apply<V>(_ volume: Volume<V>) -> Volume<V> {
        precondition(volume.shape == sourceShape, "Reorientation: a \(volume.shape) volume for a \(sourceShape) grid")
        if isIdentity { return volume }
        let target = targetShape
        let map = sourceIndices()
        let voxels = volume.voxels.withUnsafeBufferPointer { src in map.map { src[$0] } }
        return Volume(shape: target, voxels: voxels, geometry: geometry(volume.geometry))
    }

    /// A volume on the target grid taken back to the source grid and geometry.
    /// - Parameters:
    ///   - volume: on ``targetShape`` (e.g. a mask made from ``apply(_:)``'s output).
    ///   - geometry: the source geometry to give it (default: derived back from `volume`'s).
    /// - Precondition: `volume.shape == targetShape`.
    public func invert<V>(_ volume: Volume<V>, geometry: Geometry? = nil) -> Volume<V> {
        precondition(volume.shape == targetShape, "Reorientation: a \(volume.shape) volume for a \(targetShape) grid")
        if isIdentity { return geometry.map { Volume(shape: volume.shape, voxels: volume.voxels, geometry: $0) } ?? volume }
        let map = sourceIndices()
        var voxels = volume.voxels   // placeholder values, every one overwritten below
        volume.voxels.withUnsafeBufferPointer { src in
            voxels.withUnsafeMutableBufferPointer { dst in
                for (t, s) in map.enumerated() { dst[s] = src[t] }
            }
        }
        return Volume(shape: sourceShape, voxels: voxels, geometry: geometry ?? inverseGeometry(volume.geometry))
    }

    /// Values given per target axial slice (e.g. a classifier's slice probabilities, inferior to
    /// superior) in the order of the source's slices: the same when the source's third axis is
    /// the axial one, reversed when it runs head to foot; nil when the source's slices are not
    /// axial (its third axis became another), so no source slice matches a target one.
    /// - Precondition: one value per target slice.
    public func sourceSliceOrder<T>(_ values: [T]) -> [T]? {
        precondition(values.count == targetShape.z, "Reorientation: \(values.count) values for \(targetShape.z) slices")
        guard permutation[2] == 2 else { return nil }
        return flipped[2] ? values.reversed() : values
    }

    /// Per target voxel (storage order), the index of the source voxel it holds.
    func sourceIndices() -> [Int] {
        let target = targetShape
        let n = [sourceShape.x, sourceShape.y, sourceShape.z]
        let m = [target.x, target.y, target.z]
        var out = [Int](repeating: 0, count: target.count)
        var src = [0, 0, 0]
        var v = 0
        for u2 in 0..<m[2] {
            for u1 in 0..<m[1] {
                for u0 in 0..<m[0] {
                    let u = [u0, u1, u2]
                    for t in 0..<3 { src[permutation[t]] = flipped[t] ? m[t] - 1 - u[t] : u[t] }
                    out[v] = src[0] + n[0] * (src[1] + n[1] * src[2])
                    v += 1
                }
            }
        }
        return out
    }

    /// The target geometry: `A' = A P`, where `P` sends a target index to its source index.
    func geometry(_ g: Geometry) -> Geometry {
        let p = indexMap()
        let s = [g.spacing.x, g.spacing.y, g.spacing.z]
        return Geometry(spacing: SIMD3(s[permutation[0]], s[permutation[1]], s[permutation[2]]),
                        qformCode: g.qformCode, qform: Self.multiply(g.qform, p), sformCode: g.sformCode, sform: Self.multiply(g.sform, p))
    }

    /// The source geometry from a target one: `A = A' P⁻¹`.
    func inverseGeometry(_ g: Geometry) -> Geometry {
        let p = Self.invert(indexMap())
        let s = [g.spacing.x, g.spacing.y, g.spacing.z]
        var back = [0.0, 0, 0]
        for t in 0..<3 { back[permutation[t]] = s[t] }
        return Geometry(spacing: SIMD3(back[0], back[1], back[2]),
                        qformCode: g.qformCode, qform: Self.multiply(g.qform, p), sformCode: g.sformCode, sform: Self.multiply(g.sform, p))
    }

    /// The 4 x 4 map from a target voxel index to its source voxel index.
    func indexMap() -> Affine {
        let target = targetShape
        let m = [target.x, target.y, target.z]
        var rows = [Double](repeating: 0, count: 16)
        rows[15] = 1
        for t in 0..<3 {
            let a = permutation[t]
            rows[a * 4 + t] = flipped[t] ? -1 : 1
            rows[a * 4 + 3] = flipped[t] ? Double(m[t] - 1) : 0
        }
        return Affine(rowMajor: rows)
    }

    static func multiply(_ a: Affine, _ b: Affine) -> Affine {
        var out = [Double](repeating: 0, count: 16)
        for r in 0..<4 { for c in 0..<4 { for k in 0..<4 { out[r * 4 + c] += a[r, k] * b[k, c] } } }
        return Affine(rowMajor: out)
    }

    /// The inverse of an index map (a signed permutation with offsets).
    static func invert(_ p: Affine) -> Affine {
        // p: src = R t + b with R a signed permutation, so t = Rᵀ (src - b).
        var out = [Double](repeating: 0, count: 16)
        out[15] = 1
        for r in 0..<3 {
            for c in 0..<3 { out[c * 4 + r] = p[r, c] }
        }
        for c in 0..<3 {
            var s = 0.0
            for r in 0..<3 { s += p[r, c] * p[r, 3] }
            out[c * 4 + 3] = -s
        }
        return Affine(rowMajor: out)
    }

    /// The world axis (0 x, 1 y, 2 z) an orientation letter names.
    static func axis(_ c: Character) -> Int? {
        switch c {
        case "L", "R": return 0
        case "P", "A": return 1
        case "I", "S": return 2
        default: return nil
        }
    }
}
