import Foundation
import Testing
import CTVolume

/// The intracranial mask on a synthetic head built here, with known anatomy.
@Suite struct IntracranialMaskTests {
    /// An elliptical head on 64 x 56 x 8 voxels of 1 x 1 x 5 mm: air, scalp (40 HU),
    /// skull ring (1200 HU, 5 mm thick), brain (30 HU) and a 70 HU lesion touching the inner
    /// table on slices 2...5. Partial volume: every tissue boundary is blurred by a Gaussian
    /// edge profile (sigma 0.8 mm). Slice 0 holds no head; slice 4 has a 6 mm gap in the
    /// skull (filled with 35 HU soft tissue); slice 7 is a smaller head.
    struct Head {
        static let shape = GridShape(64, 56, 8)
        static let center = SIMD2<Double>(32, 28)
        static let sigma = 0.8
        static let lesionSlices = 2...5
        static let gapSlice = 4
        static let lesionCenter = SIMD2<Double>(32 + 22 - 2, 28)  // 2 mm inside the inner table at +x
        static let lesionRadius = 6.0

        /// Width (mm) of a linear edge ramp used instead of the Gaussian profile, or nil.
        var ramp: Double?
        var scan: ScanVolume
        var lesion: [Bool] = []      // voxel centre in the lesion
        var scalp: [Bool] = []       // voxel centre outside the outer table
        var skullCore: [Bool] = []   // voxel centre >= 2.5 mm inside bone from the inner table, >= 1 mm from the outer
        var deepBrain: [Bool] = []   // voxel centre >= 2 mm inside the inner table

        static func scale(_ k: Int) -> Double { k == 7 ? 0.8 : 1 }

        /// Approximate signed distance (mm, positive outside) to an ellipse of semi-axes a, b.
        static func distance(_ p: SIMD2<Double>, _ a: Double, _ b: Double) -> Double {
            let d = p - center
            let rho = ((d.x / a) * (d.x / a) + (d.y / b) * (d.y / b)).squareRoot()
            return (rho - 1) * (a * b).squareRoot()
        }

        static func phi(_ x: Double) -> Double { 0.5 * (1 + erf(x / 2.0.squareRoot())) }

        /// Fraction of the far side at signed distance `d` from an edge.
        static func edge(_ d: Double, ramp: Double?) -> Double {
            if let w = ramp { return min(max(0.5 + d / w, 0), 1) }
            return Self.phi(d / Self.sigma)
        }

        /// - Parameter ramp: replace the Gaussian edges by linear ramps this wide (mm), as a
        ///   thick slice through a skull oblique to it produces.
        init(ramp: Double? = nil) {
            self.ramp = ramp
            let s = Self.shape
            var hu = [Float](repeating: -1000, count: s.count)
            lesion = Array(repeating: false, count: s.count)
            scalp = lesion; skullCore = lesion; deepBrain = lesion
            var noise = LCG(seed: 11)
            for k in 0..<s.z {
                let f = Self.scale(k)
                for j in 0..<s.y {
                    for i in 0..<s.x {
                        let idx = s.index(i, j, k)
                        let p = SIMD2(Double(i), Double(j))
                        let n = Float(noise.nextFloat() * 8 - 4)
                        guard k > 0 else { hu[idx] = -1000 + n; continue }
                        let dIn = Self.distance(p, 22 * f, 18 * f)
                        let dOut = Self.distance(p, 27 * f, 23 * f)
                        let dScalp = Self.distance(p, 30 * f, 26 * f)
                        let inside = Self.edge(-dIn, ramp: ramp)
                        var bone = Self.edge(dIn, ramp: ramp) * Self.edge(-dOut, ramp: ramp)
                        let skin = Self.edge(dOut, ramp: ramp) * Self.edge(-dScalp, ramp: ramp)
                        let air = max(0, 1 - inside - bone - skin)
                        let q = p - Self.center
                        let inGap = k == Self.gapSlice && q.y > 0 && abs(q.x) < 3  // 6 mm wide, at +y
                        var gapTissue = 0.0
                        if inGap { gapTissue = bone; bone = 0 }
                        let inLesion = Self.lesionSlices.contains(k)
                            && ((p - Self.lesionCenter) * (p - Self.lesionCenter)).sum() <= Self.lesionRadius * Self.lesionRadius
                        let tissue: Double = inLesion ? 70 : 30
                        hu[idx] = Float(inside * tissue + bone * 1200 + skin * 40 + gapTissue * 35 + air * -1000) + n
                        lesion[idx] = inLesion && dIn < 0
                        scalp[idx] = dOut >= 0
                        skullCore[idx] = !inGap && dIn >= 2.5 && dOut <= -1
                        deepBrain[idx] = dIn <= -2
                    }
                }
            }
            scan = ScanVolume(shape: s, voxels: hu, geometry: Geometry(spacing: SIMD3(1, 1, 5)))
        }
    }

    static let head = Head()

    static func count(_ mask: MaskVolume, where set: [Bool]) -> (kept: Int, of: Int) {
        var kept = 0, of = 0
        for (m, s) in zip(mask.voxels, set) where s { of += 1; if m > 0 { kept += 1 } }
        return (kept, of)
    }

    @Test func keepsTheLesionAtTheInnerTableAndNoScalpOrSkullCore() throws {
        let head = Self.head
        let mask = try IntracranialMask.compute(head.scan)
        #expect(mask.shape == head.scan.shape && mask.geometry == head.scan.geometry)

        let lesion = Self.count(mask, where: head.lesion)
        #expect(lesion.of > 100)
        #expect(Double(lesion.kept) >= 0.98 * Double(lesion.of), "lesion kept \(lesion.kept) of \(lesion.of)")

        let scalp = Self.count(mask, where: head.scalp)
        #expect(scalp.kept == 0, "scalp voxels in the mask: \(scalp.kept)")
        let core = Self.count(mask, where: head.skullCore)
        #expect(core.of > 500)
        #expect(core.kept == 0, "skull-core voxels in the mask: \(core.kept)")

        // Not trivially empty: the brain is in, on every head slice including the open ring.
        let brain = Self.count(mask, where: head.deepBrain)
        #expect(Double(brain.kept) >= 0.99 * Double(brain.of), "deep brain kept \(brain.kept) of \(brain.of)")
        let gapSlice = mask.slice(Head.gapSlice)
        #expect(gapSlice.reduce(0) { $0 + Int($1) } > 900)
        // The slice with no head is empty.
        #expect(mask.slice(0).allSatisfy { $0 == 0 })
    }

    @Test func withoutRimGrowthTheBlurredLesionRimIsLost() throws {
        // The reason the rim growth exists: a mask stopping at the bone threshold loses
        // the lesion voxels the skull blurs into.
        var p = IntracranialMask.Parameters()
        p.rimGrowth = 0
        p.rimReach = 0
        let mask = try IntracranialMask.compute(Self.head.scan, parameters: p)
        let lesion = Self.count(mask, where: Self.head.lesion)
        #expect(Double(lesion.kept) < 0.98 * Double(lesion.of))
    }

    @Test func obliqueSkullNeedsThePartialVolumeReach() throws {
        // Edges ramped over 8 mm, as a 5 mm slice through a skull oblique to it: bone and
        // blood mix over a band wider than the 2 mm growth. The reach into voxels under
        // 600 HU recovers most of it; dense bone and the scalp stay out either way.
        let head = Head(ramp: 8)
        let full = try IntracranialMask.compute(head.scan)
        let kept = Self.count(full, where: head.lesion)
        #expect(Double(kept.kept) >= 0.95 * Double(kept.of), "lesion kept \(kept.kept) of \(kept.of)")
        #expect(Self.count(full, where: head.skullCore).kept == 0)
        #expect(Self.count(full, where: head.scalp).kept == 0)
        let noReach = try IntracranialMask.compute(head.scan, parameters: .init(rimReach: 0))
        let keptNoReach = Self.count(noReach, where: head.lesion)
        #expect(Double(keptNoReach.kept) < 0.85 * Double(keptNoReach.of), "without reach: \(keptNoReach.kept) of \(keptNoReach.of)")
    }

    @Test func tissueUnderTheSkullBaseIsSeparatedFromTheBrain() throws {
        // Slices 0...2: a skull ring around soft tissue that is not brain (under the skull
        // base); slice 3: the floor, bone across the whole interior but for a 6 mm hole;
        // slices 4...7: brain. Through the hole the two are one 3-D component; the
        // separation radius (default 15 mm) keeps them apart.
        let shape = GridShape(64, 56, 8)
        var hu = [Float](repeating: -1000, count: shape.count)
        var noise = LCG(seed: 5)
        for k in 0..<shape.z {
            for j in 0..<shape.y {
                for i in 0..<shape.x {
                    let p = SIMD2(Double(i), Double(j))
                    let dIn = Head.distance(p, 22, 18), dOut = Head.distance(p, 27, 23)
                    let q = p - Head.center
                    var v: Float = dOut >= 0 ? -1000 : dIn >= 0 ? 1200 : (k < 3 ? 45 : 30)
                    if k == 3 && dIn < 0 && (q * q).sum() > 9 { v = 1100 }
                    hu[shape.index(i, j, k)] = v + Float(noise.nextFloat() * 6 - 3)
                }
            }
        }
        let scan = ScanVolume(shape: shape, voxels: hu, geometry: Geometry(spacing: SIMD3(1, 1, 5)))
        func area(_ m: MaskVolume, _ k: Int) -> Int { m.slice(k).reduce(0) { $0 + Int($1) } }
        let separated = try IntracranialMask.compute(scan)
        for k in 0...2 { #expect(area(separated, k) == 0, "slice \(k) under the floor: \(area(separated, k)) voxels") }
        for k in 4...7 { #expect(area(separated, k) > 1100, "brain slice \(k): \(area(separated, k)) voxels") }
        let joined = try IntracranialMask.compute(scan, parameters: .init(separation: 0))
        for k in 0...2 { #expect(area(joined, k) > 1100) }
    }

    @Test func anEmptyScanGivesAnEmptyMask() throws {
        let scan = ScanVolume(shape: GridShape(16, 12, 3), repeating: -1000, geometry: Geometry(spacing: SIMD3(1, 1, 5)))
        let mask = try IntracranialMask.compute(scan)
        #expect(mask.voxels.allSatisfy { $0 == 0 })
    }

    @Test func badParametersThrow() {
        var p = IntracranialMask.Parameters()
        p.closingRadii = []
        #expect(throws: CTVolumeError.self) { try IntracranialMask.compute(Self.head.scan, parameters: p) }
        p = IntracranialMask.Parameters(rimGrowth: -1)
        #expect(throws: CTVolumeError.self) { try p.validate() }
    }
}
