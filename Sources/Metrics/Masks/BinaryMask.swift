/// A binary segmentation on a 3-D grid with its voxel spacing in mm.
///
/// `voxels` is in NIfTI order (see ``MaskShape``); `true` is foreground. Every metric of this
/// module takes masks of this type, so that a Swift program can evaluate any arrays without
/// the file readers of `CTVolume`:
///
///     let truth = BinaryMask(shape: MaskShape(64, 64, 20), spacing: SIMD3(0.42, 0.42, 5),
///                            voxels: truthVoxels)
///     let scores = SegmentationScores(prediction: prediction, truth: truth)
public struct BinaryMask: Sendable, Equatable {
    /// The grid size.
    public let shape: MaskShape
    /// Voxel size along (x, y, z) in mm.
    public let spacing: SIMD3<Double>
    /// One flag per voxel, NIfTI order.
    public var voxels: [Bool]
    /// Volume of one voxel in mL: `sx * sy * sz / 1000`, unless given at `init` (a sheared
    /// grid, such as a gantry-tilted series, has voxels smaller than that product).
    public let voxelVolumeML: Double

    /// A mask from flags.
    /// - Parameters:
    ///   - shape: the grid size.
    ///   - spacing: voxel size along (x, y, z) in mm; default 1 mm isotropic.
    ///   - voxels: `shape.count` flags in NIfTI order.
    ///   - voxelVolumeML: the volume of one voxel in mL when it is not the product of the
    ///     spacings (a sheared grid: `CTVolume`'s `Geometry.voxelVolumeML`); nil (default): the product.
    /// - Precondition: `voxels.count == shape.count`; each spacing is finite and > 0; a given
    ///   voxel volume is finite and > 0.
    public init(shape: MaskShape, spacing: SIMD3<Double> = SIMD3(1, 1, 1), voxels: [Bool], voxelVolumeML: Double? = nil) {
        precondition(voxels.count == shape.count, "BinaryMask: \(voxels.count) voxels for a \(shape) grid")
        precondition(spacing.x > 0 && spacing.y > 0 && spacing.z > 0 && spacing.x.isFinite
                     && spacing.y.isFinite && spacing.z.isFinite, "BinaryMask: spacing \(spacing) must be finite and > 0")
        precondition(voxelVolumeML.map { $0 > 0 && $0.isFinite } ?? true, "BinaryMask: voxel volume \(voxelVolumeML ?? 0) must be finite and > 0")
        self.shape = shape
        self.spacing = spacing
        self.voxels = voxels
        self.voxelVolumeML = voxelVolumeML ?? spacing.x * spacing.y * spacing.z / 1000
    }

    /// A mask from integer labels: foreground is `label == foreground`, or any non-zero value
    /// when `foreground` is nil.
    /// - Parameters:
    ///   - labels: `shape.count` values in NIfTI order.
    ///   - foreground: the label to select; nil (default) means "any non-zero value".
    public init<Label: BinaryInteger>(shape: MaskShape, spacing: SIMD3<Double> = SIMD3(1, 1, 1),
                                      labels: [Label], foreground: Label? = nil) {
        if let foreground {
            self.init(shape: shape, spacing: spacing, voxels: labels.map { $0 == foreground })
        } else {
            self.init(shape: shape, spacing: spacing, voxels: labels.map { $0 != 0 })
        }
    }

    /// A mask from labels that must be binary (every value 0 or 1) unless `foreground` names
    /// the label to select.
    /// - Parameters:
    ///   - name: names the case in the error (a file name).
    ///   - foreground: the label to select (`voxel == foreground`); nil demands 0/1 values.
    /// - Throws: ``MetricsError/notBinary(name:values:)`` when `foreground` is nil and a value
    ///   other than 0 and 1 occurs.
    public static func validated<Label: BinaryInteger>(
        name: String, shape: MaskShape, spacing: SIMD3<Double>, labels: [Label], foreground: Label? = nil
    ) throws(MetricsError) -> BinaryMask {
        if foreground == nil {
            var seen = Set<Label>()
            for value in labels where value != 0 && value != 1 {
                seen.insert(value)
                if seen.count >= 5 { break }
            }
            if !seen.isEmpty {
                throw .notBinary(name: name, values: seen.map { Int(truncatingIfNeeded: $0) }.sorted())
            }
        }
        return BinaryMask(shape: shape, spacing: spacing, labels: labels, foreground: foreground)
    }

    /// Number of foreground voxels.
    public var foregroundCount: Int {
        var n = 0
        for v in voxels where v { n += 1 }
        return n
    }

    /// Whether no voxel is foreground.
    public var isEmpty: Bool {
        voxels.withUnsafeBufferPointer { v in v.baseAddress.map { !anyNonZero(UnsafeRawPointer($0), v.count) } ?? true }
    }

    /// Foreground volume in mL: `count * voxelVolumeML`.
    public var volumeML: Double { Double(foregroundCount) * voxelVolumeML }

    /// The smallest box holding every foreground voxel, nil for an empty mask.
    /// Complexity: O(voxels).
    public var boundingBox: VoxelBox? {
        let (nx, ny, nz) = (shape.x, shape.y, shape.z)
        var lower = SIMD3<Int>(Int.max, Int.max, Int.max)
        var upper = SIMD3<Int>(-1, -1, -1)
        voxels.withUnsafeBufferPointer { v in
            guard let base = v.baseAddress else { return }
            let raw = UnsafeRawPointer(base)
            for k in 0..<nz {
                // Skip empty slices and rows a word at a time: most of a CT grid is background.
                guard anyNonZero(raw + nx * ny * k, nx * ny) else { continue }
                for j in 0..<ny {
                    let row = nx * (j + ny * k)
                    guard anyNonZero(raw + row, nx) else { continue }
                    var first = 0
                    while !v[row + first] { first += 1 }
                    var last = nx - 1
                    while !v[row + last] { last -= 1 }
                    lower = pointwiseMin(lower, SIMD3(first, j, k))
                    upper = pointwiseMax(upper, SIMD3(last, j, k))
                }
            }
        }
        return upper.x < 0 ? nil : VoxelBox(lower: lower, upper: upper)
    }

    /// The voxels inside `box`, padded with `padding` background voxels on every side (the
    /// padding may reach outside the grid: it is background either way).
    func cropped(to box: VoxelBox, padding: Int = 0) -> (voxels: [Bool], shape: MaskShape) {
        let out = MaskShape(box.upper.x - box.lower.x + 1 + 2 * padding,
                            box.upper.y - box.lower.y + 1 + 2 * padding,
                            box.upper.z - box.lower.z + 1 + 2 * padding)
        var result = [Bool](repeating: false, count: out.count)
        let inner = box.shape
        voxels.withUnsafeBufferPointer { v in
            result.withUnsafeMutableBufferPointer { r in
                for k in 0..<inner.z {
                    for j in 0..<inner.y {
                        let src = shape.index(box.lower.x, box.lower.y + j, box.lower.z + k)
                        let dst = out.index(padding, padding + j, padding + k)
                        for i in 0..<inner.x { r[dst + i] = v[src + i] }
                    }
                }
            }
        }
        return (result, out)
    }
}
