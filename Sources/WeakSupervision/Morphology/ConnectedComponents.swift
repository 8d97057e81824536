import CTVolume
import ImageCore

/// Neighbourhoods of a pixel in an axial slice.
public enum Connectivity2D: Sendable, Hashable, CaseIterable {
    /// Edge neighbours (scipy `generate_binary_structure(2, 1)`).
    case four
    /// Edge and corner neighbours (`generate_binary_structure(2, 2)`).
    case eight
}

/// Neighbourhoods of a voxel.
public enum Connectivity3D: Sendable, Hashable, CaseIterable {
    /// Face neighbours (scipy `generate_binary_structure(3, 1)`).
    case six
    /// Face and edge neighbours (`generate_binary_structure(3, 2)`).
    case eighteen
    /// Face, edge and corner neighbours (`generate_binary_structure(3, 3)`).
    case twentySix
}

/// Where connected components are taken: within each axial slice, or across the volume.
public enum ComponentScope: Sendable, Hashable {
    /// 2-D components of each axial slice separately (a blob on two slices is two components).
    case slices(Connectivity2D)
    /// 3-D components of the whole volume.
    case volume(Connectivity3D)
}

/// Connected components of a binary image: which voxels belong together and how many each.
///
/// `labels[v]` is 0 for background and `1 ... count` for foreground, components numbered in the
/// order their first voxel appears in storage order (x fastest, then y, then z). The same
/// partition as `scipy.ndimage.label` with the matching structuring element (tested).
public struct ComponentLabels: Sendable, Equatable {
    /// One label per voxel; 0 is background.
    public var labels: [Int32]
    /// `sizes[c - 1]` is the number of voxels of component `c`.
    public var sizes: [Int]

    /// Number of components.
    public var count: Int { sizes.count }

    /// Labels (0 background, 1 ... count) and the size of each component, in label order.
    public init(labels: [Int32], sizes: [Int]) {
        self.labels = labels
        self.sizes = sizes
    }
}

/// Connected-component labelling and small-component removal (two-pass union-find over the
/// raster order, O(n) with path halving; the package's one labeller, in ImageCore).
public enum ConnectedComponents {
    /// Labels the foreground (> 0) of a row-major `height x width` image.
    ///
    /// - Precondition: `pixels.count == width * height`.
    public static func label(
        _ pixels: ArraySlice<UInt8>, width: Int, height: Int, connectivity: Connectivity2D = .eight
    ) -> ComponentLabels {
        precondition(pixels.count == width * height, "ConnectedComponents: \(pixels.count) pixels for \(width) x \(height)")
        let offsets = ComponentLabelling.backwardOffsets(maximumManhattan: connectivity == .four ? 1 : 2, planar: true)
        return label(pixels, GridShape(width, height, 1), backward: offsets)
    }

    /// ``label(_:width:height:connectivity:)`` for a whole array.
    public static func label(_ pixels: [UInt8], width: Int, height: Int, connectivity: Connectivity2D = .eight) -> ComponentLabels {
        label(pixels[...], width: width, height: height, connectivity: connectivity)
    }

    /// Labels the foreground (> 0) of a mask volume in 3-D.
    public static func label(_ mask: MaskVolume, connectivity: Connectivity3D = .twentySix) -> ComponentLabels {
        let manhattan: Int
        switch connectivity {
        case .six: manhattan = 1
        case .eighteen: manhattan = 2
        case .twentySix: manhattan = 3
        }
        let offsets = ComponentLabelling.backwardOffsets(maximumManhattan: manhattan)
        return label(mask.voxels[...], mask.shape, backward: offsets)
    }

    /// Labels each axial slice of `mask` in 2-D; labels run on across slices, so each
    /// component of each slice has its own label.
    public static func labelSlices(_ mask: MaskVolume, connectivity: Connectivity2D = .eight) -> ComponentLabels {
        let n = mask.shape.sliceCount
        var labels = [Int32](repeating: 0, count: mask.shape.count)
        var sizes: [Int] = []
        for k in 0..<mask.shape.z {
            let s = label(mask.slice(k), width: mask.shape.x, height: mask.shape.y, connectivity: connectivity)
            let base = Int32(sizes.count)
            for p in 0..<n where s.labels[p] > 0 { labels[k * n + p] = s.labels[p] + base }
            sizes += s.sizes
        }
        return ComponentLabels(labels: labels, sizes: sizes)
    }

    /// Labels `mask` in the given scope.
    public static func label(_ mask: MaskVolume, scope: ComponentScope) -> ComponentLabels {
        switch scope {
        case .slices(let c): return labelSlices(mask, connectivity: c)
        case .volume(let c): return label(mask, connectivity: c)
        }
    }

    /// The mask without its components of fewer than `minimumSize` voxels (components of
    /// exactly `minimumSize` stay, as scikit-image's `remove_small_objects(min_size=)`).
    /// Kept voxels become 1.
    ///
    /// - Parameters:
    ///   - minimumSize: the smallest size kept, in voxels (0 or 1 keeps everything).
    ///   - scope: 2-D per slice (default, 8-connected) or 3-D.
    public static func removingSmall(
        _ mask: MaskVolume, minimumSize: Int, scope: ComponentScope = .slices(.eight)
    ) -> MaskVolume {
        // Array.map, not Volume.map: the latter is generic across modules and not specialised.
        var out = MaskVolume(shape: mask.shape, voxels: mask.voxels.map { $0 > 0 ? 1 : 0 }, geometry: mask.geometry)
        if minimumSize <= 1 { return out }
        let c = label(mask, scope: scope)
        for v in 0..<out.voxels.count where c.labels[v] > 0 && c.sizes[Int(c.labels[v]) - 1] < minimumSize {
            out.voxels[v] = 0
        }
        return out
    }

    /// Labelling of `pixels` (> 0 is foreground) on `shape` through ``ComponentLabelling``.
    static func label(_ pixels: ArraySlice<UInt8>, _ shape: GridShape, backward: [(Int, Int, Int)]) -> ComponentLabels {
        pixels.withUnsafeBufferPointer { px in
            let r = ComponentLabelling.label(nx: shape.x, ny: shape.y, nz: shape.z, backward: backward) { px[$0] > 0 }
            return ComponentLabels(labels: r.labels, sizes: r.sizes)
        }
    }
}
