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
        self.init(shape: volume.shape, geometry: volume.geometry, target: target)
    }

    /// The reorientation of a grid of `shape` with `geometry` (as ``init(_:target:)`` for a
    /// volume, without its voxels). A geometry with neither an sform nor a qform, or whose axes
    /// cannot be told apart (`?` in ``Affine/axisCodes``), is taken to be in the networks' order
    /// (``canonicalCodes``, LAS): the identity for the default target.
    public init(shape: GridShape, geometry g: Geometry, target: String = Reorientation.canonicalCodes) {
        let stored = g.sformCode > 0 || g.qformCode > 0 ? g.affine.axisCodes : Self.canonicalCodes
        self.init(shape: shape, codes: stored.contains("?") ? Self.canonicalCodes : stored, target: target)
    }

    /// Whether the voxel order is already the target's.
    public var isIdentity: Bool { permutation == [0, 1, 2] && flipped == [false, false, false] }

    /// The grid after ``apply(_:)``.
    public var targetShape: GridShape {
        let n = [sourceShape.x, sourceShape.y, sourceShape.z]
        return GridShape(n[permutation[0]], n[permutation[1]], n[permutation[2]])
    }

    /// The volume in the target order, its geometry adjusted so that every voxel keeps its
    /// world position (qform and sform alike; spacing permuted): target axis `t` is source axis
    /// `permutation[t]`, reversed where `flipped[t]` (``Volume/storedInAxisOrder(_:reversed:)``).
    /// - Precondition: `volume.shape == sourceShape`.
    public func apply<V>(_ volume: Volume<V>) -> Volume<V> {
        precondition(volume.shape == sourceShape, "Reorientation: a \(volume.shape) volume for a \(sourceShape) grid")
        if isIdentity { return volume }
        return volume.storedInAxisOrder(permutation, reversed: flipped)
    }

    /// A volume on the target grid taken back to the source grid and geometry.
    /// - Parameters:
    ///   - volume: on ``targetShape`` (e.g. a mask made from ``apply(_:)``'s output).
    ///   - geometry: the source geometry to give it (default: derived back from `volume`'s).
    /// - Precondition: `volume.shape == targetShape`.
    public func invert<V>(_ volume: Volume<V>, geometry: Geometry? = nil) -> Volume<V> {
        precondition(volume.shape == targetShape, "Reorientation: a \(volume.shape) volume for a \(targetShape) grid")
        var back = volume
        if !isIdentity {
            // source axis permutation[t] is target axis t, reversed alike
            var order = [0, 1, 2], reversed = [false, false, false]
            for t in 0..<3 {
                order[permutation[t]] = t
                reversed[permutation[t]] = flipped[t]
            }
            back = volume.storedInAxisOrder(order, reversed: reversed)
        }
        if let geometry { back.geometry = geometry }
        return back
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
