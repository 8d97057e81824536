/// The size of a 3-D voxel grid in NIfTI index order: `x` (i) varies fastest, then `y` (j),
/// then `z` (k).
///
/// Metrics keeps its own small grid type so that it depends on nothing: the same layout as
/// `CTVolume.GridShape` (convert with `MaskShape(shape.x, shape.y, shape.z)`). The linear index
/// of voxel (i, j, k) is `i + x * (j + y * k)`. A numpy array `a[i, j, k]` built in the same
/// (x, y, z) index order and flattened in Fortran order (`a.ravel(order="F")`) has this layout.
public struct MaskShape: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Voxels along x (the fastest axis).
    public var x: Int
    /// Voxels along y.
    public var y: Int
    /// Voxels along z (the slowest axis, axial slices).
    public var z: Int

    /// A grid of `x * y * z` voxels.
    /// - Precondition: every size is >= 0.
    public init(_ x: Int, _ y: Int, _ z: Int) {
        precondition(x >= 0 && y >= 0 && z >= 0, "MaskShape: negative size \(x) x \(y) x \(z)")
        self.x = x
        self.y = y
        self.z = z
    }

    /// Number of voxels, `x * y * z`.
    public var count: Int { x * y * z }

    /// Linear index of voxel (i, j, k): `i + x * (j + y * k)`.
    @inlinable
    public func index(_ i: Int, _ j: Int, _ k: Int) -> Int { i + x * (j + y * k) }

    /// The sizes as an array `[x, y, z]`.
    public var sizes: [Int] { [x, y, z] }

    /// `X x Y x Z`, as messages print it.
    public var description: String { "\(x) x \(y) x \(z)" }
}

/// An axis-aligned box of voxels, inclusive bounds, in NIfTI index order.
public struct VoxelBox: Hashable, Sendable, Codable {
    /// Smallest (i, j, k) inside the box.
    public var lower: SIMD3<Int>
    /// Largest (i, j, k) inside the box.
    public var upper: SIMD3<Int>

    /// The box from `lower` to `upper`, both inclusive.
    public init(lower: SIMD3<Int>, upper: SIMD3<Int>) {
        self.lower = lower
        self.upper = upper
    }

    /// The grid size of the box, `upper - lower + 1` per axis.
    public var shape: MaskShape {
        MaskShape(upper.x - lower.x + 1, upper.y - lower.y + 1, upper.z - lower.z + 1)
    }

    /// The smallest box holding both.
    public func union(_ other: VoxelBox) -> VoxelBox {
        VoxelBox(lower: pointwiseMin(lower, other.lower), upper: pointwiseMax(upper, other.upper))
    }
}
