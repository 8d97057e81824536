import CTVolume

/// Runs another segmenter and grows its mask, slice by slice, into the neighbouring voxels
/// whose HU lie in a range (default 50...90, acute blood, the threshold baseline's window) and
/// inside the intracranial mask: a conditional (geodesic) dilation of `steps` steps with the
/// 4-neighbourhood of the axial plane.
///
///     grown₀ = base mask
///     grownₖ₊₁ = grownₖ  or  (dilate₄(grownₖ)  and  intracranial  and  lo <= scan <= hi)
///
/// A voxel joins when a path of at most `steps` in-plane 4-neighbour moves through voxels of the
/// range links it to the mask. Nothing is removed, no component starts where the mask had none
/// (an empty mask stays empty, so a clean negative scan stays clean), and no slice gains a voxel
/// unless it had one.
///
/// Why: the refiner sees each slice at its input size (128 in the full demo) and its
/// probabilities are resized to the scan's grid (256 there), so its boundary is one refiner pixel
/// (two voxels) coarse, and the partial-volume rim of a bleed, where the probability falls under
/// 0.5, is lost. The pseudo-masks it learns from are drawn on the full grid from intensities.
/// Two steps restore what the resizing blurs; the mask cannot spread past the blood range. On the
/// full demo this moved the gated pipeline row from 0.671 to 0.706 with the pseudo-masks at 0.671
/// (refiner seeds 2 and 3: 0.682 → 0.713, 0.662 → 0.693; Docs/pipeline.md, run log).
public struct IntensityGrowth: Segmenter {
    /// What to grow into and how far: the part a ``PipelineConfig`` saves.
    public struct Settings: Codable, Sendable, Equatable {
        /// HU range a voxel must lie in to join (inclusive).
        public var range: ClosedRange<Double>
        /// Growth steps (in-plane voxels), ≥ 0; 0 changes nothing.
        public var steps: Int

        /// Settings; the defaults are the pipeline's: 50...90 HU, 2 steps.
        public init(range: ClosedRange<Double> = 50...90, steps: Int = 2) {
            self.range = range
            self.steps = steps
        }

        /// Throws unless the range is finite and `steps` ≥ 0.
        public func validate() throws {
            guard range.lowerBound.isFinite && range.upperBound.isFinite else {
                throw WeakSupervisionError.invalidParameter(name: "growth.range", reason: "\(range) is not a finite HU range")
            }
            guard steps >= 0 else {
                throw WeakSupervisionError.invalidParameter(name: "growth.steps", reason: "\(steps) must be ≥ 0")
            }
        }
    }

    /// The method whose masks are grown.
    public var base: any Segmenter
    /// Range and steps.
    public var settings: Settings

    /// A wrapper of `base`; the row keeps `base`'s name.
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` for a range that is not
    ///   finite or negative steps.
    public init(base: any Segmenter, settings: Settings = Settings()) throws {
        try settings.validate()
        self.base = base
        self.settings = settings
    }

    /// `base`'s name.
    public var name: String { base.name }

    /// `base`'s mask, grown.
    /// - Throws: ``WeakSupervisionError/shapeMismatch(what:expected:got:)`` when `base`'s mask is
    ///   not on the scan's grid, the case's own validation errors, and `base`'s.
    public func segment(_ input: SegmentationCase) throws -> MaskVolume {
        try input.validate()
        let mask = try base.segment(input)
        try checkSameGrid(input.scan.shape, mask.shape, what: "\(input.name): scan and the mask of \(name)")
        return Self.grow(mask, scan: input.scan, within: input.intracranial, range: settings.range, steps: settings.steps)
    }

    /// `mask` grown `steps` in-plane 4-neighbour steps into the voxels of `scan` inside `range`
    /// (and inside `within`, when given); kept voxels become 1. NaN HU never join.
    /// - Precondition: `scan` and `within` on `mask`'s grid (same shape); `steps` ≥ 0.
    public static func grow(_ mask: MaskVolume, scan: ScanVolume, within: MaskVolume? = nil,
                            range: ClosedRange<Double>, steps: Int) -> MaskVolume {
        precondition(steps >= 0, "IntensityGrowth: steps \(steps) must be ≥ 0")
        precondition(scan.shape == mask.shape, "IntensityGrowth: scan \(scan.shape) and mask \(mask.shape) differ")
        if let within { precondition(within.shape == mask.shape, "IntensityGrowth: region \(within.shape) and mask \(mask.shape) differ") }
        var out = mask
        let w = mask.shape.x, h = mask.shape.y, plane = mask.shape.sliceCount
        let lo = Float(range.lowerBound), hi = Float(range.upperBound)
        var frontier: [Int] = [], next: [Int] = []
        for z in 0..<mask.shape.z {
            let base = z * plane
            frontier.removeAll(keepingCapacity: true)
            for v in base..<(base + plane) {
                if mask.voxels[v] > 0 { out.voxels[v] = 1; frontier.append(v) } else { out.voxels[v] = 0 }
            }
            var step = 0
            while step < steps && !frontier.isEmpty {
                next.removeAll(keepingCapacity: true)
                for v in frontier {
                    let x = (v - base) % w, y = (v - base) / w
                    for (dx, dy) in [(-1, 0), (1, 0), (0, -1), (0, 1)] {
                        let xx = x + dx, yy = y + dy
                        guard xx >= 0 && xx < w && yy >= 0 && yy < h else { continue }
                        let u = base + yy * w + xx
                        guard out.voxels[u] == 0, within.map({ $0.voxels[u] > 0 }) ?? true else { continue }
                        let hu = scan.voxels[u]
                        guard hu >= lo && hu <= hi else { continue }
                        out.voxels[u] = 1
                        next.append(u)
                    }
                }
                swap(&frontier, &next)
                step += 1
            }
        }
        return out
    }
}
