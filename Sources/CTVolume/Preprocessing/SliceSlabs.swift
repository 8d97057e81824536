/// Which scans have slices too thin for the networks, and how thick the slabs that replace them
/// are: slices spaced less than `thinnerThanMM` apart are averaged, `SliceSlabs/factor` at a
/// time, into slabs of at least `slabMM` (a radiologist's thick reformat of a thin-slice scan).
///
/// A network trained on slices of 1.25 to 10 mm (median 5) meets a scan of 0.625 mm slices with
/// more noise per slice (noise grows as 1 / sqrt(thickness)) and with its context slices closer
/// together than most it saw. Averaging the slices into slabs gives it the thickness it was
/// mostly trained on; its results are then copied back to every slice of their slab
/// (``SliceSlabs/expand(_:geometry:)``). The presets take both numbers from their training
/// data's slice thicknesses (``init(trainingThicknessesMM:)``): slabs of the median, made
/// when two slices together are thinner than it.
public struct SlabRule: Hashable, Sendable, Codable {
    /// Slices spaced less than this (mm) are combined; at this or more a scan is left as it is.
    public let thinnerThanMM: Double
    /// The slabs' least thickness (mm).
    public let slabMM: Double

    /// A rule; both numbers must be finite and positive, and `slabMM >= thinnerThanMM`.
    /// - Throws: ``CTVolumeError/invalidParameter(name:reason:)`` otherwise.
    public init(thinnerThanMM: Double, slabMM: Double) throws {
        guard thinnerThanMM.isFinite, thinnerThanMM > 0, slabMM.isFinite, slabMM >= thinnerThanMM else {
            throw CTVolumeError.invalidParameter(
                name: "slab rule", reason: "thinnerThanMM \(thinnerThanMM) and slabMM \(slabMM) must be finite and positive, slabMM >= thinnerThanMM")
        }
        self.thinnerThanMM = thinnerThanMM
        self.slabMM = slabMM
    }

    /// The rule a set of training slice thicknesses gives: slabs of at least the median `m`
    /// (the lower middle value of an even count), for slices thinner than `m / 2`: a scan is
    /// combined when two of its slices together are thinner than the median, and a scan of
    /// half the median or more is left alone. For the presets' training phantom (1.25 to 10 mm, median
    /// 5): slices under 2.5 mm into slabs of at least 5 mm.
    /// - Throws: ``CTVolumeError/invalidParameter(name:reason:)`` for an empty list or a
    ///   thickness that is not finite and positive.
    public init(trainingThicknessesMM thicknesses: [Double]) throws {
        guard !thicknesses.isEmpty, thicknesses.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw CTVolumeError.invalidParameter(name: "training slice thicknesses", reason: "\(thicknesses) must be a non-empty list of positive numbers")
        }
        let median = thicknesses.sorted()[(thicknesses.count - 1) / 2]
        try self.init(thinnerThanMM: median / 2, slabMM: median)
    }

    /// Slices per slab for slices `spacingMM` apart: 1 unless `spacingMM` is below
    /// `thinnerThanMM` (by more than a relative 1e-9, so a spacing written as 2.4999999999 for
    /// 2.5 counts as 2.5), then the fewest whose total thickness reaches `slabMM` (within
    /// 1e-6 of a slice, so 4 x 1.25 mm reaches 5). A spacing that is not finite and positive
    /// gives 1 (nothing to go by); the factor is at most 65,536 (a header's absurdly small spacing).
    public func factor(spacingMM: Double) -> Int {
        guard spacingMM.isFinite, spacingMM > 0, spacingMM < thinnerThanMM * (1 - 1e-9) else { return 1 }
        return max(1, Int(min((slabMM / spacingMM - 1e-6).rounded(.up), 65_536)))
    }

    private enum CodingKeys: String, CodingKey { case thinnerThanMM, slabMM }

    /// Decodes and checks a rule (as ``init(thinnerThanMM:slabMM:)``).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(thinnerThanMM: try c.decode(Double.self, forKey: .thinnerThanMM), slabMM: try c.decode(Double.self, forKey: .slabMM))
    }
}

/// Consecutive axial slices (the third axis) taken `factor` at a time: slab s holds slices
/// `s * factor ..< (s + 1) * factor`. What is left at the end (`sliceCount % factor` slices)
/// is a slab of its own when it is at least half a slab, else it joins the last full slab (so
/// no slab is thinner than half the rule's thickness: a lone thin slice would keep the noise
/// the slabs remove). A volume of fewer than `factor` slices is one slab.
///
///     let slabs = SliceSlabs(las, rule: rule)               // factor 1 for a thick scan
///     let input = SegmentationCase(name: "case", scan: slabs.average(las), intracranial: ...)
///     let mask = slabs.expand(try method.segment(input), geometry: las.geometry)
///
/// ``average(_:)`` gives each slab the mean of its slices' values, on a grid whose slices are
/// `factor` times as far apart and centred on the full slabs (the last slab, when it holds
/// fewer or more slices than `factor`, sits on that regular grid up to half a slab from its own
/// centre); ``expand(_:geometry:)`` copies each slab's voxels back to its slices.
public struct SliceSlabs: Hashable, Sendable {
    /// Slices of the original grid.
    public let sliceCount: Int
    /// Slices per slab (1: every slice is its own slab).
    public let factor: Int

    /// Slabs of `factor` slices over `sliceCount` slices.
    /// - Precondition: `sliceCount >= 0`, `factor >= 1`.
    public init(sliceCount: Int, factor: Int) {
        precondition(sliceCount >= 0 && factor >= 1, "SliceSlabs: \(sliceCount) slices, factor \(factor)")
        self.sliceCount = sliceCount
        self.factor = factor
    }

    /// The slabs `rule` gives for `volume`'s slices (their spacing is `geometry.spacing.z`); a
    /// nil rule gives factor 1.
    public init<V>(_ volume: Volume<V>, rule: SlabRule?) {
        self.init(sliceCount: volume.shape.z, factor: rule?.factor(spacingMM: volume.geometry.spacing.z) ?? 1)
    }

    /// Whether every slab is one slice (``average(_:)`` and ``expand(_:geometry:)`` then return their input).
    public var isIdentity: Bool { factor == 1 }

    /// Number of slabs.
    public var slabCount: Int {
        let full = sliceCount / factor, rest = sliceCount % factor
        if full == 0 { return sliceCount == 0 ? 0 : 1 }
        return 2 * rest >= factor ? full + 1 : full
    }

    /// The original slices of slab `s` (`0 ..< slabCount`).
    public func slices(of s: Int) -> Range<Int> {
        let last = slabCount - 1
        return (s * factor)..<(s == last ? sliceCount : (s + 1) * factor)
    }

    /// The slab that holds slice `k` (`0 ..< sliceCount`).
    public func slab(of k: Int) -> Int { min(k / factor, slabCount - 1) }

    /// The slab grid's geometry: the third axis `factor` times as long, the origin moved to the
    /// centre of the first slab, on the qform and the sform alike.
    public func slabGeometry(_ g: Geometry) -> Geometry {
        guard factor > 1 else { return g }
        func scaled(_ a: Affine) -> Affine {
            var b = a
            let shift = Double(factor - 1) / 2
            for r in 0..<3 {
                b[r, 3] = a[r, 3] + a[r, 2] * shift
                b[r, 2] = a[r, 2] * Double(factor)
            }
            return b
        }
        var out = g
        out.spacing.z = g.spacing.z * Double(factor)
        out.qform = scaled(g.qform)
        out.sform = scaled(g.sform)
        return out
    }

    /// Each slab the mean of its slices (summed in slice order, divided by their count).
    /// - Precondition: `scan.shape.z == sliceCount`.
    public func average(_ scan: ScanVolume) -> ScanVolume {
        precondition(scan.shape.z == sliceCount, "SliceSlabs.average: \(scan.shape.z) slices, expected \(sliceCount)")
        guard factor > 1 else { return scan }
        let plane = scan.shape.sliceCount
        var out = [Float](repeating: 0, count: plane * slabCount)
        scan.voxels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for s in 0..<slabCount {
                    let range = slices(of: s), base = s * plane
                    for k in range {
                        let from = k * plane
                        for v in 0..<plane { dst[base + v] += src[from + v] }
                    }
                    let n = Float(range.count)
                    for v in 0..<plane { dst[base + v] /= n }
                }
            }
        }
        return ScanVolume(shape: GridShape(scan.shape.x, scan.shape.y, slabCount), voxels: out, geometry: slabGeometry(scan.geometry))
    }

    /// A volume on the slab grid back on the slices: every slice takes its slab's voxels, and
    /// the volume takes `geometry` (the original grid's).
    /// - Precondition: `volume.shape.z == slabCount`.
    public func expand<V>(_ volume: Volume<V>, geometry: Geometry) -> Volume<V> {
        precondition(volume.shape.z == slabCount, "SliceSlabs.expand: \(volume.shape.z) slabs, expected \(slabCount)")
        guard factor > 1 else {
            var same = volume
            same.geometry = geometry
            return same
        }
        let plane = volume.shape.sliceCount
        var out: [V] = []
        out.reserveCapacity(plane * sliceCount)
        for s in 0..<slabCount {
            let slab = volume.voxels[(s * plane)..<((s + 1) * plane)]
            for _ in slices(of: s) { out.append(contentsOf: slab) }
        }
        precondition(out.count == plane * sliceCount)
        return Volume(shape: GridShape(volume.shape.x, volume.shape.y, sliceCount), voxels: out, geometry: geometry)
    }

    /// One value per slab back to one per slice (each slice its slab's).
    /// - Precondition: `values.count == slabCount`.
    public func expand<T>(_ values: [T]) -> [T] {
        precondition(values.count == slabCount, "SliceSlabs.expand: \(values.count) values, expected \(slabCount)")
        guard factor > 1 else { return values }
        return (0..<sliceCount).map { values[slab(of: $0)] }
    }
}
