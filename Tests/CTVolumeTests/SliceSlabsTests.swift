import Foundation
import Testing
import CTVolume

/// Thin slices averaged into slabs (``SlabRule``, ``SliceSlabs``), against hand-computed values.
@Suite struct SliceSlabsTests {
    @Test("the rule: slices thinner than the limit take the fewest per slab that reach the slab thickness; others one")
    func factors() throws {
        let rule = try SlabRule(thinnerThanMM: 1.25, slabMM: 5)
        #expect(rule.factor(spacingMM: 0.625) == 8)
        #expect(rule.factor(spacingMM: 1.0) == 5)
        #expect(rule.factor(spacingMM: 0.9) == 6)      // 5 x 0.9 = 4.5 < 5
        #expect(rule.factor(spacingMM: 1.25) == 1)     // as thin as the limit: left alone
        #expect(rule.factor(spacingMM: 1.2499999999) == 1)
        #expect(rule.factor(spacingMM: 2.5) == 1)
        #expect(rule.factor(spacingMM: 0) == 1 && rule.factor(spacingMM: .nan) == 1 && rule.factor(spacingMM: -1) == 1)
        // the presets' rule from the training phantom's thicknesses: half the median and the median
        let presets = try SlabRule(trainingThicknessesMM: [1.25, 2, 2.5, 3, 4, 5, 5, 6, 7, 8, 10])
        #expect(presets == (try SlabRule(thinnerThanMM: 2.5, slabMM: 5)))
        #expect(presets.factor(spacingMM: 2.0) == 3 && presets.factor(spacingMM: 1.25) == 4 && presets.factor(spacingMM: 2.5) == 1)
        #expect(try SlabRule(trainingThicknessesMM: [4, 1, 3, 2]) == SlabRule(thinnerThanMM: 1, slabMM: 2))   // lower middle
        #expect(throws: CTVolumeError.self) { try SlabRule(trainingThicknessesMM: []) }
        #expect(throws: CTVolumeError.self) { try SlabRule(trainingThicknessesMM: [1, .nan]) }
        #expect(throws: CTVolumeError.self) { try SlabRule(thinnerThanMM: 2, slabMM: 1) }
        #expect(throws: CTVolumeError.self) { try SlabRule(thinnerThanMM: 0, slabMM: 1) }
        // decoding checks as the initializer does
        let good = try JSONDecoder().decode(SlabRule.self, from: Data(#"{"thinnerThanMM": 1.25, "slabMM": 5}"#.utf8))
        #expect(good == rule)
        #expect(throws: (any Error).self) { try JSONDecoder().decode(SlabRule.self, from: Data(#"{"thinnerThanMM": 5, "slabMM": 1}"#.utf8)) }
        #expect(try JSONDecoder().decode(SlabRule.self, from: JSONEncoder().encode(rule)) == rule)
    }

    /// A 3 x 2 x `z` scan whose voxel (i, j, k) holds `value(i, j, k)`, slices `dz` mm apart,
    /// with an oblique affine (a rotation about x and an offset) on the qform and the sform.
    private func scan(z: Int, dz: Double, value: (Int, Int, Int) -> Float) -> ScanVolume {
        let c = cos(0.3), s = sin(0.3)
        let affine = Affine(rowMajor: [-0.5, 0, 0, 10,
                                       0, 0.5 * c, -dz * s, -20,
                                       0, 0.5 * s, dz * c, 30,
                                       0, 0, 0, 1])
        let shape = GridShape(3, 2, z)
        var voxels = [Float](repeating: 0, count: shape.count)
        for k in 0..<z { for j in 0..<2 { for i in 0..<3 { voxels[shape.index(i, j, k)] = value(i, j, k) } } }
        return ScanVolume(shape: shape, voxels: voxels, geometry: Geometry(affine: affine))
    }

    @Test("slabs: factor slices each; a remainder of at least half a slab is a slab, a shorter one joins the last; fewer slices than a slab are one")
    func layout() {
        let seven = SliceSlabs(sliceCount: 7, factor: 3)      // 3 + 4: the lone seventh slice joins
        #expect(seven.slabCount == 2 && seven.slices(of: 0) == 0..<3 && seven.slices(of: 1) == 3..<7)
        #expect((0..<7).map(seven.slab(of:)) == [0, 0, 0, 1, 1, 1, 1])
        let eight = SliceSlabs(sliceCount: 8, factor: 3)      // 3 + 3 + 2
        #expect(eight.slabCount == 3 && eight.slices(of: 2) == 6..<8)
        let short = SliceSlabs(sliceCount: 3, factor: 8)      // one slab of all three
        #expect(short.slabCount == 1 && short.slices(of: 0) == 0..<3 && short.expand([7]) == [7, 7, 7])
        #expect(SliceSlabs(sliceCount: 0, factor: 4).slabCount == 0)
        #expect(SliceSlabs(sliceCount: 6, factor: 1).slabCount == 6)
        // a header's absurd spacing does not overflow the factor
        let rule = try! SlabRule(thinnerThanMM: 1.25, slabMM: 5)
        #expect(rule.factor(spacingMM: 1e-300) == 65_536)
    }

    @Test("average: each slab the mean of its slices, centred on them in the world")
    func average() throws {
        let thin = scan(z: 8, dz: 0.625) { i, j, k in Float(100 * k + 10 * j + i) }
        let slabs = SliceSlabs(thin, rule: try SlabRule(thinnerThanMM: 1.25, slabMM: 1.8))   // 3 slices of 0.625
        #expect(slabs.factor == 3 && slabs.slabCount == 3 && slabs.slices(of: 2) == 6..<8)
        let thick = slabs.average(thin)
        #expect(thick.shape == GridShape(3, 2, 3))
        for j in 0..<2 {
            for i in 0..<3 {
                let base = Float(10 * j + i)
                #expect(thick[i, j, 0] == base + 100)      // slices 0, 1, 2
                #expect(thick[i, j, 1] == base + 400)      // 3, 4, 5
                #expect(thick[i, j, 2] == base + 650)      // 6 and 7
            }
        }
        // the slab grid: 3 x 0.625 mm apart, each full slab at the centre of its slices
        #expect(abs(thick.geometry.spacing.z - 1.875) < 1e-12)
        #expect(abs(thick.geometry.affine.columnNorms.z - 1.875) < 1e-12)
        for s in 0..<2 {
            let centre = slabs.slices(of: s).map { thin.geometry.affine.apply(SIMD3(1, 1, Double($0))) }.reduce(SIMD3<Double>(0, 0, 0), +) / 3
            let world = thick.geometry.affine.apply(SIMD3(1, 1, Double(s)))
            #expect(((world - centre) * (world - centre)).sum() < 1e-18, "slab \(s)")
            #expect(thick.geometry.qform.apply(SIMD3(1, 1, Double(s))) == world)
        }
        // in-plane positions unchanged
        #expect(thick.geometry.affine.apply(SIMD3(2, 0, 0)) - thick.geometry.affine.apply(SIMD3(0, 0, 0))
                == thin.geometry.affine.apply(SIMD3(2, 0, 0)) - thin.geometry.affine.apply(SIMD3(0, 0, 0)))
        // seven slices: the seventh joins the second slab, the mean of four
        let seven = SliceSlabs(sliceCount: 7, factor: 3).average(scan(z: 7, dz: 0.625) { _, _, k in Float(k) })
        #expect(seven.shape.z == 2 && seven[0, 0, 1] == 4.5)
    }

    @Test("average of random values: the double-precision mean of each slab's slices, to float rounding")
    func averageRandom() {
        var g = SeededGenerator(seed: 11)
        let values = (0..<(3 * 2 * 11)).map { _ in Float(g.nextUniform(in: -1000...2000)) }
        let thin = scan(z: 11, dz: 0.5) { i, j, k in values[i + 3 * (j + 2 * k)] }
        let slabs = SliceSlabs(sliceCount: 11, factor: 4)
        let thick = slabs.average(thin)
        for s in 0..<3 {
            for j in 0..<2 {
                for i in 0..<3 {
                    let ks = slabs.slices(of: s)
                    let mean = ks.map { Double(thin[i, j, $0]) }.reduce(0, +) / Double(ks.count)
                    #expect(abs(Double(thick[i, j, s]) - mean) <= 1e-6 * 2000, "(\(i), \(j), slab \(s))")
                }
            }
        }
    }

    @Test("expand: every slice takes its slab's voxels and the original geometry; values likewise; factor 1 changes nothing")
    func expand() {
        let thin = scan(z: 7, dz: 0.625) { _, _, _ in 0 }
        let slabs = SliceSlabs(sliceCount: 7, factor: 3)   // slices 0-2 and 3-6
        let coarse = MaskVolume(shape: GridShape(3, 2, 2), voxels: (0..<12).map { UInt8($0 % 5) }, geometry: slabs.slabGeometry(thin.geometry))
        let fine = slabs.expand(coarse, geometry: thin.geometry)
        #expect(fine.shape == thin.shape && fine.geometry == thin.geometry)
        for k in 0..<7 { #expect(Array(fine.slice(k)) == Array(coarse.slice(k < 3 ? 0 : 1)), "slice \(k)") }
        #expect(slabs.expand([0.1, 0.5] as [Float]) == [0.1, 0.1, 0.1, 0.5, 0.5, 0.5, 0.5])
        // identity
        let one = SliceSlabs(thin, rule: nil)
        #expect(one.isIdentity && one.slabCount == 7)
        let same = one.average(thin)
        #expect(same.voxels == thin.voxels && same.geometry == thin.geometry)
        #expect(one.expand([1, 2, 3, 4, 5, 6, 7]) == [1, 2, 3, 4, 5, 6, 7])
        #expect(one.slabGeometry(thin.geometry) == thin.geometry)
    }
}
