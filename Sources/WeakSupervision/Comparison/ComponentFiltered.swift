import CTVolume

/// Runs another segmenter and drops the 3-D connected components of its mask smaller than a
/// volume: the isolated specks a refiner leaves on negative scans.
///
///     out = base mask without its components of fewer than ceil(minimumVolumeML · 1000 / voxel mm³) voxels
///
/// The voxel volume comes from the scan's spacing, so one setting means the same on every
/// grid. 0 keeps everything. ``ComponentSizeSelection`` chooses the volume from slice labels.
public struct ComponentFiltered: Segmenter {
    /// The method whose masks are filtered.
    public var base: any Segmenter
    /// Components below this volume (mL) are dropped; 0 keeps all.
    public var minimumVolumeML: Double
    /// Neighbourhood of the components (default 26).
    public var connectivity: Connectivity3D

    /// A wrapper of `base`; the row keeps `base`'s name.
    public init(base: any Segmenter, minimumVolumeML: Double, connectivity: Connectivity3D = .twentySix) {
        self.base = base
        self.minimumVolumeML = minimumVolumeML
        self.connectivity = connectivity
    }

    /// `base`'s name.
    public var name: String { base.name }

    /// `base`'s mask without its small components.
    public func segment(_ input: SegmentationCase) throws -> MaskVolume {
        Self.filter(try base.segment(input), minimumVolumeML: minimumVolumeML, connectivity: connectivity)
    }

    /// The smallest component kept, in voxels, for a volume in mL on `geometry`'s grid.
    public static func minimumVoxels(_ minimumVolumeML: Double, geometry: Geometry) -> Int {
        let s = geometry.spacing
        let voxelMM3 = abs(s.x * s.y * s.z)
        guard minimumVolumeML > 0, voxelMM3 > 0 else { return 0 }
        return Int((minimumVolumeML * 1000 / voxelMM3).rounded(.up))
    }

    /// `mask` without its components below `minimumVolumeML` (kept voxels become 1).
    public static func filter(_ mask: MaskVolume, minimumVolumeML: Double, connectivity: Connectivity3D = .twentySix) -> MaskVolume {
        ConnectedComponents.removingSmall(mask, minimumSize: minimumVoxels(minimumVolumeML, geometry: mask.geometry),
                                          scope: .volume(connectivity))
    }
}

/// Chooses a minimum component volume for a segmenter from **slice labels only** (the weak
/// labels the pipeline trains on; no voxel mask is read), so the choice is legitimate for a
/// weakly supervised method.
///
/// For each candidate volume, every validation mask is filtered and each slice is called
/// positive when a voxel of it survives; the score is Youden's J (sensitivity + specificity − 1)
/// of those calls against the slice labels, pooled over all slices. Filtering can only remove
/// slices' voxels, so J trades the false-positive slices cleared (specificity) against the
/// small true lesions lost (sensitivity).
///
/// The choice is the **largest** candidate whose J is within `tolerance` of the best J. On the
/// full demo's 40 validation cases J varied by less than 0.01 between 0 and 0.5 mL, so the
/// plain maximum was decided by a few slices, and it chose 0.1 mL in one run and 0.5 mL in
/// another, leaving 11 and 18 of 28 negative test scans clean; among candidates that detect
/// the labelled slices equally well, the one that leaves fewer specks is preferred.
public enum ComponentSizeSelection {
    /// One candidate's score.
    public struct Candidate: Sendable, Equatable, Codable {
        /// Minimum component volume (mL).
        public var minimumVolumeML: Double
        /// Slices with a predicted voxel among the positive slices.
        public var sensitivity: Double
        /// Slices without a predicted voxel among the negative slices.
        public var specificity: Double
        /// sensitivity + specificity − 1 (NaN terms count as 0).
        public var youden: Double { (sensitivity.isNaN ? 0 : sensitivity) + (specificity.isNaN ? 0 : specificity) - 1 }
    }

    /// Default candidates (mL): 0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.
    public static let defaultCandidates: [Double] = [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]

    /// Scores every candidate on `masks` (predictions) against `sliceLabels` (one array per
    /// mask, one label per axial slice) and returns them with the chosen volume: the largest
    /// candidate whose J is at least the best J − `tolerance` (0: the best, the largest on exact ties).
    ///
    /// - Precondition: one label array per mask, each as long as its mask has slices; `tolerance` ≥ 0.
    public static func select(masks: [MaskVolume], sliceLabels: [[Bool]], candidates: [Double] = defaultCandidates,
                              connectivity: Connectivity3D = .twentySix,
                              tolerance: Double = 0) -> (minimumVolumeML: Double, candidates: [Candidate]) {
        precondition(tolerance >= 0 && tolerance.isFinite, "ComponentSizeSelection: tolerance \(tolerance) must be finite and ≥ 0")
        precondition(masks.count == sliceLabels.count, "ComponentSizeSelection: \(masks.count) masks, \(sliceLabels.count) label arrays")
        // Label each mask once; a slice keeps a voxel under a candidate exactly when its largest
        // component (3-D size, seen from this slice) reaches the candidate's voxel count.
        var largest: [[Int]] = []
        for (mask, labels) in zip(masks, sliceLabels) {
            precondition(labels.count == mask.shape.z, "ComponentSizeSelection: \(labels.count) labels for \(mask.shape.z) slices")
            let components = ConnectedComponents.label(mask, connectivity: connectivity)
            let n = mask.shape.sliceCount
            var perSlice = [Int](repeating: 0, count: mask.shape.z)
            for k in 0..<mask.shape.z {
                for v in (k * n)..<((k + 1) * n) where components.labels[v] > 0 {
                    perSlice[k] = max(perSlice[k], components.sizes[Int(components.labels[v]) - 1])
                }
            }
            largest.append(perSlice)
        }
        var scored: [Candidate] = []
        for volume in candidates.sorted() {
            var tp = 0, pos = 0, tn = 0, neg = 0
            for ((mask, labels), sizes) in zip(zip(masks, sliceLabels), largest) {
                let needed = max(1, ComponentFiltered.minimumVoxels(volume, geometry: mask.geometry))
                for k in 0..<labels.count {
                    let hit = sizes[k] >= needed
                    if labels[k] { pos += 1; if hit { tp += 1 } } else { neg += 1; if !hit { tn += 1 } }
                }
            }
            scored.append(Candidate(minimumVolumeML: volume, sensitivity: pos > 0 ? Double(tp) / Double(pos) : .nan,
                                    specificity: neg > 0 ? Double(tn) / Double(neg) : .nan))
        }
        guard let top = scored.map(\.youden).max() else { return (0, scored) }
        let chosen = scored.last { $0.youden >= top - tolerance - 1e-12 }!   // scored is sorted by volume
        return (chosen.minimumVolumeML, scored)
    }
}
