import CTVolume

/// What a segmentation method may look at for one case: the scan and its intracranial mask,
/// and, when the weakly supervised stages ran, the CAM and the slice probabilities.
///
/// Every row of the comparison table (Docs/method.md#6-the-comparison) is a ``Segmenter`` run on the same
/// cases, so that methods differ only in what they do with this input.
public struct SegmentationCase: Sendable {
    /// The case's name (the file stem), for reports and error messages.
    public var name: String
    /// Hounsfield units.
    public var scan: ScanVolume
    /// The intracranial mask, same grid.
    public var intracranial: MaskVolume
    /// Class activation maps on the scan's grid (0...1 per slice), when computed.
    public var cam: Volume<Float>?
    /// The classifier's probability per axial slice, when computed.
    public var sliceProbabilities: [Float]?

    /// A case; `cam` and `sliceProbabilities` default to nil (not computed).
    public init(
        name: String, scan: ScanVolume, intracranial: MaskVolume,
        cam: Volume<Float>? = nil, sliceProbabilities: [Float]? = nil
    ) {
        self.name = name
        self.scan = scan
        self.intracranial = intracranial
        self.cam = cam
        self.sliceProbabilities = sliceProbabilities
    }

    /// Throws unless every volume the case carries is on the scan's grid and the probabilities
    /// (if any) are one per slice.
    public func validate() throws {
        try checkSameGrid(scan.shape, intracranial.shape, what: "\(name): scan and intracranial mask")
        if let cam { try checkSameGrid(scan.shape, cam.shape, what: "\(name): scan and CAM volume") }
        if let p = sliceProbabilities, p.count != scan.shape.z {
            throw WeakSupervisionError.shapeMismatch(
                what: "\(name): slice probabilities", expected: "one per slice (\(scan.shape.z))", got: "\(p.count)")
        }
    }
}

extension SegmentationCase {
    /// `base`'s mask of this case, once the case is checked (``validate()``) and refused unless
    /// it lies on the scan's grid: what a wrapper that post-processes its base's mask starts
    /// from. `wrapper` names the row in the error.
    func checkedMask(of base: any Segmenter, wrapper: String) throws -> MaskVolume {
        try validate()
        let mask = try base.segment(self)
        try checkSameGrid(scan.shape, mask.shape, what: "\(name): scan and the mask of \(wrapper)")
        return mask
    }
}

/// A method that produces a mask for a case: a row of the comparison table.
///
/// Conform a type to add a row; it receives the same ``SegmentationCase`` as every other method:
///
///     struct HalfCAM: Segmenter {
///         var name: String { "CAM > 0.5" }
///         func segment(_ c: SegmentationCase) throws -> MaskVolume {
///             guard let cam = c.cam else { throw WeakSupervisionError.missingInput(method: name, input: "a CAM") }
///             return try FixedThreshold(0.5).region(cam: cam, within: c.intracranial, probabilities: c.sliceProbabilities)
///         }
///     }
///
/// Built in: ``IntensityThresholdBaseline``, ``KMeansBaseline``, ``CAMBaseline``,
/// ``PseudoMaskBuilder``. The refiner (UNetLite) conforms in its own module.
public protocol Segmenter: Sendable {
    /// The row's name in the comparison table.
    var name: String { get }
    /// A 0/1 mask on the case's grid and geometry.
    func segment(_ input: SegmentationCase) throws -> MaskVolume
}

extension PseudoMaskBuilder: Segmenter {
    /// "pseudo-masks (CAM and k-means)".
    public var name: String { "pseudo-masks (CAM and k-means)" }

    /// ``build(scan:intracranial:cam:probabilities:)`` on the case; needs its CAM.
    public func segment(_ input: SegmentationCase) throws -> MaskVolume {
        try input.validate()
        guard let cam = input.cam else { throw WeakSupervisionError.missingInput(method: name, input: "a CAM volume") }
        return try build(scan: input.scan, intracranial: input.intracranial, cam: cam, probabilities: input.sliceProbabilities)
    }
}
