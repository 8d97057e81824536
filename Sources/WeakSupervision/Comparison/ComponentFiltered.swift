import CTVolume

/// Runs another segmenter and drops the 3-D connected components of its mask smaller than a
/// volume: the isolated specks a refiner leaves on negative scans.
///
///     out = base mask without its components of fewer than ceil(minimumVolumeML · 1000 / voxel mm³) voxels
///           that share no voxel with the support's mask
///
/// The voxel volume comes from the scan's spacing, so one setting means the same on every
/// grid. 0 keeps everything. ``ComponentSizeSelection`` chooses the volume from slice labels.
///
/// A speck and a small bleed have the same size, so size alone deletes real 0.5 mL bleeds
/// (issue 16). With a ``support``, a component below the volume is kept when it shares a voxel
/// with the support's mask of the same case: the refiner's own mask at a higher probability
/// (hysteresis, ``RefinerSegmenter/threshold``: what the network is sure of), the pseudo-masks,
/// or any other method's mask. The support only keeps components; it never adds a voxel.
public struct ComponentFiltered: Segmenter {
    /// The method whose masks are filtered.
    public var base: any Segmenter
    /// Components below this volume (mL) are dropped; 0 keeps all.
    public var minimumVolumeML: Double
    /// Neighbourhood of the components (default 26).
    public var connectivity: Connectivity3D
    /// A method whose mask keeps the small components it touches (nil: size alone decides).
    public var support: (any Segmenter)?

    /// A wrapper of `base`; the row keeps `base`'s name.
    public init(base: any Segmenter, minimumVolumeML: Double, connectivity: Connectivity3D = .twentySix, support: (any Segmenter)? = nil) {
        self.base = base
        self.minimumVolumeML = minimumVolumeML
        self.connectivity = connectivity
        self.support = support
    }

    /// `base`'s name.
    public var name: String { base.name }

    /// `base`'s mask without its small components (those the support's mask touches kept).
    /// - Throws: `base`'s or the support's errors; a support mask on another grid.
    public func segment(_ input: SegmentationCase) throws -> MaskVolume {
        let mask = try base.segment(input)
        // the support runs only when there is something small to keep or drop
        guard let support, minimumVolumeML > 0 else { return Self.filter(mask, minimumVolumeML: minimumVolumeML, connectivity: connectivity) }
        let kept = try support.segment(input)
        guard kept.shape == mask.shape else {
            throw WeakSupervisionError.shapeMismatch(what: "\(input.name): the component filter's support (\(support.name))",
                                                     expected: "\(mask.shape)", got: "\(kept.shape)")
        }
        return Self.filter(mask, minimumVolumeML: minimumVolumeML, connectivity: connectivity, support: kept)
    }

    /// The smallest component kept, in voxels, for a volume in mL on `geometry`'s grid
    /// (``Geometry/voxelVolumeML``, so a tilted series counts its smaller voxels).
    public static func minimumVoxels(_ minimumVolumeML: Double, geometry: Geometry) -> Int {
        let s = geometry.spacing
        let voxelMM3 = abs(s.x * s.y * s.z) * geometry.obliquity
        guard minimumVolumeML > 0, voxelMM3 > 0 else { return 0 }
        return Int((minimumVolumeML * 1000 / voxelMM3).rounded(.up))
    }

    /// `mask` without its components below `minimumVolumeML` (kept voxels become 1); with
    /// `support`, a component that shares a voxel (> 0) with it is kept at any size.
    /// - Precondition: `support`, when given, has `mask`'s shape.
    public static func filter(_ mask: MaskVolume, minimumVolumeML: Double, connectivity: Connectivity3D = .twentySix,
                              support: MaskVolume? = nil) -> MaskVolume {
        let minimum = minimumVoxels(minimumVolumeML, geometry: mask.geometry)
        guard let support, minimum > 1 else {
            return ConnectedComponents.removingSmall(mask, minimumSize: minimum, scope: .volume(connectivity))
        }
        precondition(support.shape == mask.shape, "ComponentFiltered: support \(support.shape), mask \(mask.shape)")
        let c = ConnectedComponents.label(mask, connectivity: connectivity)
        let keep = supportedSizes(c, support: support)
        var out = mask.voxels.map { $0 > 0 ? UInt8(1) : 0 }
        for v in out.indices where c.labels[v] > 0 && keep[Int(c.labels[v]) - 1] < minimum { out[v] = 0 }
        return MaskVolume(shape: mask.shape, voxels: out, geometry: mask.geometry)
    }

    /// The components' sizes with every component that shares a voxel with `support` counted
    /// as `Int.max` (kept by any minimum).
    static func supportedSizes(_ c: ComponentLabels, support: MaskVolume?) -> [Int] {
        guard let support else { return c.sizes }
        var sizes = c.sizes
        for v in c.labels.indices where c.labels[v] > 0 && support.voxels[v] > 0 { sizes[Int(c.labels[v]) - 1] = .max }
        return sizes
    }
}

/// Chooses a minimum component volume for a segmenter from **slice labels only** (the weak
/// labels the pipeline trains on; no voxel mask is read), so the choice is legitimate for a
/// weakly supervised method.
///
/// For each candidate volume, every validation mask is filtered; a slice is called positive
/// when a voxel of it survives, and a case when a voxel of it survives anywhere (a case is
/// labelled positive when one of its slices is). Filtering can only remove voxels, so a larger
/// volume clears false-positive slices and scans (specificity) and loses small true lesions
/// (sensitivity). The score (``Criterion``) is Youden's J (sensitivity + specificity − 1) over
/// the pooled slices, over the cases, or the sum of the two.
///
/// With a `tolerance`, the choice is the **largest** candidate whose score is within it of the
/// best; without one, the best, the smallest volume on exact ties (the rule before tolerances
/// existed). When every candidate scores the same (no validation case, or empty masks),
/// nothing tells them apart and the smallest is chosen. On
/// the full demo's 40 validation cases the slice-level J moved by at most 0.012 between 0.1
/// and 1 mL, so its plain maximum was decided by a few slices (0.1, 0.2 and 0.5 mL in three
/// runs, leaving 10 to 18 of 28 negative test scans clean), while the case-level J, which
/// counts a clean negative scan, rose from 0.07 to 0.71 over the same range (Docs/pipeline.md).
public enum ComponentSizeSelection {
    /// What a candidate is scored by.
    public enum Criterion: String, Codable, Sendable, CaseIterable {
        /// Youden's J of the slice calls, pooled over all slices.
        case slices
        /// Youden's J of the case calls (any voxel left).
        case cases
        /// The sum of the two: a candidate must find the labelled slices and leave negative scans clean.
        case slicesAndCases
    }

    /// One candidate's score.
    public struct Candidate: Sendable, Equatable, Codable {
        /// Minimum component volume (mL).
        public var minimumVolumeML: Double
        /// Slices with a predicted voxel among the positive slices.
        public var sensitivity: Double
        /// Slices without a predicted voxel among the negative slices.
        public var specificity: Double
        /// Cases with a predicted voxel among the positive cases (nil in records written before it).
        public var caseSensitivity: Double?
        /// Cases without a predicted voxel among the negative cases (nil in records written before it).
        public var caseSpecificity: Double?

        /// A candidate's scores.
        public init(minimumVolumeML: Double, sensitivity: Double, specificity: Double,
                    caseSensitivity: Double? = nil, caseSpecificity: Double? = nil) {
            self.minimumVolumeML = minimumVolumeML
            self.sensitivity = sensitivity
            self.specificity = specificity
            self.caseSensitivity = caseSensitivity
            self.caseSpecificity = caseSpecificity
        }

        /// Slice-level sensitivity + specificity − 1 (NaN terms count as 0).
        public var youden: Double { Self.j(sensitivity, specificity) }
        /// Case-level sensitivity + specificity − 1 (NaN or missing terms count as 0).
        public var caseYouden: Double { Self.j(caseSensitivity ?? .nan, caseSpecificity ?? .nan) }

        /// The candidate's score under `criterion`.
        public func score(_ criterion: Criterion) -> Double {
            switch criterion {
            case .slices: return youden
            case .cases: return caseYouden
            case .slicesAndCases: return youden + caseYouden
            }
        }

        private static func j(_ a: Double, _ b: Double) -> Double { (a.isNaN ? 0 : a) + (b.isNaN ? 0 : b) - 1 }
    }

    /// Default candidates (mL): 0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.
    public static let defaultCandidates: [Double] = [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]

    /// Scores every candidate on `masks` (predictions) against `sliceLabels` (one array per
    /// mask, one label per axial slice) and returns them with the chosen volume: the largest
    /// candidate whose score under `criterion` is at least the best score − `tolerance`, or,
    /// with `tolerance` nil, the smallest of the best; the smallest when all score the same.
    /// With `supports` (one mask per case, on its grid), a component that shares a voxel with its
    /// case's support is kept by every candidate, as ``ComponentFiltered`` with that support keeps it.
    ///
    /// - Precondition: one label array (and support, when given) per mask, each as long as its mask has slices; `tolerance` ≥ 0.
    public static func select(masks: [MaskVolume], sliceLabels: [[Bool]], candidates: [Double] = defaultCandidates,
                              connectivity: Connectivity3D = .twentySix, criterion: Criterion = .slices,
                              tolerance: Double? = nil, supports: [MaskVolume]? = nil) -> (minimumVolumeML: Double, candidates: [Candidate]) {
        precondition(tolerance.map { $0 >= 0 && $0.isFinite } ?? true, "ComponentSizeSelection: tolerance \(tolerance!) must be finite and ≥ 0")
        precondition(masks.count == sliceLabels.count, "ComponentSizeSelection: \(masks.count) masks, \(sliceLabels.count) label arrays")
        precondition(supports.map { $0.count == masks.count } ?? true, "ComponentSizeSelection: \(supports!.count) supports, \(masks.count) masks")
        // Label each mask once; a slice keeps a voxel under a candidate exactly when its largest
        // component (3-D size, seen from this slice) reaches the candidate's voxel count.
        var largest: [[Int]] = []
        for (i, (mask, labels)) in zip(masks, sliceLabels).enumerated() {
            precondition(labels.count == mask.shape.z, "ComponentSizeSelection: \(labels.count) labels for \(mask.shape.z) slices")
            precondition(supports.map { $0[i].shape == mask.shape } ?? true, "ComponentSizeSelection: support \(i) is not on its mask's grid")
            let components = ConnectedComponents.label(mask, connectivity: connectivity)
            // a supported component is kept by every candidate (ComponentFiltered's rule)
            let sizes = ComponentFiltered.supportedSizes(components, support: supports?[i])
            let n = mask.shape.sliceCount
            var perSlice = [Int](repeating: 0, count: mask.shape.z)
            for k in 0..<mask.shape.z {
                for v in (k * n)..<((k + 1) * n) where components.labels[v] > 0 {
                    perSlice[k] = max(perSlice[k], sizes[Int(components.labels[v]) - 1])
                }
            }
            largest.append(perSlice)
        }
        func rate(_ hits: Int, _ of: Int) -> Double { of > 0 ? Double(hits) / Double(of) : .nan }
        var scored: [Candidate] = []
        for volume in candidates.sorted() {
            var tp = 0, pos = 0, tn = 0, neg = 0, caseTP = 0, casePos = 0, caseTN = 0, caseNeg = 0
            for ((mask, labels), sizes) in zip(zip(masks, sliceLabels), largest) {
                let needed = max(1, ComponentFiltered.minimumVoxels(volume, geometry: mask.geometry))
                var anyHit = false
                for k in 0..<labels.count {
                    let hit = sizes[k] >= needed
                    anyHit = anyHit || hit
                    if labels[k] { pos += 1; if hit { tp += 1 } } else { neg += 1; if !hit { tn += 1 } }
                }
                if labels.contains(true) { casePos += 1; if anyHit { caseTP += 1 } } else { caseNeg += 1; if !anyHit { caseTN += 1 } }
            }
            scored.append(Candidate(minimumVolumeML: volume, sensitivity: rate(tp, pos), specificity: rate(tn, neg),
                                    caseSensitivity: rate(caseTP, casePos), caseSpecificity: rate(caseTN, caseNeg)))
        }
        let scores = scored.map { $0.score(criterion) }   // scored is sorted by volume
        guard let top = scores.max(), let bottom = scores.min() else { return (0, scored) }
        if top - bottom <= 1e-12 { return (scored[0].minimumVolumeML, scored) }
        let chosen = tolerance.map { t in scores.lastIndex { $0 >= top - t - 1e-12 }! } ?? scores.firstIndex { $0 >= top - 1e-12 }!
        return (scored[chosen].minimumVolumeML, scored)
    }
}
