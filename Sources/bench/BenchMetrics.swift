import ArgumentParser
import Dispatch
import Metrics

/// `bench metrics`: every segmentation metric on a 512 x 512 x 40 pair at 0.42 x 0.42 x 5 mm,
/// the same pair `scripts/bench/metrics.py` builds (integer ellipsoid tests, so both sides
/// get identical voxels). Prints one JSON object: seconds (best of `--repeats`) and values.
struct BenchMetrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "All segmentation metrics on a 512x512x40 pair (compare with scripts/bench/metrics.py)."
    )

    @Option(help: "Timed repetitions (the best is reported).")
    var repeats = 5

    @Option(help: "NSD tolerance in mm.")
    var tolerance = 1.0

    @Flag(help: "Time only the all-metrics call (for profiling).")
    var onlyAll = false

    func run() throws {
        let (prediction, truth) = BenchPair.make()
        var best = (all: Double.infinity, hd95: Double.infinity, nsd: Double.infinity)
        var scores: SegmentationScores?
        var hd95 = 0.0, nsd = 0.0
        for _ in 0..<repeats {
            var t = DispatchTime.now()
            scores = SegmentationScores(prediction: prediction, truth: truth, tolerance: tolerance)
            best.all = min(best.all, Self.seconds(since: t))
            if onlyAll { continue }
            t = DispatchTime.now()
            hd95 = MedPy.hd95(prediction, truth)
            best.hd95 = min(best.hd95, Self.seconds(since: t))
            t = DispatchTime.now()
            nsd = SurfaceDistance.computeSurfaceDiceAtTolerance(
                SurfaceDistance.computeSurfaceDistances(truth: truth, prediction: prediction), toleranceMM: tolerance)
            best.nsd = min(best.nsd, Self.seconds(since: t))
        }
        let s = scores!
        print("""
        {"shape": [512, 512, 40], "spacing": [0.42, 0.42, 5.0], "voxels_pred": \(s.counts.predictedPositives), \
        "voxels_truth": \(s.counts.actualPositives), "all_metrics_s": \(best.all), "medpy_hd95_s": \(best.hd95), \
        "sd_nsd_s": \(best.nsd), "medpy_hd95": \(hd95), "sd_nsd": \(nsd), "dice": \(s.dice), \
        "medpy_hd": \(s.medpyHD), "medpy_assd": \(s.medpyASSD), "monai_hd95": \(s.monaiHD95), \
        "sd_hd": \(s.surfaceDistanceHD), "sd_hd95": \(s.surfaceDistanceHD95)}
        """)
    }

    static func seconds(since t: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - t.uptimeNanoseconds) / 1e9
    }
}

/// The benchmark pair: a truth of two ellipsoids and a prediction of a shifted, reshaped
/// ellipsoid plus a spurious small one. Integer arithmetic only, mirrored in metrics.py.
enum BenchPair {
    struct Ellipsoid { let c: SIMD3<Int>; let r: SIMD3<Int> }

    static func mask(_ ellipsoids: [Ellipsoid]) -> BinaryMask {
        let shape = MaskShape(512, 512, 40)
        var voxels = [Bool](repeating: false, count: shape.count)
        for e in ellipsoids {
            let (rx2, ry2, rz2) = (e.r.x * e.r.x, e.r.y * e.r.y, e.r.z * e.r.z)
            let bound = rx2 * ry2 * rz2
            for k in max(0, e.c.z - e.r.z)...min(shape.z - 1, e.c.z + e.r.z) {
                for j in max(0, e.c.y - e.r.y)...min(shape.y - 1, e.c.y + e.r.y) {
                    for i in max(0, e.c.x - e.r.x)...min(shape.x - 1, e.c.x + e.r.x) {
                        let (dx, dy, dz) = (i - e.c.x, j - e.c.y, k - e.c.z)
                        if dx * dx * ry2 * rz2 + dy * dy * rx2 * rz2 + dz * dz * rx2 * ry2 <= bound {
                            voxels[shape.index(i, j, k)] = true
                        }
                    }
                }
            }
        }
        return BinaryMask(shape: shape, spacing: SIMD3(0.42, 0.42, 5.0), voxels: voxels)
    }

    static func make() -> (prediction: BinaryMask, truth: BinaryMask) {
        let truth = mask([Ellipsoid(c: SIMD3(230, 260, 20), r: SIMD3(70, 50, 9)),
                          Ellipsoid(c: SIMD3(330, 200, 24), r: SIMD3(30, 40, 6))])
        let prediction = mask([Ellipsoid(c: SIMD3(236, 255, 21), r: SIMD3(66, 55, 8)),
                               Ellipsoid(c: SIMD3(325, 205, 23), r: SIMD3(34, 36, 6)),
                               Ellipsoid(c: SIMD3(150, 330, 12), r: SIMD3(8, 6, 2))])
        return (prediction, truth)
    }
}
