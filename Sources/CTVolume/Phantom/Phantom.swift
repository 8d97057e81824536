#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import ImageCore

/// One hemorrhage of a phantom case, as it ended up in the label volume.
public struct LesionSummary: Codable, Sendable, Hashable {
    /// INSTANCE subtype.
    public var subtype: HemorrhageSubtype
    /// Labelled volume in mL (labelled voxels times the voxel volume; overlapping lesions
    /// count where drawn last).
    public var volumeML: Double
    /// The volume the generator aimed at, mL (thin subtypes and clipped lesions fall short).
    public var targetVolumeML: Double
    /// First slice (0-based) holding a voxel of this lesion.
    public var firstSlice: Int
    /// Last slice (0-based) holding a voxel of this lesion.
    public var lastSlice: Int
    /// Generation 2: the age of the blood (nil in generation 1, where all blood is acute).
    public var stage: HemorrhageStage? = nil
    /// Generation 2: the blood's base density, HU, before texture and haematocrit level
    /// (nil in generation 1).
    public var densityHU: Double? = nil
    /// Generation 2: whether the lesion shows a haematocrit (fluid-fluid) level (nil in generation 1).
    public var haematocritLevel: Bool? = nil
}

/// The age of a hemorrhage as CT shows it: acute blood is hyperdense (from hyperacute or
/// anaemic to retracted clot), subacute blood isodense to the cortex, chronic blood hypodense.
/// All three are labelled hemorrhage.
public enum HemorrhageStage: String, Codable, Sendable, Hashable, CaseIterable {
    /// Hyperdense (generation 2's density classes hyperacute, acute and retracted).
    case acute
    /// Isodense to grey matter (subdurals of one to three weeks).
    case subacute
    /// Hypodense (subdurals of more than three weeks).
    case chronic
}

/// One synthetic head CT: the scan, its hemorrhage label, the true intracranial region and
/// per-slice labels, all on one grid.
public struct PhantomCase: Sendable {
    /// Case name, `phantom_0007` for case index 7 (the INSTANCE file stem).
    public var name: String
    /// Hounsfield units; integer-valued in -1024 ... 3071 (stored as int16, slope 1, intercept -1024).
    public var scan: ScanVolume
    /// Hemorrhage label: 1 where more than half of the slice thickness is blood (and, in
    /// generation 1, none of it bone; in generation 2, less than 5 % bone, weighted by the
    /// slice profile), else 0.
    public var mask: MaskVolume
    /// Which lesion each labelled voxel belongs to: 0 where ``mask`` is 0, and k ≥ 1 where the
    /// voxel is labelled and `lesions[k − 1]` was drawn there (the last one drawn, where lesions
    /// overlap). A lesion is one drawn hemorrhage however many connected pieces its label falls
    /// into (a thin subdural across 5 mm slices often falls into several).
    public var lesionLabels: MaskVolume
    /// Ground-truth intracranial region (inside the inner table, above the skull base), same rule.
    public var intracranial: MaskVolume
    /// The tissue of each voxel where every section of its slice profile holds the same one:
    /// 1 + ``PhantomTissue`` raw value; 0 where the sections hold more than one (partial
    /// volume). For realism checks (``PhantomRealism``); not written to disk.
    public var tissue: MaskVolume
    /// Slice k is positive when the mask has a voxel in it.
    public var sliceLabels: [Bool]
    /// The hemorrhages present (empty for a negative case).
    public var lesions: [LesionSummary]

    /// Whether any slice is positive.
    public var isPositive: Bool { sliceLabels.contains(true) }
}

/// The synthetic head-CT phantom: a seeded generator of INSTANCE-like cases (see Docs/phantom.md).
///
/// Case `i` of seed `s` depends only on `(s, i, config)`: cases can be drawn in any order,
/// in parallel, or one at a time, and always come out byte-identical.
///
///     let c = try Phantom.generate(caseIndex: 3, seed: 2022)
///     print(c.scan.shape, c.lesions.map(\.subtype), c.sliceLabels.filter { $0 }.count)
public enum Phantom {
    /// `phantom_0000`-style name of case `index`.
    public static func caseName(_ index: Int) -> String {
        let digits = String(index)
        return "phantom_" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// Whether case `index` is drawn with hemorrhages: `frac(o + (index + 1) * 0.618...) < positiveFraction`
    /// with `o` a seed-dependent offset. The golden-ratio sequence keeps the positive share of
    /// any run of consecutive cases within about 1/N of the fraction asked, yet each case's
    /// status depends on its own index only.
    public static func isPositive(caseIndex: Int, seed: UInt64, positiveFraction: Double) -> Bool {
        var sm = seed ^ 0x5DEE_CE66_D1CE_4E5B
        let offset = Double(SeededGenerator.splitMix64(&sm) >> 11) * 0x1.0p-53
        let x = offset + Double(caseIndex + 1) * 0.618_033_988_749_894_9
        return x - x.rounded(.down) < positiveFraction
    }

    /// Generates case `caseIndex` of the set seeded by `seed`.
    ///
    /// - Parameters:
    ///   - caseIndex: index of the case in its set (>= 0).
    ///   - seed: the set's seed.
    ///   - config: parameters (default ``PhantomConfig/default``).
    /// - Throws: ``CTVolumeError/invalidParameter(name:reason:)`` for a bad config or index.
    /// - Complexity: O(size^2 x slices x subSlices); one 512 x 512 x 32 case takes about 0.9 s
    ///   of CPU in a release build, spread over the cores (see Docs/performance.md).
    public static func generate(caseIndex: Int, seed: UInt64, config: PhantomConfig = .default) throws -> PhantomCase {
        try config.validate()
        guard caseIndex >= 0 else {
            throw CTVolumeError.invalidParameter(name: "caseIndex", reason: "\(caseIndex) is negative")
        }
        var g = SeededGenerator(seed: seed, stream: UInt64(caseIndex))
        let drawnSlices = g.nextInt(in: config.slices)
        let n = config.size
        let dx = g.nextUniform(in: config.effectivePixelSpacingMM)
        let tableZ = g.nextUniform(in: -80 ... -30)
        var head = HeadAnatomy.sample(config: config, using: &g)
        let noiseSeed = g.next(), lesionSeed = g.next()
        // Generation 2 draws everything it adds from a stream of its own, so that the head,
        // pose and noise seeds above are those of generation 1's case of the same index.
        let t: Double, nz: Int
        var extras: Generation2Extras?
        if config.generation == 2 {
            var g2 = SeededGenerator(seed: seed ^ 0x6A09_E667_F3BC_C909, stream: UInt64(caseIndex))
            let choices = config.acquisition.sliceThicknessMM
            t = choices[g2.nextInt(in: 0...(choices.count - 1))]
            let coverage = g2.nextUniform(in: config.acquisition.coverageMM)
            nz = min(config.slices.upperBound, max(config.slices.lowerBound, Int((coverage / t).rounded())))
            for m in 6...16 {
                head.harmonics.append((Double(m), g2.nextUniform(in: config.anatomy.innerTableIrregularity) * 6 / Double(m),
                                       g2.nextUniform(in: 0...(2 * .pi))))
            }
            extras = Phantom.extras(config: config, thickness: t, head: head, using: &g2)
            // the tilt from a stream of its own: an untilted case keeps every other draw
            var gt = SeededGenerator(seed: seed ^ 0xBB67_AE85_84CA_A73B, stream: UInt64(caseIndex))
            if gt.nextBernoulli(config.acquisition.gantryTiltProbability) {
                let degrees = gt.nextUniform(in: config.acquisition.gantryTiltDegrees) * (gt.nextBernoulli(0.5) ? 1 : -1)
                extras?.gantryTilt = degrees * .pi / 180
            }
            // motion from a stream of its own as well
            var gm = SeededGenerator(seed: seed ^ 0x3C6E_F372_FE94_F82B, stream: UInt64(caseIndex))
            if nz >= 2 && gm.nextBernoulli(config.acquisition.motionProbability) {
                let first = gm.nextInt(in: 1...(nz - 1)), end = gm.nextInt(in: (first + 1)...nz)
                let mm = gm.nextUniform(in: config.acquisition.motionMM), direction = gm.nextUniform(in: 0...(2 * .pi))
                let degrees = gm.nextUniform(in: config.acquisition.motionDegrees) * (gm.nextBernoulli(0.5) ? 1 : -1)
                extras?.motion = (first..<end, degrees * .pi / 180, mm * cos(direction), mm * sin(direction))
            }
        } else {
            t = config.sliceThicknessMM
            nz = drawnSlices
        }

        // Place the stack: the vertex a little below the top slice when the stack is long
        // enough (starting no lower than the foramen magnum: the phantom has no neck, so a
        // longer stack ends in air above the head), otherwise centred on the head.
        let length = Double(nz) * t
        let bottom = -8.0, top = head.height + head.skullThickness + head.scalpThickness
        let zStart: Double
        if length >= top - bottom {
            zStart = max(top + g.nextUniform(in: 2...12) - length, bottom - 4)
        } else {
            zStart = (bottom + top) / 2 - length / 2 + g.nextUniform(in: -5...5)
        }
        let visible = max(0, zStart)...min(head.height, zStart + length)

        let positive = isPositive(caseIndex: caseIndex, seed: seed, positiveFraction: config.positiveFraction)
        var attempt: UInt64 = 0
        while true {
            var lesions: [LesionModel] = []
            var targets: [Double] = []
            if positive {
                var lg = SeededGenerator(seed: lesionSeed, stream: attempt)
                let count = lg.nextInt(in: config.lesionsPerPositiveCase)
                for _ in 0..<count {
                    if extras != nil && lg.nextBernoulli(config.blood.tinyFocusProbability) {
                        // generation 2: a contusion or a thin subarachnoid trace
                        let lo = log(config.blood.tinyFocusML.lowerBound), hi = log(config.blood.tinyFocusML.upperBound)
                        let volume = exp(lg.nextUniform(in: lo...hi))
                        var lesion = lg.nextBernoulli(0.6)
                            ? LesionModel.sample(.intraparenchymal, volumeML: volume, head: head, visible: visible, using: &lg)
                            : LesionModel.subarachnoidTrace(volumeML: volume, head: head, visible: visible, using: &lg)
                        dressLesion(&lesion, head: head, blood: config.blood, using: &lg)
                        targets.append(volume)
                        lesions.append(lesion)
                        continue
                    }
                    let subtype = drawSubtype(config.subtypes, using: &lg)
                    let lo = log(config.lesionVolumeML.lowerBound), hi = log(config.lesionVolumeML.upperBound)
                    let volume = exp(lg.nextUniform(in: lo...hi))
                    targets.append(volume)
                    var lesion = LesionModel.sample(subtype, volumeML: volume, head: head, visible: visible, using: &lg)
                    if extras != nil { dressLesion(&lesion, head: head, blood: config.blood, using: &lg) }
                    lesions.append(lesion)
                }
            }
            // Mass effect: lateral lesions push the midline away, about 1.5 mm per 10 mL of
            // net one-sided volume, at most 12 mm.
            var net = 0.0
            for (l, v) in zip(lesions, targets) {
                switch l.shape {
                case .blobs(let lobes, _): net += v * (lobes[0].cu >= 0 ? 1 : -1)
                case .extraAxial(let phi, _, _, _, _, _): net += v * cos(phi)
                default: break
                }
            }
            var shifted = head
            shifted.applyMassEffect(push: -max(-12, min(12, 0.15 * net)))
            let renderer = PhantomRenderer(head: shifted, lesions: lesions, nx: n, ny: n, nz: nz, subSlices: config.subSlices,
                                           dx: dx, thickness: t, zStart: zStart, noiseSeed: noiseSeed, extras: extras)
            // the slices after the patient moved are drawn with the head's pose moved
            var moved: (renderer: PhantomRenderer, slices: Range<Int>)?
            if let m = extras?.motion {
                var head = shifted
                head.rotation += m.rotation; head.shiftX += m.shiftX; head.shiftY += m.shiftY
                moved = (PhantomRenderer(head: head, lesions: lesions, nx: n, ny: n, nz: nz, subSlices: config.subSlices,
                                         dx: dx, thickness: t, zStart: zStart, noiseSeed: noiseSeed, extras: extras), m.slices)
            }
            let result = render(renderer, moved: moved)
            let labelled = result.perSlice.reduce(0) { $0 + $1.reduce(0, +) }
            // A positive case whose lesions all fell outside the stack or below the half-voxel
            // rule is drawn again with fresh lesions (deterministically: the attempt is a stream).
            if positive && labelled == 0 && attempt < 8 { attempt += 1; continue }

            // LAS voxel axes (i towards the patient's left, j towards anterior), the field
            // centred on the table axis, as dcm2niix writes axial head CT.
            var affine = Affine.scaling(SIMD3(-dx, dx, t))
            affine[0, 3] = dx * Double(n - 1) / 2
            affine[1, 3] = -dx * Double(n - 1) / 2
            affine[2, 3] = tableZ
            var geometry = Geometry(affine: affine)
            if let tilt = extras?.gantryTilt, tilt != 0 {
                // the column direction rises by sin(tilt) per mm; the slice step stays on the
                // body axis: a sheared affine, which only the sform can hold
                affine[1, 1] = dx * cos(tilt)
                affine[2, 1] = dx * sin(tilt)
                affine[1, 3] = -dx * Double(n - 1) / 2 * cos(tilt)
                affine[2, 3] = tableZ - dx * Double(n - 1) / 2 * sin(tilt)
                geometry = Geometry(affine: affine)
                geometry.qformCode = 0
            }
            let shape = GridShape(n, n, nz)
            var scan = ScanVolume(shape: shape, voxels: result.hu, geometry: geometry)
            var mask = MaskVolume(shape: shape, voxels: result.label.map { $0 > 0 ? 1 : 0 }, geometry: geometry)
            var ic = MaskVolume(shape: shape, voxels: result.intracranial, geometry: geometry)
            var tissue = MaskVolume(shape: shape, voxels: result.tissue, geometry: geometry)
            var sliceLabels = result.perSlice.map { $0.reduce(0, +) > 0 }
            let voxelML = geometry.voxelVolumeML
            var summaries: [LesionSummary] = []
            for (i, lesion) in lesions.enumerated() {
                let counts = result.perSlice.map { $0[i] }
                guard let first = counts.firstIndex(where: { $0 > 0 }), let last = counts.lastIndex(where: { $0 > 0 }) else { continue }
                var summary = LesionSummary(subtype: lesion.subtype, volumeML: Double(counts.reduce(0, +)) * voxelML,
                                            targetVolumeML: targets[i], firstSlice: first, lastSlice: last)
                if extras != nil {
                    summary.stage = lesion.stage
                    summary.densityHU = lesion.hu
                    summary.haematocritLevel = lesion.levelContrast != 0
                }
                summaries.append(summary)
            }
            // The renderer's lesion ids, renumbered to the summaries (lesions without a
            // labelled voxel have none and no id).
            var renumber = [UInt8](repeating: 0, count: lesions.count + 1)
            var kept = 0
            for (i, _) in lesions.enumerated() where result.perSlice.contains(where: { $0[i] > 0 }) {
                kept += 1
                renumber[i + 1] = UInt8(kept)
            }
            var lesionLabels = MaskVolume(shape: shape, voxels: result.label.map { renumber[Int($0)] }, geometry: geometry)
            // Generation 2 stores some cases in another voxel order (the affine follows).
            if let order = extras?.storedOrientation, order != Reorientation.canonicalCodes {
                let r = Reorientation(shape: shape, codes: Reorientation.canonicalCodes, target: order)
                scan = r.apply(scan); mask = r.apply(mask); ic = r.apply(ic); tissue = r.apply(tissue)
                lesionLabels = r.apply(lesionLabels)
                if r.flipped[2] {
                    sliceLabels.reverse()
                    summaries = summaries.map { var l = $0; (l.firstSlice, l.lastSlice) = (nz - 1 - $0.lastSlice, nz - 1 - $0.firstSlice); return l }
                }
            }
            return PhantomCase(name: caseName(caseIndex), scan: scan, mask: mask, lesionLabels: lesionLabels, intracranial: ic, tissue: tissue,
                               sliceLabels: sliceLabels, lesions: summaries)
        }
    }

    /// Generates cases `indices` of the set seeded by `seed`, calling `progress(done, total)`
    /// after each, and `body` with each case in order (cases are not all kept in memory).
    public static func generateSet(indices: Range<Int>, seed: UInt64, config: PhantomConfig = .default,
                                   progress: (Int, Int) -> Void = { _, _ in },
                                   _ body: (PhantomCase) throws -> Void) throws {
        try config.validate()
        for (done, i) in indices.enumerated() {
            try body(try generate(caseIndex: i, seed: seed, config: config))
            progress(done + 1, indices.count)
        }
    }

    private static func drawSubtype(_ mix: SubtypeMix, using g: inout SeededGenerator) -> HemorrhageSubtype {
        var x = g.nextUniform() * mix.total
        for s in HemorrhageSubtype.allCases {
            x -= mix[s]
            if x < 0 { return s }
        }
        return HemorrhageSubtype.allCases.last { mix[$0] > 0 } ?? .intraparenchymal
    }

    private struct Rendered {
        var hu: [Float], label: [UInt8], intracranial: [UInt8], tissue: [UInt8]
        var perSlice: [[Int]]
    }

    private static func render(_ r: PhantomRenderer, moved: (renderer: PhantomRenderer, slices: Range<Int>)? = nil) -> Rendered {
        let count = r.nx * r.ny * r.nz
        let hu = SharedBuffer<Float>(count: count, repeating: 0)
        let label = SharedBuffer<UInt8>(count: count, repeating: 0)
        let ic = SharedBuffer<UInt8>(count: count, repeating: 0)
        let tissue = SharedBuffer<UInt8>(count: count, repeating: 0)
        let perSlice = SharedBuffer<[Int]>(count: r.nz, repeating: [])
        DispatchQueue.concurrentPerform(iterations: r.nz) { k in
            let renderer = moved.map { $0.slices.contains(k) ? $0.renderer : r } ?? r
            perSlice.pointer[k] = renderer.renderSlice(k, hu: hu, label: label, intracranial: ic, tissue: tissue)
        }
        return Rendered(hu: hu.array(), label: label.array(), intracranial: ic.array(), tissue: tissue.array(),
                        perSlice: perSlice.array())
    }
}
