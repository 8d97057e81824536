import CTVolume
import ImageCore
import Metrics

/// Runs another segmenter and drops the 3-D components of its mask that are not denser than
/// the tissue around them: a bleed is blood against brain, not a bright patch of brain.
///
///     ring(C)     = voxels of the axial slices of C within ringMM (in-plane) of C, not C itself,
///                   outside every component of the mask, inside the intracranial mask, with
///                   HU in ringHU (tissue and fluid: not fat or air, not bone or its partial volume)
///     contrast(C) = mean HU over C − median HU over ring(C)
///     out         = the 26-connected components C with contrast(C) ≥ minimumContrastHU, or with
///                   fewer than `minimumRingVoxels` ring voxels (nothing to compare with)
///
/// Why: on the phantom's negative validation scans, the refiner's false blood was mostly brain
/// brightened towards the inner table (beam-hardening cupping) and the skull base (streaks),
/// with noise: patches as dense as blood in absolute HU but as dense as the cortex beside them
/// (Docs/experiments/2026-12-06-classifier-position-prior.md). Real normal heads showed the
/// same along the inner table (issue 16). A fixed HU window cannot tell them apart; the local
/// difference can.
///
/// The default threshold, 15 HU, is the literature's, not a test run's: clotted acute blood
/// lies at 50 to 90 HU and grey matter at 30 to 40 HU (Parizel et al. 2001; New and Aronow
/// 1976), so acute blood exceeds the densest brain around it by at least 50 − 35 = 15 HU.
/// Hyperacute, anaemic, subacute and chronic blood (35 to 55 HU and below) can be less dense
/// than that over its surroundings and is dropped when the network marks it alone: the price.
/// The ring of 4 mm reaches past the network's boundary blur (two voxels of a 1 mm grid) into
/// the tissue beside the component; `ringHU` 0...100 keeps water, CSF, brain and blood and
/// leaves out fat and air (below 0) and bone and its partial volume (above 100).
///
/// Nothing is added; an empty mask stays empty.
public struct ContrastFiltered: Segmenter {
    /// The threshold and the ring: the part a ``PipelineConfig`` saves.
    public struct Settings: Codable, Sendable, Equatable {
        /// A component is kept when its mean HU exceeds its ring's median by at least this
        /// (default 15 HU, see ``ContrastFiltered``).
        public var minimumContrastHU: Double
        /// In-plane width of the ring (mm, > 0; default 4).
        public var ringMM: Double
        /// HU a ring voxel must lie in (default 0...100).
        public var ringHU: ClosedRange<Double>
        /// A component with fewer ring voxels than this is kept (default 10).
        public var minimumRingVoxels: Int

        /// Settings; see the properties for the defaults.
        public init(minimumContrastHU: Double = 15, ringMM: Double = 4, ringHU: ClosedRange<Double> = 0...100,
                    minimumRingVoxels: Int = 10) {
            self.minimumContrastHU = minimumContrastHU
            self.ringMM = ringMM
            self.ringHU = ringHU
            self.minimumRingVoxels = minimumRingVoxels
        }

        /// Throws unless every value is finite, the ring > 0 and the voxel count ≥ 1.
        public func validate() throws {
            guard minimumContrastHU.isFinite else {
                throw WeakSupervisionError.invalidParameter(name: "contrast.minimumContrastHU", reason: "\(minimumContrastHU) is not a finite HU")
            }
            guard ringMM.isFinite && ringMM > 0 else {
                throw WeakSupervisionError.invalidParameter(name: "contrast.ringMM", reason: "\(ringMM) is not a distance in mm (finite, > 0)")
            }
            guard ringHU.lowerBound.isFinite && ringHU.upperBound.isFinite else {
                throw WeakSupervisionError.invalidParameter(name: "contrast.ringHU", reason: "\(ringHU) is not a finite range")
            }
            guard minimumRingVoxels >= 1 else {
                throw WeakSupervisionError.invalidParameter(name: "contrast.minimumRingVoxels", reason: "\(minimumRingVoxels) must be ≥ 1")
            }
        }
    }

    /// One component's measurements (``measure(_:scan:intracranial:settings:)``).
    public struct Component: Sendable, Equatable {
        /// The component's label in the 26-connected labelling of the mask (1-based).
        public var label: Int
        /// Voxels of the component.
        public var voxels: Int
        /// Mean HU over the component.
        public var meanHU: Double
        /// Ring voxels found.
        public var ringVoxels: Int
        /// Median HU over the ring (nil without ring voxels).
        public var ringMedianHU: Double?
        /// meanHU − ringMedianHU (nil without ring voxels).
        public var contrastHU: Double? { ringMedianHU.map { meanHU - $0 } }
    }

    /// The method whose masks are filtered.
    public var base: any Segmenter
    /// Threshold and ring; checked again on every ``segment(_:)``.
    public var settings: Settings

    /// A wrapper of `base`; the row keeps `base`'s name.
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` for invalid settings.
    public init(base: any Segmenter, settings: Settings = Settings()) throws {
        try settings.validate()
        self.base = base
        self.settings = settings
    }

    /// `base`'s name.
    public var name: String { base.name }

    /// `base`'s mask without its components that are not denser than their ring.
    /// - Throws: invalid settings, a mask off the scan's grid, the case's own validation errors and `base`'s.
    public func segment(_ input: SegmentationCase) throws -> MaskVolume {
        try settings.validate()
        let mask = try input.checkedMask(of: base, wrapper: name)
        return Self.filter(mask, scan: input.scan, intracranial: input.intracranial, settings: settings)
    }

    /// `mask` without its 26-connected components whose contrast over their ring is below
    /// `settings.minimumContrastHU` (those with fewer than `minimumRingVoxels` ring voxels
    /// kept); kept voxels become 1.
    /// - Precondition: `scan` and `intracranial` on `mask`'s grid.
    public static func filter(_ mask: MaskVolume, scan: ScanVolume, intracranial: MaskVolume, settings: Settings) -> MaskVolume {
        guard mask.voxels.contains(where: { $0 > 0 }) else { return mask }
        let components = ConnectedComponents.label(mask, connectivity: .twentySix)
        let measured = measure(components: components, mask: mask, scan: scan, intracranial: intracranial, settings: settings)
        var keep = [Bool](repeating: false, count: components.sizes.count + 1)
        for c in measured {
            keep[c.label] = c.ringVoxels < settings.minimumRingVoxels || (c.contrastHU ?? .infinity) >= settings.minimumContrastHU
        }
        var out = mask
        for v in out.voxels.indices {
            let l = Int(components.labels[v])
            out.voxels[v] = l > 0 && keep[l] ? 1 : 0
        }
        return out
    }

    /// Every 26-connected component of `mask` with its mean HU and its ring's median, in label order.
    /// - Precondition: `scan` and `intracranial` on `mask`'s grid.
    public static func measure(_ mask: MaskVolume, scan: ScanVolume, intracranial: MaskVolume, settings: Settings) -> [Component] {
        measure(components: ConnectedComponents.label(mask, connectivity: .twentySix), mask: mask, scan: scan,
                intracranial: intracranial, settings: settings)
    }

    static func measure(components: ComponentLabels, mask: MaskVolume, scan: ScanVolume, intracranial: MaskVolume,
                        settings: Settings) -> [Component] {
        precondition(scan.shape == mask.shape && intracranial.shape == mask.shape,
                     "ContrastFiltered: scan \(scan.shape), intracranial \(intracranial.shape) and mask \(mask.shape) differ")
        let w = mask.shape.x, h = mask.shape.y, plane = w * h
        let sx = Double(abs(scan.geometry.spacing.x)), sy = Double(abs(scan.geometry.spacing.y))
        let sxp = sx > 0 ? sx : 1, syp = sy > 0 ? sy : 1
        let rx = Int((settings.ringMM / sxp).rounded(.up)), ry = Int((settings.ringMM / syp).rounded(.up))
        let count = components.sizes.count
        // each component's voxels and bounding box per slice
        var sums = [Double](repeating: 0, count: count)
        var boxes = [[Int: (x0: Int, x1: Int, y0: Int, y1: Int)]](repeating: [:], count: count)
        for v in mask.voxels.indices {
            let l = Int(components.labels[v])
            guard l > 0 else { continue }
            sums[l - 1] += Double(scan.voxels[v])
            let z = v / plane, x = v % w, y = (v % plane) / w
            if let b = boxes[l - 1][z] {
                boxes[l - 1][z] = (min(b.x0, x), max(b.x1, x), min(b.y0, y), max(b.y1, y))
            } else {
                boxes[l - 1][z] = (x, x, y, y)
            }
        }
        let limit2 = settings.ringMM * settings.ringMM
        let (lo, hi) = (Float(settings.ringHU.lowerBound), Float(settings.ringHU.upperBound))
        return (0..<count).map { c in
            var ring: [Double] = []
            for (z, b) in boxes[c] {
                let x0 = max(0, b.x0 - rx), x1 = min(w - 1, b.x1 + rx), y0 = max(0, b.y0 - ry), y1 = min(h - 1, b.y1 + ry)
                let bw = x1 - x0 + 1, bh = y1 - y0 + 1
                var inside = [Bool](repeating: false, count: bw * bh)
                for y in y0...y1 {
                    for x in x0...x1 where Int(components.labels[z * plane + y * w + x]) == c + 1 { inside[(y - y0) * bw + (x - x0)] = true }
                }
                let d2 = DistanceTransform.squaredDistances2D(inside, width: bw, height: bh, spacingX: sxp, spacingY: syp)
                for y in y0...y1 {
                    for x in x0...x1 {
                        let i = (y - y0) * bw + (x - x0), v = z * plane + y * w + x
                        guard d2[i] > 0 && d2[i] <= limit2, mask.voxels[v] == 0, intracranial.voxels[v] > 0 else { continue }
                        let hu = scan.voxels[v]
                        if hu >= lo && hu <= hi { ring.append(Double(hu)) }
                    }
                }
            }
            let median: Double? = ring.isEmpty ? nil : NumPyReductions.median(ring)
            return Component(label: c + 1, voxels: components.sizes[c], meanHU: sums[c] / Double(components.sizes[c]),
                             ringVoxels: ring.count, ringMedianHU: median)
        }
    }
}

extension Segmenter {
    /// Components not denser than their surroundings by `settings.minimumContrastHU` dropped (``ContrastFiltered``).
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` for invalid settings.
    public func droppingFaintComponents(_ settings: ContrastFiltered.Settings = ContrastFiltered.Settings()) throws -> ContrastFiltered {
        try ContrastFiltered(base: self, settings: settings)
    }
}
