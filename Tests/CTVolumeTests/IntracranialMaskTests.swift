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

        init() {
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
                        let sg = Self.sigma
                        let inside = Self.phi(-dIn / sg)
                        var bone = Self.phi(dIn / sg) * Self.phi(-dOut / sg)
                        let skin = Self.phi(dOut / sg) * Self.phi(-dScalp / sg)
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
        let mask = try IntracranialMask.compute(Self.head.scan, parameters: p)
        let lesion = Self.count(mask, where: Self.head.lesion)
        #expect(Double(lesion.kept) < 0.98 * Double(lesion.of))
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
