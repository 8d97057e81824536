/// The size of a voxel grid, in NIfTI index order: `x` (i) varies fastest, then `y` (j), then `z` (k).
///
/// Axial slices run along `z`. The linear index of voxel (i, j, k) is `i + x * (j + y * k)`,
/// the order in which NIfTI stores voxels on disk.
public struct GridShape: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Voxels along i (columns of an axial slice).
    public var x: Int
    /// Voxels along j (rows of an axial slice).
    public var y: Int
    /// Voxels along k (axial slices).
    public var z: Int

    /// A grid of `x * y * z` voxels.
    public init(_ x: Int, _ y: Int, _ z: Int) {
        self.x = x
        self.y = y
        self.z = z
    }

    /// Number of voxels, `x * y * z`.
    public var count: Int { x * y * z }

    /// Number of voxels in one axial slice, `x * y`.
    public var sliceCount: Int { x * y }

    /// Linear index of voxel (i, j, k).
    @inlinable
    public func index(_ i: Int, _ j: Int, _ k: Int) -> Int { i + x * (j + y * k) }

    /// `X x Y x Z`, as messages print it.
    public var description: String { "\(x) x \(y) x \(z)" }
}

/// A 3-D image on a voxel grid with its world geometry.
///
/// `voxels` is in NIfTI order (see ``GridShape``). A CT scan is a `Volume<Float>` holding
/// Hounsfield units; a segmentation is a `Volume<UInt8>` where a voxel > 0 is foreground.
/// Axial slice `k` as a row-major image (row j, column i) is the contiguous range
/// `k * x * y ..< (k + 1) * x * y`: no transpose is needed.
public struct Volume<Voxel: Sendable>: Sendable {
    /// The grid size.
    public var shape: GridShape
    /// Voxel values in NIfTI order (see ``GridShape``).
    public var voxels: [Voxel]
    /// Spacing and the voxel-to-world transform.
    public var geometry: Geometry

    /// - Precondition: `voxels.count == shape.count`.
    public init(shape: GridShape, voxels: [Voxel], geometry: Geometry) {
        precondition(voxels.count == shape.count, "Volume: \(voxels.count) voxels for a \(shape) grid")
        self.shape = shape
        self.voxels = voxels
        self.geometry = geometry
    }

    /// A volume of `shape` filled with `value`.
    public init(shape: GridShape, repeating value: Voxel, geometry: Geometry) {
        self.init(shape: shape, voxels: Array(repeating: value, count: shape.count), geometry: geometry)
    }

    /// The voxel at (i, j, k).
    @inlinable
    public subscript(i: Int, j: Int, k: Int) -> Voxel {
        get { voxels[shape.index(i, j, k)] }
        set { voxels[shape.index(i, j, k)] = newValue }
    }

    /// Axial slice `k` as a row-major `y x x` array (row j, column i).
    public func slice(_ k: Int) -> ArraySlice<Voxel> {
        precondition(k >= 0 && k < shape.z, "slice \(k) outside 0..<\(shape.z)")
        let n = shape.sliceCount
        return voxels[(k * n)..<((k + 1) * n)]
    }

    /// The same grid and geometry with other voxel values.
    public func map<T: Sendable>(_ transform: (Voxel) throws -> T) rethrows -> Volume<T> {
        Volume<T>(shape: shape, voxels: try voxels.map(transform), geometry: geometry)
    }
}

/// Hounsfield units (or any scalar intensity), one Float per voxel.
public typealias ScanVolume = Volume<Float>

/// A label volume: 0 is background, anything > 0 is foreground (ICH).
public typealias MaskVolume = Volume<UInt8>
