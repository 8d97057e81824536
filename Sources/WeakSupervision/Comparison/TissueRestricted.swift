import CTVolume

/// Runs another segmenter with the case's intracranial mask narrowed to voxels whose HU lie
/// in `range` (e.g. soft tissue, -100...150): the bone and air an intracranial mask's rim
/// keeps then take no k-means cluster and no share of a CAM threshold.
///
///     restricted[v] = intracranial[v] > 0  and  range.lowerBound <= scan[v] <= range.upperBound
public struct TissueRestricted: Segmenter {
    /// The method run on the narrowed mask.
    public var base: any Segmenter
    /// HU range kept (inclusive).
    public var range: ClosedRange<Double>

    /// A wrapper of `base`; the row keeps `base`'s name.
    public init(base: any Segmenter, range: ClosedRange<Double>) {
        self.base = base
        self.range = range
    }

    /// `base`'s name.
    public var name: String { base.name }

    /// The narrowed mask: intracranial and inside ``range``.
    public func region(_ input: SegmentationCase) -> MaskVolume {
        Self.region(intracranial: input.intracranial, scan: input.scan, range: range)
    }

    /// `intracranial` narrowed to the voxels whose HU in `scan` lie in `range` (inclusive; NaN
    /// never does); kept voxels keep their value.
    /// - Precondition: `scan` on `intracranial`'s grid (same shape).
    public static func region(intracranial: MaskVolume, scan: ScanVolume, range: ClosedRange<Double>) -> MaskVolume {
        precondition(scan.shape == intracranial.shape, "TissueRestricted: scan \(scan.shape) and mask \(intracranial.shape) differ")
        var m = intracranial
        let lo = Float(range.lowerBound), hi = Float(range.upperBound)
        for i in m.voxels.indices where m.voxels[i] > 0 {
            let v = scan.voxels[i]
            if !(v >= lo && v <= hi) { m.voxels[i] = 0 }
        }
        return m
    }

    /// `base` on the case with the narrowed mask.
    public func segment(_ input: SegmentationCase) throws -> MaskVolume {
        try input.validate()
        var narrowed = input
        narrowed.intracranial = region(input)
        return try base.segment(narrowed)
    }
}
