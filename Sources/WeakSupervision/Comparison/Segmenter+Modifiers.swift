import CTVolume

/// A segmenter from a closure: a mask computed elsewhere (`ichctl segment` hands the network's
/// mask to the same modifiers as the pipeline), or a quick method in a script.
public struct ClosureSegmenter: Segmenter {
    /// The row's name.
    public var name: String
    let body: @Sendable (SegmentationCase) throws -> MaskVolume

    /// A segmenter named `name` whose mask is `body(case)`.
    public init(name: String, _ body: @escaping @Sendable (SegmentationCase) throws -> MaskVolume) {
        self.name = name
        self.body = body
    }

    /// `body(input)`; its errors are passed on.
    public func segment(_ input: SegmentationCase) throws -> MaskVolume { try body(input) }
}

/// A segmenter under another row name, masks unchanged.
public struct NamedSegmenter: Segmenter {
    /// The wrapped segmenter.
    public var base: any Segmenter
    /// The row's name.
    public var name: String

    /// `base` named `name`.
    public init(base: any Segmenter, name: String) {
        self.base = base
        self.name = name
    }

    /// `base`'s mask; its errors are passed on.
    public func segment(_ input: SegmentationCase) throws -> MaskVolume { try base.segment(input) }
}

/// Modifiers that build a method's post-processing chain, read in the order they apply:
///
///     let row = try refiner
///         .gated(at: 0.5)                      // slices the classifier calls negative emptied
///         .filteringComponents(below: 0.05)    // 3-D components under 0.05 mL dropped
///         .grown(IntensityGrowth.Settings())   // up to 2 mm into 50..90 HU
///         .named("pipeline")
///
/// Each returns the wrapper of the same name (``ClassifierGated``, ``ComponentFiltered``,
/// ``IntensityGrowth``, ``TissueRestricted``, ``SliceOpening``, ``NamedSegmenter``;
/// `filteringComponents` as `any Segmenter`); the pipeline's rows and `ichctl segment` are
/// built with them, so a chain written in a script is the pipeline's chain.
extension Segmenter {
    /// This segmenter under the row name `name`.
    public func named(_ name: String) -> NamedSegmenter { NamedSegmenter(base: self, name: name) }

    /// This segmenter run with the case's intracranial mask narrowed to the voxels whose HU lie
    /// in `range`, inclusive (``TissueRestricted``); its own output mask is not narrowed.
    public func restricted(to range: ClosedRange<Double>) -> TissueRestricted { TissueRestricted(base: self, range: range) }

    /// The mask opened slice by slice `iterations` times (``SliceOpening``): structures
    /// thinner than `2 * iterations + 1` pixels removed.
    /// - Precondition: `iterations` ≥ 1.
    public func opened(iterations: Int = 1) -> SliceOpening { SliceOpening(base: self, iterations: iterations) }

    /// Slices whose classifier probability is below `positiveAt` emptied (``ClassifierGated``;
    /// the case must carry slice probabilities).
    public func gated(at positiveAt: Float = 0.5) -> ClassifierGated { ClassifierGated(base: self, positiveAt: positiveAt) }

    /// 3-D components (joined by `connectivity`, default 26) smaller than `minimumVolumeML`
    /// (mL, from the voxel size of the mask's geometry) dropped (``ComponentFiltered``), except
    /// those that share a voxel with `support`'s mask of the case (e.g. the same refiner at a
    /// higher ``RefinerSegmenter/threshold``); a volume of 0 or less, or NaN, keeps every
    /// component and returns this segmenter unwrapped.
    public func filteringComponents(below minimumVolumeML: Double, connectivity: Connectivity3D = .twentySix,
                                    support: (any Segmenter)? = nil) -> any Segmenter {
        minimumVolumeML > 0 ? ComponentFiltered(base: self, minimumVolumeML: minimumVolumeML, connectivity: connectivity, support: support) : self
    }

    /// The mask grown by `settings` (``IntensityGrowth``): into neighbouring intracranial
    /// voxels in ``IntensityGrowth/Settings/range`` HU, up to
    /// ``IntensityGrowth/Settings/distanceMM`` along the axial plane.
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` for invalid settings.
    public func grown(_ settings: IntensityGrowth.Settings) throws -> IntensityGrowth { try IntensityGrowth(base: self, settings: settings) }
}
