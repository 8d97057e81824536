import Testing
import CTVolume
import WeakSupervision
import TestSupport

/// A small phantom: 16 x 16 x 4, intracranial disc, brain ~30 HU (two tissues 25 and 35),
/// CSF 5, a 4 x 4 "bleed" of 70 HU on slices 1 and 2 at columns 9...12, rows 5...8, a lone
/// 70 HU voxel (noise) on slice 1, bone 1000 outside the disc. The CAM is high (0.9) on an
/// 8 x 8 square around the bleed (columns 7...14, rows 3...10), 0.05 elsewhere.
private struct Phantom {
    let scan: ScanVolume, intracranial: MaskVolume, cam: Volume<Float>, truth: MaskVolume
    let probabilities: [Float] = [0.1, 0.9, 0.8, 0.2]

    init() {
        let shape = GridShape(16, 16, 4)
        var hu = ScanVolume(shape: shape, repeating: 1000, geometry: unitGeometry)
        var icm = MaskVolume(shape: shape, repeating: 0, geometry: unitGeometry)
        var cam = Volume<Float>(shape: shape, repeating: 0, geometry: unitGeometry)
        var truth = MaskVolume(shape: shape, repeating: 0, geometry: unitGeometry)
        for k in 0..<4 { for j in 0..<16 { for i in 0..<16 {
            let dx = Double(i) - 7.5, dy = Double(j) - 7.5
            guard dx * dx + dy * dy <= 49 else { continue }
            icm[i, j, k] = 1
            hu[i, j, k] = (i + j) % 2 == 0 ? 25 : 35
            if i == 3 && j >= 6 && j <= 9 { hu[i, j, k] = 5 }
            if (1...2).contains(k) && (9...12).contains(i) && (5...8).contains(j) { hu[i, j, k] = 70; truth[i, j, k] = 1 }
            if (7...14).contains(i) && (3...10).contains(j) { cam[i, j, k] = 0.9 } else { cam[i, j, k] = 0.05 }
        } } }
        hu[14, 10, 1] = 70      // inside the CAM square, isolated: removed as a small component
        hu[5, 12, 0] = 70       // on a negative slice: never in the pseudo-mask
        scan = hu; intracranial = icm; self.cam = cam; self.truth = truth
    }

    var segmentationCase: SegmentationCase {
        SegmentationCase(name: "phantom", scan: scan, intracranial: intracranial, cam: cam, sliceProbabilities: probabilities)
    }
}

@Suite struct PseudoMaskTests {
    @Test func pseudoMaskIsBleedOnPositiveSlices() throws {
        let p = Phantom()
        let builder = try PseudoMaskBuilder(k: 4, minimumComponentSize: 2)
        let c = try builder.cluster(scan: p.scan, intracranial: p.intracranial)
        let h = try #require(c.hyperdenseCluster)
        #expect(c.kmeans.centroids[h][0] == 70)
        let mask = try builder.build(scan: p.scan, intracranial: p.intracranial, cam: p.cam, probabilities: p.probabilities)
        #expect(mask.voxels == p.truth.voxels)
        #expect(try builder.segment(p.segmentationCase).voxels == p.truth.voxels)
        // Without component removal the lone voxel inside the CAM square stays.
        var keepAll = builder
        keepAll.minimumComponentSize = 0
        let m0 = try keepAll.build(scan: p.scan, intracranial: p.intracranial, cam: p.cam, probabilities: p.probabilities)
        #expect(m0.voxels.filter { $0 > 0 }.count == p.truth.voxels.filter { $0 > 0 }.count + 1)
    }

    @Test func partsAgreeWithTheSeparateStages() throws {
        let p = Phantom(), c = p.segmentationCase
        let builder = try PseudoMaskBuilder(features: [.smoothedHU(sigmaMM: 0.8)], seed: 4)
        let parts = try builder.parts(scan: p.scan, intracranial: p.intracranial, cam: p.cam, probabilities: p.probabilities)
        #expect(try parts.pseudoMask.voxels == builder.segment(c).voxels)
        #expect(try parts.clustering.mask.voxels == KMeansBaseline(builder: builder).segment(c).voxels)
        #expect(try parts.camRegion.voxels == CAMBaseline().segment(c).voxels)
    }

    @Test func noCentroidInTheBloodRangeGivesAnEmptyMask() throws {
        let p = Phantom()
        let builder = try PseudoMaskBuilder(k: 4, bloodRange: 80...100)
        let c = try builder.cluster(scan: p.scan, intracranial: p.intracranial)
        #expect(c.hyperdenseCluster == nil)
        #expect(c.mask.voxels.allSatisfy { $0 == 0 })
        #expect(try builder.segment(p.segmentationCase).voxels.allSatisfy { $0 == 0 })
    }

    @Test func baselinesOnThePhantom() throws {
        let p = Phantom(), c = p.segmentationCase
        // 50..90 HU inside the mask: the bleed and both lone voxels.
        let intensity = try IntensityThresholdBaseline().segment(c)
        #expect(intensity.voxels.filter { $0 > 0 }.count == 32 + 2)
        #expect(try IntensityThresholdBaseline(minimumComponentSize: 2).segment(c).voxels == p.truth.voxels)
        // k-means alone: the hyperdense cluster on every slice, the same voxels.
        let km = try KMeansBaseline(builder: PseudoMaskBuilder()).segment(c)
        #expect(km.voxels == intensity.voxels)
        // CAM alone: the square, inside the mask, on the two positive slices.
        let cam = try CAMBaseline().segment(c)
        var square = 0
        for k in 1...2 { for j in 3...10 { for i in 7...14 where p.intracranial[i, j, k] > 0 { square += 1 } } }
        #expect(square > 50)
        #expect(cam.voxels.filter { $0 > 0 }.count == square)
        // All four are Segmenters of one comparison table.
        let rows: [any Segmenter] = [try IntensityThresholdBaseline(), KMeansBaseline(builder: try PseudoMaskBuilder()),
                                     CAMBaseline(), try PseudoMaskBuilder()]
        #expect(rows.map(\.name) == ["threshold 50..90 HU inside the intracranial mask", "k-means alone (hyperdense cluster)",
                                      "CAM alone (thresholded CAM)", "pseudo-masks (CAM and k-means)"])
        for r in rows { #expect(try r.segment(c).shape == p.scan.shape) }
        // A CAM method on a case without a CAM says so.
        let bare = SegmentationCase(name: "bare", scan: p.scan, intracranial: p.intracranial)
        #expect(throws: WeakSupervisionError.missingInput(method: "CAM alone (thresholded CAM)", input: "a CAM volume")) {
            try CAMBaseline().segment(bare)
        }
    }

    @Test func pluggableThresholdAndDeterminism() throws {
        let p = Phantom()
        // A user threshold plugs into the builder; Otsu on the two-valued CAM keeps the square.
        for t: any MapThreshold in [MeanThreshold(), OtsuThreshold(), try PercentileThreshold(50)] {
            let b = try PseudoMaskBuilder(threshold: t, minimumComponentSize: 2)
            #expect(try b.build(scan: p.scan, intracranial: p.intracranial, cam: p.cam, probabilities: p.probabilities).voxels == p.truth.voxels)
        }
        // Same seed, same clustering; with a caller's generator too.
        let b = try PseudoMaskBuilder(features: [.hu, .smoothedHU(sigmaMM: 1)], seed: 7)
        let a1 = try b.cluster(scan: p.scan, intracranial: p.intracranial).kmeans
        let a2 = try b.cluster(scan: p.scan, intracranial: p.intracranial).kmeans
        #expect(a1 == a2)
        var g1 = TestGenerator(seed: 3), g2 = TestGenerator(seed: 3)
        #expect(try b.cluster(scan: p.scan, intracranial: p.intracranial, using: &g1).kmeans
                == b.cluster(scan: p.scan, intracranial: p.intracranial, using: &g2).kmeans)
    }

    @Test func smoothedHUMatchesScipyNormalisedGaussian() throws {
        let f = try fixture("smoothing")
        let w = f.int("width"), h = f.int("height"), sp = f.doubles("spacing")
        let g = Geometry(spacing: SIMD3(sp[0], sp[1], 5))
        let scan = ScanVolume(shape: GridShape(w, h, 1), voxels: f.floats("hu"), geometry: g)
        let mask = MaskVolume(shape: scan.shape, voxels: f.ints("mask").map(UInt8.init), geometry: g)
        let got = try VoxelFeature.smoothedHU(sigmaMM: f.double("sigmaMM")).values(scan: scan, intracranial: mask)
        for (a, b) in zip(got, f.doubles("expected")) { #expect(close(Double(a), b, rtol: 1e-6, atol: 1e-4)) }
    }

    @Test("positiveSlices .labels gates by the weak labels (≥ 0.5), ignores the probabilities and positiveAt; .classifier never reads the labels")
    func labelGatedPseudoMasks() throws {
        struct Unread: Error {}
        let p = Phantom()
        func onSlices(_ slices: Set<Int>) -> [UInt8] {
            var m = p.truth
            for k in 0..<4 where !slices.contains(k) { for j in 0..<16 { for i in 0..<16 { m[i, j, k] = 0 } } }
            return m.voxels
        }
        var settings = PipelineConfig.PseudoMaskSettings(features: [.hu], minimumComponentSize: 2, tissueHU: nil, opening: nil)
        // The classifier's slices (probabilities 0.1, 0.9, 0.8, 0.2): both bleeding slices; labels never read.
        #expect(try settings.pseudoMask(of: p.segmentationCase, labels: { throw Unread() }).voxels == p.truth.voxels)
        settings.positiveSlices = .classifier
        #expect(try settings.pseudoMask(of: p.segmentationCase, labels: { throw Unread() }).voxels == p.truth.voxels)
        settings.positiveSlices = .labels
        // Labels disagree with the classifier: only the labelled slice keeps its bleed.
        #expect(try settings.pseudoMask(of: p.segmentationCase, labels: { [0, 1, 0, 0] }).voxels == onSlices([1]))
        // The classifier missed every slice, the labels did not.
        var missed = p.segmentationCase
        missed.sliceProbabilities = [0, 0, 0, 0]
        #expect(try settings.pseudoMask(of: missed, labels: { [0, 0.6, 1, 0] }).voxels == onSlices([1, 2]))
        // A label is positive from 0.5: 0.4 on a bleeding slice is not.
        #expect(try settings.pseudoMask(of: missed, labels: { [0, 1, 0.4, 0] }).voxels == onSlices([1]))
        // A case labelled negative is empty whatever the classifier says.
        #expect(try settings.pseudoMask(of: p.segmentationCase, labels: { [0, 0, 0, 0] }).voxels.allSatisfy { $0 == 0 })
        // positiveAt is the classifier's threshold only.
        settings.positiveAt = 2
        #expect(try settings.pseudoMask(of: p.segmentationCase, labels: { [0, 1, 1, 0] }).voxels == p.truth.voxels)
        #expect(try settings.segmenter().segment(p.segmentationCase).voxels.allSatisfy { $0 == 0 })
        // Labels must be one per slice; the labels' own errors pass through.
        #expect(throws: WeakSupervisionError.self) { try settings.pseudoMask(of: p.segmentationCase, labels: { [0, 1, 1] }) }
        #expect(throws: Unread.self) { try settings.pseudoMask(of: p.segmentationCase, labels: { throw Unread() }) }
    }

    @Test func mismatchedInputsThrow() throws {
        let p = Phantom()
        let small = MaskVolume(shape: GridShape(16, 16, 3), repeating: 1, geometry: unitGeometry)
        let b = try PseudoMaskBuilder()
        #expect(throws: WeakSupervisionError.self) { try b.cluster(scan: p.scan, intracranial: small) }
        #expect(throws: WeakSupervisionError.self) {
            try b.build(scan: p.scan, intracranial: p.intracranial, cam: p.cam, probabilities: [0.9, 0.9])
        }
        #expect(throws: WeakSupervisionError.self) { try PseudoMaskBuilder(k: 0) }
        #expect(throws: WeakSupervisionError.self) { try PseudoMaskBuilder(features: []) }
        #expect(throws: WeakSupervisionError.self) { try PseudoMaskBuilder(rangeFeature: 1) }
        #expect(throws: WeakSupervisionError.self) { try IntensityThresholdBaseline(lower: 90, upper: 50) }
        let empty = MaskVolume(shape: p.scan.shape, repeating: 0, geometry: unitGeometry)
        #expect(throws: WeakSupervisionError.emptyInput(what: "intracranial mask")) { try b.cluster(scan: p.scan, intracranial: empty) }
    }
}
