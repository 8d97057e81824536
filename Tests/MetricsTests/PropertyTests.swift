import Foundation
import Metrics
import Testing
import TestSupport

/// A random union of ellipsoids on a small grid.
func randomBlobs(_ shape: MaskShape, spacing: SIMD3<Double>, count: Int, seed: UInt64) -> BinaryMask {
    var g = TestGenerator(seed: seed)
    var voxels = [Bool](repeating: false, count: shape.count)
    for _ in 0..<count {
        let c = SIMD3(Double.random(in: 0..<Double(shape.x), using: &g), Double.random(in: 0..<Double(shape.y), using: &g),
                      Double.random(in: 0..<Double(shape.z), using: &g))
        let r = SIMD3(Double.random(in: 1.5...5, using: &g), Double.random(in: 1.5...5, using: &g), Double.random(in: 1...3, using: &g))
        for k in 0..<shape.z { for j in 0..<shape.y { for i in 0..<shape.x {
            let d = (SIMD3(Double(i), Double(j), Double(k)) - c) / r
            if (d * d).sum() <= 1 { voxels[shape.index(i, j, k)] = true }
        } } }
    }
    return BinaryMask(shape: shape, spacing: spacing, voxels: voxels)
}

/// `mask` with `pad` background voxels added on every side.
func padded(_ mask: BinaryMask, by pad: Int) -> BinaryMask {
    let s = mask.shape
    let out = MaskShape(s.x + 2 * pad, s.y + 2 * pad, s.z + 2 * pad)
    var voxels = [Bool](repeating: false, count: out.count)
    for k in 0..<s.z { for j in 0..<s.y { for i in 0..<s.x {
        voxels[out.index(i + pad, j + pad, k + pad)] = mask.voxels[s.index(i, j, k)]
    } } }
    return BinaryMask(shape: out, spacing: mask.spacing, voxels: voxels)
}

@Suite struct PropertyTests {
    static let shape = MaskShape(18, 16, 9)
    static let spacing = SIMD3(0.42, 0.7, 5.0)
    static let seeds: [UInt64] = [1, 2, 3, 4]

    func pair(_ seed: UInt64) -> (BinaryMask, BinaryMask) {
        (randomBlobs(Self.shape, spacing: Self.spacing, count: 3, seed: seed),
         randomBlobs(Self.shape, spacing: Self.spacing, count: 3, seed: seed &+ 100))
    }

    @Test(arguments: seeds) func symmetricMetricsAreSymmetric(seed: UInt64) {
        let (a, b) = pair(seed)
        let ab = SegmentationScores(prediction: a, truth: b, tolerance: 1)
        let ba = SegmentationScores(prediction: b, truth: a, tolerance: 1)
        for name in ["dice", "dice_smoothed", "iou", "medpy_hd", "medpy_hd95", "medpy_assd", "monai_hd", "monai_hd95",
                     "sd_hd", "sd_hd95", "sd_nsd"] {
            #expect(close(ab.metrics[name]!, ba.metrics[name]!, rtol: 1e-12), "\(name) is symmetric")
        }
        #expect(close(ab.precision, ba.recall))
    }

    @Test(arguments: seeds) func identicalMasksScorePerfectly(seed: UInt64) {
        let (a, _) = pair(seed)
        let s = SegmentationScores(prediction: a, truth: a)
        #expect(s.dice == 1 && s.smoothedDice == 1 && s.iou == 1 && s.precision == 1 && s.recall == 1)
        #expect(s.relativeVolumeDifference == 0 && s.specificity == 1)
        for d in [s.medpyHD, s.medpyHD95, s.medpyASSD, s.monaiHD, s.monaiHD95, s.surfaceDistanceHD, s.surfaceDistanceHD95] {
            #expect(d == 0)
        }
        #expect(s.normalizedSurfaceDice == 1)
    }

    @Test(arguments: seeds) func paddingChangesNothing(seed: UInt64) {
        let (a, b) = pair(seed)
        let plain = SegmentationScores(prediction: a, truth: b, tolerance: 2)
        let more = SegmentationScores(prediction: padded(a, by: 3), truth: padded(b, by: 3), tolerance: 2)
        for name in SegmentationScores.metricNames where name != "specificity" {
            #expect(close(plain.metrics[name]!, more.metrics[name]!, rtol: 1e-13), "\(name) is invariant to padding")
        }
    }

    @Test func distanceTransformAgreesWithBruteForce() {
        let mask = randomBlobs(MaskShape(9, 7, 6), spacing: SIMD3(0.5, 1.2, 3), count: 1, seed: 9)
        let features = mask.voxels.enumerated().map { $0.offset % 17 == 3 || ($0.element && $0.offset % 5 == 0) }
        let s = mask.shape, sp = mask.spacing
        let fast = EuclideanDistanceTransform.distances(toFeatures: features, shape: s, spacing: sp)
        let points = (0..<s.count).filter { features[$0] }.map { n in
            SIMD3(Double(n % s.x), Double((n / s.x) % s.y), Double(n / (s.x * s.y))) * sp
        }
        for n in 0..<s.count {
            let p = SIMD3(Double(n % s.x), Double((n / s.x) % s.y), Double(n / (s.x * s.y))) * sp
            let brute = points.map { (($0 - p) * ($0 - p)).sum().squareRoot() }.min()!
            #expect(close(fast[n], brute, rtol: 1e-14))
        }
        let queries = Array(stride(from: 0, to: s.count, by: 3))
        let squared = EuclideanDistanceTransform.squaredDistances(toFeatures: features, shape: s, spacing: sp)
        #expect(EuclideanDistanceTransform.squaredDistances(toFeatures: features, shape: s, spacing: sp, at: queries)
                == queries.map { squared[$0] })
        // A query far from the only feature outgrows the local search and takes the full passes.
        let far = MaskShape(300, 2, 20)
        var farFeatures = [Bool](repeating: false, count: far.count)
        farFeatures[far.index(0, 0, 0)] = true
        let farSpacing = SIMD3(0.42, 0.42, 0.1)
        let farField = EuclideanDistanceTransform.squaredDistances(toFeatures: farFeatures, shape: far, spacing: farSpacing)
        let farQueries = [far.index(299, 1, 19), far.index(3, 1, 2), far.index(150, 0, 10)]
        #expect(EuclideanDistanceTransform.squaredDistances(toFeatures: farFeatures, shape: far, spacing: farSpacing,
                                                            at: farQueries) == farQueries.map { farField[$0] })
        // Every voxel a query: the budget shrinks to its floor and most queries fall back.
        #expect(EuclideanDistanceTransform.searchBudget(voxels: far.count, queries: far.count) == 64)
        #expect(EuclideanDistanceTransform.searchBudget(voxels: far.count, queries: 3) == 4096)
        let everyVoxel = Array(0..<far.count)
        #expect(EuclideanDistanceTransform.squaredDistances(toFeatures: farFeatures, shape: far, spacing: farSpacing,
                                                            at: everyVoxel) == farField)
        // A deep grid takes the full z pass.
        let deep = MaskShape(3, 2, 70)
        let deepFeatures = (0..<deep.count).map { $0 % 37 == 5 }
        let deepField = EuclideanDistanceTransform.squaredDistances(toFeatures: deepFeatures, shape: deep, spacing: sp)
        #expect(EuclideanDistanceTransform.squaredDistances(toFeatures: deepFeatures, shape: deep, spacing: sp,
                                                            at: [0, 100, 419]) == [deepField[0], deepField[100], deepField[419]])
        #expect(EuclideanDistanceTransform.distances(toFeatures: [Bool](repeating: false, count: 8), shape: MaskShape(2, 2, 2),
                                                     spacing: SIMD3(1, 1, 1)).allSatisfy { $0 == .infinity })
    }
}

/// Cases whose distances are known exactly.
@Suite struct AnalyticTests {
    /// A box shifted by `d` voxels along one axis: every convention's Hausdorff distance is
    /// `d` times that axis' spacing (the leading face is `d` away from its copy, nothing is
    /// farther).
    @Test(arguments: [0, 1, 2]) func shiftedCube(axis: Int) {
        let shape = MaskShape(14, 13, 12)
        let spacing = SIMD3(0.42, 0.9, 5.0)
        let d = 3
        var a = [Bool](repeating: false, count: shape.count), b = a
        for k in 2..<7 { for j in 3..<8 { for i in 2..<7 {
            a[shape.index(i, j, k)] = true
            var q = SIMD3(i, j, k)
            q[axis] += d
            b[shape.index(q.x, q.y, q.z)] = true
        } } }
        let pred = BinaryMask(shape: shape, spacing: spacing, voxels: b)
        let truth = BinaryMask(shape: shape, spacing: spacing, voxels: a)
        let expected = Double(d) * spacing[axis]
        let s = SegmentationScores(prediction: pred, truth: truth)
        #expect(close(s.medpyHD, expected))
        #expect(close(s.monaiHD, expected, rtol: 1e-7))   // MONAI's float32
        #expect(close(s.surfaceDistanceHD, expected))
        #expect(close(MedPy.hd(pred, truth), expected))
        // 5 x 5 x 5 boxes overlapping in 5 x 5 x 2 voxels.
        #expect(close(s.dice, 2.0 * 50 / 250))
        #expect(close(s.predictionVolumeML, 125 * spacing.x * spacing.y * spacing.z / 1000))
    }

    /// A ball of radius 5 voxels (centres within 5) against its centre voxel, 0.8 mm
    /// isotropic: the farthest voxel is (5, 0, 0) from the centre, so the Hausdorff distance
    /// is 5 x 0.8 = 4 mm in every convention (for surfels, corner to matching corner).
    @Test func ballAndCentre() {
        let shape = MaskShape(13, 13, 13)
        var ball = [Bool](repeating: false, count: shape.count), centre = ball
        for k in 0..<13 { for j in 0..<13 { for i in 0..<13 {
            ball[shape.index(i, j, k)] = (i - 6) * (i - 6) + (j - 6) * (j - 6) + (k - 6) * (k - 6) <= 25
        } } }
        centre[shape.index(6, 6, 6)] = true
        let sp = SIMD3(0.8, 0.8, 0.8)
        let s = SegmentationScores(prediction: BinaryMask(shape: shape, spacing: sp, voxels: centre),
                                   truth: BinaryMask(shape: shape, spacing: sp, voxels: ball))
        #expect(close(s.medpyHD, 4) && close(s.monaiHD, 4) && close(s.surfaceDistanceHD, 4))
    }

    /// Two spheres: a digital ball of radius 4 voxels and its copy shifted by `d` voxels along
    /// x. Every border voxel (and surfel) of one has its copy `d` away on the other, and the
    /// copy's foremost voxel is `d` ahead of every voxel of the original, so the Hausdorff
    /// distance is exactly `d sx` in all three conventions, whatever the other spacings.
    @Test(arguments: [1, 2, 5]) func shiftedSpheres(d: Int) {
        let shape = MaskShape(22, 12, 12)
        let sp = SIMD3(0.42, 0.9, 5.0)
        var a = [Bool](repeating: false, count: shape.count), b = a
        for k in 0..<12 { for j in 0..<12 { for i in 0..<12 {
            let inside = (i - 5) * (i - 5) + (j - 5) * (j - 5) + (k - 5) * (k - 5) <= 16
            a[shape.index(i, j, k)] = inside
            b[shape.index(i + d, j, k)] = inside
        } } }
        let s = SegmentationScores(prediction: BinaryMask(shape: shape, spacing: sp, voxels: b),
                                   truth: BinaryMask(shape: shape, spacing: sp, voxels: a))
        let expected = Double(d) * sp.x
        #expect(close(s.medpyHD, expected) && close(s.surfaceDistanceHD, expected))
        #expect(close(s.monaiHD, expected, rtol: 1e-7))
    }

    /// Two spheres, concentric, radii 6 and 3 voxels, 1 mm: every border voxel of the small one
    /// is within [2.x, 3.x] of the large one's border, so the Hausdorff distances sit near 3
    /// and the directed distance from the inner sphere to the outer is below the outer's.
    @Test func concentricSpheres() {
        let shape = MaskShape(17, 17, 17)
        var outer = [Bool](repeating: false, count: shape.count), inner = outer
        for k in 0..<17 { for j in 0..<17 { for i in 0..<17 {
            let r2 = (i - 8) * (i - 8) + (j - 8) * (j - 8) + (k - 8) * (k - 8)
            outer[shape.index(i, j, k)] = r2 <= 36
            inner[shape.index(i, j, k)] = r2 <= 9
        } } }
        let o = BinaryMask(shape: shape, voxels: outer), n = BinaryMask(shape: shape, voxels: inner)
        let hd = MedPy.hd(n, o)
        #expect(hd >= 2.9 && hd <= 3.8)
        #expect(MONAI.computeHausdorffDistance(prediction: n, truth: o, directed: true) <= hd)
        #expect(SurfaceDistance.computeSurfaceDiceAtTolerance(
            SurfaceDistance.computeSurfaceDistances(truth: o, prediction: n), toleranceMM: 4) == 1)
        #expect(SurfaceDistance.computeSurfaceDiceAtTolerance(
            SurfaceDistance.computeSurfaceDistances(truth: o, prediction: n), toleranceMM: 1) == 0)
    }
}
