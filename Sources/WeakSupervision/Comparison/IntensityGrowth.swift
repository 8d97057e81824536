import CTVolume

/// Runs another segmenter and grows its mask, slice by slice, into the neighbouring voxels
/// whose HU lie in a range (default 50...90, acute blood, the threshold baseline's window) and
/// inside the intracranial mask: a conditional (geodesic) dilation with the 4-neighbourhood of
/// the axial plane, over a distance in mm.
///
///     eligible = intracranial  and  lo <= scan <= hi
///     grown₀ = base mask
///     grownₖ₊₁ = grownₖ  or  (dilate₄(grownₖ)  and  eligible),   k < steps = round(distanceMM / in-plane spacing)
///
/// A voxel joins when a path of at most `steps` in-plane 4-neighbour moves through eligible
/// voxels links it to the mask. Nothing is removed, no component starts where the mask had none
/// (an empty mask stays empty, so a clean negative scan stays clean), and no slice gains a voxel
/// unless it had one.
///
/// Why: the refiner sees each slice at its input size (128 in the full demo) and its
/// probabilities are resized to the scan's grid (256 there), so its boundary is one refiner pixel
/// coarse (about 1.9 mm on a head's field of view at 128), and the partial-volume rim of a bleed,
/// where the probability falls under 0.5, is lost. The pseudo-masks it learns from are drawn on
/// the full grid from intensities. Growing by about one refiner pixel restores what the resizing
/// blurs; the mask cannot spread past the blood range. On the full demo, 2 mm (two voxels) moved
/// the gated pipeline row from 0.671 to 0.706 with the pseudo-masks at 0.671 (refiner seeds 2
/// and 3: 0.682 → 0.713, 0.662 → 0.693; Docs/pipeline.md, run log).
public struct IntensityGrowth: Segmenter {
    /// What to grow into and how far: the part a ``PipelineConfig`` saves.
    public struct Settings: Codable, Sendable, Equatable {
        /// HU range a voxel must lie in to join (inclusive).
        public var range: ClosedRange<Double>
        /// How far the mask may grow, in mm along the axial plane, ≥ 0; each scan takes
        /// `round(distanceMM / its smaller in-plane spacing)` 4-neighbour steps, so one setting
        /// means the same on every grid. 0 changes nothing.
        public var distanceMM: Double

        /// Settings; the defaults are the full preset's: 50...90 HU, 2 mm (one refiner pixel at
        /// input 128 over a head's field of view).
        public init(range: ClosedRange<Double> = Self.bloodRange, distanceMM: Double = 2) {
            self.range = range
            self.distanceMM = distanceMM
        }

        /// Acute blood, 50...90 HU: the threshold baseline's window (``IntensityThresholdBaseline``).
        public static let bloodRange: ClosedRange<Double> = 50...90

        /// Throws unless the range is finite and the distance finite and ≥ 0.
        public func validate() throws {
            guard range.lowerBound.isFinite && range.upperBound.isFinite else {
                throw WeakSupervisionError.invalidParameter(name: "growth.range", reason: "\(range) is not a finite HU range")
            }
            guard distanceMM.isFinite && distanceMM >= 0 else {
                throw WeakSupervisionError.invalidParameter(name: "growth.distanceMM", reason: "\(distanceMM) is not a distance in mm (finite, ≥ 0)")
            }
        }

        /// The 4-neighbour steps ``distanceMM`` takes on `geometry`'s grid: the distance over the
        /// smaller in-plane spacing, rounded (0 for a distance of 0 or a grid without spacing),
        /// at most ``maximumSteps`` (more than a slice's width plus height change nothing).
        public func steps(on geometry: Geometry) -> Int {
            let s = min(abs(geometry.spacing.x), abs(geometry.spacing.y))
            guard distanceMM > 0, s > 0, s.isFinite else { return 0 }
            return Int(min((distanceMM / Double(s)).rounded(), Double(Self.maximumSteps)))
        }

        /// The most steps ``steps(on:)`` returns: 2^20, beyond any slice's width plus height.
        public static let maximumSteps = 1 << 20
    }

    /// The method whose masks are grown.
    public var base: any Segmenter
    /// Range and distance; checked again on every ``segment(_:)``.
    public var settings: Settings

    /// A wrapper of `base`; the row keeps `base`'s name.
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` for a range that is not
    ///   finite or a distance that is negative or not finite.
    public init(base: any Segmenter, settings: Settings = Settings()) throws {
        try settings.validate()
        self.base = base
        self.settings = settings
    }

    /// `base`'s name.
    public var name: String { base.name }

    /// `base`'s mask, grown.
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` for settings changed to
    ///   invalid ones after `init`, ``WeakSupervisionError/shapeMismatch(what:expected:got:)``
    ///   when `base`'s mask is not on the scan's grid, the case's own validation errors, and `base`'s.
    public func segment(_ input: SegmentationCase) throws -> MaskVolume {
        try settings.validate()
        return Self.grow(try input.checkedMask(of: base, wrapper: name), scan: input.scan, intracranial: input.intracranial, settings: settings)
    }

    /// `mask` grown by `settings` on `scan`'s grid: ``Settings/steps(on:)`` steps into the voxels
    /// of `intracranial` whose HU lie in ``Settings/range``; what ``segment(_:)`` does to its
    /// base's mask, for a mask in hand (e.g. `UNetLite.segment`'s).
    /// - Precondition: `scan` and `intracranial` on `mask`'s grid (same shape); valid `settings`.
    public static func grow(_ mask: MaskVolume, scan: ScanVolume, intracranial: MaskVolume, settings: Settings) -> MaskVolume {
        grow(mask, into: TissueRestricted.region(intracranial: intracranial, scan: scan, range: settings.range),
             steps: settings.steps(on: scan.geometry))
    }

    /// `mask` grown `steps` in-plane 4-neighbour steps into the voxels of `scan` inside `range`
    /// (and inside `within`, when given; the path stays inside it too); kept voxels become 1.
    /// NaN HU never join.
    /// - Precondition: `scan` and `within` on `mask`'s grid (same shape); `steps` ≥ 0.
    public static func grow(_ mask: MaskVolume, scan: ScanVolume, within: MaskVolume? = nil,
                            range: ClosedRange<Double>, steps: Int) -> MaskVolume {
        precondition(scan.shape == mask.shape, "IntensityGrowth: scan \(scan.shape) and mask \(mask.shape) differ")
        let everywhere = within ?? MaskVolume(shape: mask.shape, repeating: 1, geometry: mask.geometry)
        precondition(everywhere.shape == mask.shape, "IntensityGrowth: region \(everywhere.shape) and mask \(mask.shape) differ")
        return grow(mask, into: TissueRestricted.region(intracranial: everywhere, scan: scan, range: range), steps: steps)
    }

    /// `mask` grown `steps` in-plane 4-neighbour steps through the voxels where `eligible` > 0
    /// (a conditional dilation, slice by slice); the mask's own voxels stay whether eligible or
    /// not; kept voxels become 1.
    /// - Precondition: `eligible` on `mask`'s grid (same shape); `steps` ≥ 0.
    public static func grow(_ mask: MaskVolume, into eligible: MaskVolume, steps: Int) -> MaskVolume {
        precondition(steps >= 0, "IntensityGrowth: steps \(steps) must be ≥ 0")
        precondition(eligible.shape == mask.shape, "IntensityGrowth: eligible region \(eligible.shape) and mask \(mask.shape) differ")
        var out = mask
        let w = mask.shape.x, h = mask.shape.y, plane = mask.shape.sliceCount
        var frontier: [Int] = [], next: [Int] = []
        for z in 0..<mask.shape.z {
            let base = z * plane
            frontier.removeAll(keepingCapacity: true)
            for v in base..<(base + plane) {
                if mask.voxels[v] > 0 { out.voxels[v] = 1; frontier.append(v) } else { out.voxels[v] = 0 }
            }
            func visit(_ u: Int) {
                if out.voxels[u] == 0 && eligible.voxels[u] > 0 { out.voxels[u] = 1; next.append(u) }
            }
            var step = 0
            while step < steps && !frontier.isEmpty {
                next.removeAll(keepingCapacity: true)
                for v in frontier {
                    // left, right, up, down, within the slice
                    let x = (v - base) % w, y = (v - base) / w
                    if x > 0 { visit(v - 1) }
                    if x < w - 1 { visit(v + 1) }
                    if y > 0 { visit(v - w) }
                    if y < h - 1 { visit(v + w) }
                }
                swap(&frontier, &next)
                step += 1
            }
        }
        return out
    }
}
