import CTVolume
import ImageCore
import Metrics

/// Runs another segmenter and drops the 3-D components of its mask that lie wholly in the
/// rim along the skull: every voxel of the component within `rimMM` of a skull voxel. A
/// component that reaches deeper keeps all its voxels, rim included.
///
///     skull   = the largest 26-connected component of  scan >= boneHU   (the whole volume)
///     depth   = distance to the skull, mm (``Distance``: in-plane, or between slabs)
///     out     = the 26-connected components C of the base mask with  max over C of depth > rimMM
///
/// The skull is the largest bone component, so a calcification (pineal, choroid plexus, falx:
/// small and apart from the skull) is not bone here, and blood next to it is not dropped.
///
/// The distance is in-plane by default (``Distance/inPlane``): a patch whose bone lies in the
/// next slice (over the skull-base floor, at the vertex) has a large in-plane depth and is
/// kept. ``Distance/slab`` measures between the slabs the slices stand for, so the bone of the
/// next slice lies 0 mm along z: the partial volume of a thick slice, which takes in the bone
/// at its edge (Docs/experiments/2026-12-06-slab-bone-rim.md).
///
/// Why: bone blurs into the brain at the inner table and the skull base, and the voxels it
/// blurs into take HU of blood (partial volume), in thin crescents along the table. A
/// network trained on intensity-based pseudo-masks marks them; on real normal head CTs the
/// demo's pipeline called 6 and 25 mL of blood that way (issue 16). A blood collection
/// against the skull (epidural, subdural) is thicker than the blur and keeps its core, so it
/// keeps every voxel, its rim too; a collection thinner than `rimMM` everywhere is lost with
/// the crescents, which is the price.
///
/// Nothing is added; an empty mask stays empty. In-plane, a slice without skull has infinite
/// depth, so nothing on it is dropped; between slabs, only a volume without skull is.
public struct BoneRimFiltered: Segmenter {
    /// How the distance from a voxel to the skull is measured.
    public enum Distance: String, Codable, Sendable, CaseIterable {
        /// Within the voxel's axial slice, to the skull voxels of that slice (exact EDT with the
        /// x and y spacing); `.infinity` on a slice without skull.
        case inPlane = "in-plane"
        /// Between slabs: each axial slice stands for the slab of its thickness (taken as the
        /// slice spacing t: contiguous slices), so a skull voxel |Δz| slices away lies
        /// max(0, |Δz| − 1)·t away along z, and the distance is
        /// √(in-plane² + that²), minimised over every skull voxel of the volume. The bone of the
        /// neighbouring slices counts as touching the voxel's slab, as its partial volume
        /// does. Never more than ``inPlane``; `.infinity` only when the volume has no skull.
        case slab
    }

    /// What counts as bone and how wide its rim is: the part a ``PipelineConfig`` saves.
    public struct Settings: Codable, Sendable, Equatable {
        /// HU at or above which a voxel is bone (default 200: above any blood, 35 to 105 HU,
        /// by several times its noise; below the cortical bone of the table, 700 HU and up).
        public var boneHU: Double
        /// Components whose every voxel lies within this distance of the skull (measured as
        /// ``distance`` says) are dropped (mm, > 0).
        public var rimMM: Double
        /// How the distance to the skull is measured (default ``Distance/inPlane``; saved as
        /// `"distance"` only when not in-plane, so configurations saved before it read and key as
        /// they did).
        public var distance: Distance

        /// Settings; see the properties for the defaults (rim 2 mm, in-plane).
        public init(boneHU: Double = 200, rimMM: Double = 2, distance: Distance = .inPlane) {
            self.boneHU = boneHU
            self.rimMM = rimMM
            self.distance = distance
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case boneHU, rimMM, distance }

        /// Reads the saved form; a missing `distance` is in-plane; an unknown key is refused by
        /// name (a misspelt `distance` would otherwise give the in-plane rim).
        public init(from decoder: Decoder) throws {
            try refuseUnknownKeys(decoder, CodingKeys.self, kind: "boneRim")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            boneHU = try c.decode(Double.self, forKey: .boneHU)
            rimMM = try c.decode(Double.self, forKey: .rimMM)
            distance = try c.decodeIfPresent(Distance.self, forKey: .distance) ?? .inPlane
        }

        /// Writes `boneHU`, `rimMM`, and `distance` unless in-plane.
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(boneHU, forKey: .boneHU)
            try c.encode(rimMM, forKey: .rimMM)
            if distance != .inPlane { try c.encode(distance, forKey: .distance) }
        }

        /// Throws unless both are finite and the rim > 0.
        public func validate() throws {
            guard boneHU.isFinite else {
                throw WeakSupervisionError.invalidParameter(name: "boneRim.boneHU", reason: "\(boneHU) is not a finite HU")
            }
            guard rimMM.isFinite && rimMM > 0 else {
                throw WeakSupervisionError.invalidParameter(name: "boneRim.rimMM", reason: "\(rimMM) is not a distance in mm (finite, > 0)")
            }
        }
    }

    /// The method whose masks are filtered.
    public var base: any Segmenter
    /// Bone threshold and rim width; checked again on every ``segment(_:)``.
    public var settings: Settings
    /// The last case's bone depth, shared with the wrappers made by ``sharingBoneDepth(around:)`` (and, in a pipeline, by its post-processed refiner rows).
    let memo: BoneDepthMemo

    /// A wrapper of `base`; the row keeps `base`'s name.
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` for invalid settings.
    public init(base: any Segmenter, settings: Settings = Settings()) throws {
        try self.init(base: base, settings: settings, sharing: BoneDepthMemo())
    }

    /// A wrapper whose bone depth of the last case is `memo`, shared with other wrappers.
    init(base: any Segmenter, settings: Settings, sharing memo: BoneDepthMemo) throws {
        try settings.validate()
        self.base = base
        self.settings = settings
        self.memo = memo
    }

    /// The same filter (same settings) around another base, sharing this wrapper's last bone
    /// depth: rows that filter the same case in turn (as ``MethodComparison`` goes case by case)
    /// label the skull and measure the distances once. A case is recognised by its grid, affine
    /// and every voxel of its scan.
    public func sharingBoneDepth(around base: any Segmenter) -> BoneRimFiltered {
        var copy = self
        copy.base = base
        return copy
    }

    /// `base`'s name.
    public var name: String { base.name }

    /// `base`'s mask without its components that lie wholly in the bone rim.
    /// - Throws: invalid settings, a mask off the scan's grid, the case's own validation errors and `base`'s.
    public func segment(_ input: SegmentationCase) throws -> MaskVolume {
        try settings.validate()
        let mask = try input.checkedMask(of: base, wrapper: name)
        guard mask.voxels.contains(where: { $0 > 0 }) else { return mask }
        let depth = memo.value(for: BoneDepthKey(input.scan, boneHU: settings.boneHU, distance: settings.distance)) {
            Self.boneDepth(input.scan, boneHU: settings.boneHU, distance: settings.distance)
        }
        return Self.filter(mask, depth: depth, rimMM: settings.rimMM)
    }

    /// The skull: the largest 26-connected component of the voxels at or above `boneHU` (the
    /// first in storage order on a tie); all zeros when no voxel is.
    public static func skull(_ scan: ScanVolume, boneHU: Double) -> MaskVolume {
        let threshold = Float(boneHU)
        let bone = scan.map { $0 >= threshold ? UInt8(1) : 0 }
        let components = ConnectedComponents.label(bone, connectivity: .twentySix)
        guard let largest = components.sizes.indices.max(by: { components.sizes[$0] < components.sizes[$1] }) else { return bone }
        let label = Int32(largest + 1)
        var out = bone
        for v in out.voxels.indices { out.voxels[v] = components.labels[v] == label ? 1 : 0 }
        return out
    }

    /// Distance (mm) from each voxel to the nearest skull voxel (``skull(_:boneHU:)``), measured
    /// as `distance` says (``Distance``). Exact (Felzenszwalb–Huttenlocher) with the scan's
    /// spacing.
    ///
    /// Between slabs, the skull is first widened by one slice each way along z (a voxel whose
    /// slice or neighbouring slice holds skull at its (x, y) is bone), then the exact 3-D
    /// transform of that is taken with the z spacing t (``EuclideanDistanceTransform``): a skull
    /// voxel |Δz| ≥ 1 slices away then lies (|Δz| − 1)·t away along z, the definition's distance.
    public static func boneDepth(_ scan: ScanVolume, boneHU: Double, distance: Distance = .inPlane) -> [Double] {
        let w = scan.shape.x, h = scan.shape.y, d = scan.shape.z, plane = w * h
        let sx = Double(abs(scan.geometry.spacing.x)), sy = Double(abs(scan.geometry.spacing.y))
        let skull = skull(scan, boneHU: boneHU)
        switch distance {
        case .inPlane:
            var depth = [Double](repeating: .infinity, count: scan.voxels.count)
            for z in 0..<d {
                let base = z * plane
                let bone = (0..<plane).map { skull.voxels[base + $0] > 0 }
                guard bone.contains(true) else { continue }
                let d2 = DistanceTransform.squaredDistances2D(bone, width: w, height: h, spacingX: sx, spacingY: sy)
                for p in 0..<plane { depth[base + p] = d2[p].squareRoot() }
            }
            return depth
        case .slab:
            var widened = [Bool](repeating: false, count: scan.voxels.count)
            for z in 0..<d {
                for k in max(0, z - 1)...min(d - 1, z + 1) {
                    for p in 0..<plane where skull.voxels[k * plane + p] > 0 { widened[z * plane + p] = true }
                }
            }
            // a z spacing of 0 (a grid no file holds): slabs of no thickness, every slice touching
            let sz = max(Double(abs(scan.geometry.spacing.z)), 1e-6)
            return EuclideanDistanceTransform.distances(toFeatures: widened, shape: MaskShape(w, h, d), spacing: SIMD3(sx, sy, sz))
        }
    }

    /// `mask` without its 26-connected components whose every voxel lies within
    /// `settings.rimMM` of the skull (``boneDepth(_:boneHU:distance:)``); kept voxels become 1.
    /// - Precondition: `scan` on `mask`'s grid (same shape).
    public static func filter(_ mask: MaskVolume, scan: ScanVolume, settings: Settings) -> MaskVolume {
        precondition(scan.shape == mask.shape, "BoneRimFiltered: scan \(scan.shape) and mask \(mask.shape) differ")
        guard mask.voxels.contains(where: { $0 > 0 }) else { return mask }
        return filter(mask, depth: boneDepth(scan, boneHU: settings.boneHU, distance: settings.distance), rimMM: settings.rimMM)
    }

    /// ``filter(_:scan:settings:)`` with the bone depth given (one value per voxel of `mask`).
    static func filter(_ mask: MaskVolume, depth: [Double], rimMM: Double) -> MaskVolume {
        let components = ConnectedComponents.label(mask, connectivity: .twentySix)
        var deep = [Bool](repeating: false, count: components.sizes.count + 1)
        for v in mask.voxels.indices {
            let l = Int(components.labels[v])
            if l > 0 && depth[v] > rimMM { deep[l] = true }
        }
        var out = mask
        for v in out.voxels.indices {
            let l = Int(components.labels[v])
            out.voxels[v] = l > 0 && deep[l] ? 1 : 0
        }
        return out
    }
}

extension Segmenter {
    /// Components lying wholly within `settings.rimMM` of the skull dropped (``BoneRimFiltered``).
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` for invalid settings.
    public func droppingBoneRim(_ settings: BoneRimFiltered.Settings) throws -> BoneRimFiltered {
        try BoneRimFiltered(base: self, settings: settings)
    }
}

/// The last scan whose bone depth a ``BoneRimFiltered`` computed, and that depth.
typealias BoneDepthMemo = LastResultMemo<BoneDepthKey, [Double]>

/// What makes two bone depths the same: the scan (grid, affine, every voxel), the bone threshold
/// and the distance.
struct BoneDepthKey: Equatable {
    let shape: GridShape, affine: Affine, boneHU: Double, distance: BoneRimFiltered.Distance, scanHash: UInt64

    init(_ scan: ScanVolume, boneHU: Double, distance: BoneRimFiltered.Distance) {
        shape = scan.shape
        affine = scan.geometry.affine
        self.boneHU = boneHU
        self.distance = distance
        scanHash = scan.contentHash
    }
}
