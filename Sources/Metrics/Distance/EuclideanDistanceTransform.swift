import Foundation
import ImageCore

/// The exact Euclidean distance transform of a 3-D binary image with anisotropic spacing.
///
/// For every voxel p, the distance in mm to the nearest *feature* voxel q:
/// `d(p) = min_q sqrt(((p - q) * spacing)²)`, or `+inf` when there is no feature at all.
/// (`scipy.ndimage.distance_transform_edt(~features, sampling=spacing)` computes the same
/// field, with the opposite convention for which voxels are the features.)
///
/// Algorithm: Felzenszwalb & Huttenlocher, "Distance Transforms of Sampled Functions"
/// (Theory of Computing 8, 2012): the squared distance is separable, so it is computed by one
/// 1-D pass per axis (y on the binary image by two sweeps, then x and z), each the lower
/// envelope of parabolas `(p - q)² s² + f(q)`. Every pass is
/// linear in its line length, so the transform is O(voxels); lines are spread over the cores
/// with `DispatchQueue.concurrentPerform`.
public enum EuclideanDistanceTransform {
    /// Squared distances (mm²) from every voxel to the nearest feature voxel, NIfTI order.
    /// - Parameters:
    ///   - features: `shape.count` flags; `true` marks a feature voxel (distance 0).
    ///   - shape: the grid size.
    ///   - spacing: voxel size along (x, y, z) in mm.
    /// - Returns: `shape.count` squared distances; all `+inf` when no voxel is a feature.
    /// Complexity: O(voxels) time, O(voxels) memory.
    public static func squaredDistances(toFeatures features: [Bool], shape: MaskShape,
                                        spacing: SIMD3<Double>) -> [Double] {
        precondition(features.count == shape.count, "EuclideanDistanceTransform: \(features.count) voxels for a \(shape) grid")
        precondition(spacing.x > 0 && spacing.y > 0 && spacing.z > 0, "EuclideanDistanceTransform: spacing must be > 0")
        var field = [Double](repeating: .infinity, count: shape.count)
        guard shape.count > 0 else { return field }
        features.withUnsafeBufferPointer { feat in
            field.withUnsafeMutableBufferPointer { out in
                let f = Shared(reading: feat.baseAddress!)
                let o = Shared(out.baseAddress!)
                firstPass(features: f, out: o, shape: shape, spacing: spacing.y)
                envelopePass(o, count: shape.x, stride: 1, lines: shape.y * shape.z,
                             lineStart: { $0 * shape.x }, spacing: spacing.x)
                envelopePass(o, count: shape.z, stride: shape.x * shape.y,
                             lines: shape.x * shape.y, lineStart: { $0 }, spacing: spacing.z)
            }
        }
        return field
    }

    /// Squared distances (mm²) to the nearest feature voxel at the voxels `queries` (linear
    /// indices) only: the same values as ``squaredDistances(toFeatures:shape:spacing:)`` at
    /// those indices.
    ///
    /// The binary pass along y runs on the whole grid; then each query searches the x-z plane
    /// around it outward, stopping once the offset alone exceeds the best value found. For a
    /// sparse set of surface voxels near the features that costs far less than the two full
    /// passes; a query whose search grows past a budget (far from every feature) falls back
    /// to the full pass along x and a search along z. The budget shrinks as the queries grow
    /// (``searchBudget(voxels:queries:)``), so the searches together cost at most a few passes.
    /// Grids deeper than 64 slices take the full transform. The values are those of the full
    /// transform, but for the last bit where two sources are almost equally near (the search
    /// takes the exact minimum; the envelope's rounded crossing points may pick the other).
    /// Complexity: O(voxels + queries * budget), budget = max(64, min(4096, 8 voxels / queries)).
    public static func squaredDistances(toFeatures features: [Bool], shape: MaskShape, spacing: SIMD3<Double>,
                                        at queries: [Int]) -> [Double] {
        precondition(features.count == shape.count, "EuclideanDistanceTransform: \(features.count) voxels for a \(shape) grid")
        guard shape.z <= 64 else {
            let field = squaredDistances(toFeatures: features, shape: shape, spacing: spacing)
            return queries.map { field[$0] }
        }
        var field = [Double](repeating: .infinity, count: shape.count)
        var out = [Double](repeating: .infinity, count: queries.count)
        guard shape.count > 0, !queries.isEmpty else { return out }
        var unresolved = [Bool](repeating: false, count: queries.count)
        let budget = searchBudget(voxels: shape.count, queries: queries.count)
        features.withUnsafeBufferPointer { feat in
            field.withUnsafeMutableBufferPointer { buffer in
                let f = Shared(reading: feat.baseAddress!)
                let o = Shared(buffer.baseAddress!)
                firstPass(features: f, out: o, shape: shape, spacing: spacing.y)
                queries.withUnsafeBufferPointer { q in
                    out.withUnsafeMutableBufferPointer { result in
                        unresolved.withUnsafeMutableBufferPointer { flags in
                            let qs = Shared(reading: q.baseAddress!)
                            let r = Shared(result.baseAddress!)
                            let u = Shared(flags.baseAddress!)
                            parallelChunks(q.count, minimumChunk: 256) { range in
                                for n in range {
                                    if let value = searchXZ(o, shape: shape, spacing: spacing, at: qs.value[n], budget: budget) {
                                        r.value[n] = value
                                    } else {
                                        u.value[n] = true
                                    }
                                }
                            }
                            guard flags.contains(true) else { return }
                            // Far queries: the full pass along x, then each column along z.
                            envelopePass(o, count: shape.x, stride: 1, lines: shape.y * shape.z,
                                         lineStart: { $0 * shape.x }, spacing: spacing.x)
                            parallelChunks(q.count, minimumChunk: 256) { range in
                                for n in range where u.value[n] {
                                    r.value[n] = searchZ(o, shape: shape, spacing: spacing.z, at: qs.value[n])
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// The evaluations one query may spend in ``searchXZ(_:shape:spacing:at:budget:)`` before it
    /// falls back to the full pass along x: 4096, but no more than 8 per voxel of the grid over
    /// all queries, so that many queries far from every feature (a prediction full of false
    /// positives in slices without truth) cost about what the full pass would, not 4096 each;
    /// at least 64. The values do not depend on it, only the time.
    package static func searchBudget(voxels: Int, queries: Int) -> Int {
        min(4096, max(64, 8 * voxels / max(1, queries)))
    }

    /// The squared distance at voxel `index` from the field after the y pass, by searching
    /// slices outward along z and, in each, voxels outward along x, stopping as soon as the
    /// offset alone exceeds the best value. The value is `dz² + (dx² + Y)`, associated as the
    /// separable passes associate it, so it is the one the full transform gives. Nil when the
    /// search grows past its budget (a query far from every feature).
    @inline(__always)
    private static func searchXZ(_ y: Shared<Double>, shape: MaskShape, spacing: SIMD3<Double>, at index: Int,
                                 budget: Int) -> Double? {
        let (nx, ny, nz) = (shape.x, shape.y, shape.z)
        let plane = nx * ny
        let k = index / plane
        let j = (index - k * plane) / nx
        let i = index - k * plane - j * nx
        var best = Double.infinity
        var evaluations = 0
        var step = 0
        while true {
            let dz = Double(step) * spacing.z
            let dzz = dz * dz
            if dzz > best { break }
            let lo = k - step, hi = k + step
            if lo < 0 && hi >= nz { break }
            for side in 0..<(step == 0 ? 1 : 2) {
                let kk = side == 0 ? lo : hi
                guard kk >= 0 && kk < nz else { continue }
                let row = (j + ny * kk) * nx
                var sx = 0
                while true {
                    let dx = Double(sx) * spacing.x
                    let dxx = dx * dx
                    if dzz + dxx > best { break }
                    let l = i - sx, h = i + sx
                    if l < 0 && h >= nx { break }
                    if l >= 0 {
                        let value = dzz + (dxx + y.value[row + l])
                        if value < best { best = value }
                    }
                    if sx > 0 && h < nx {
                        let value = dzz + (dxx + y.value[row + h])
                        if value < best { best = value }
                    }
                    sx += 1
                }
                evaluations += 2 * sx + 1
            }
            if evaluations > budget { return nil }
            step += 1
        }
        return best
    }

    /// The squared distance at voxel `index` from the field after the x and y passes: the
    /// minimum over its column, outward along z with the same early stop.
    @inline(__always)
    private static func searchZ(_ g: Shared<Double>, shape: MaskShape, spacing sz: Double, at index: Int) -> Double {
        let plane = shape.x * shape.y
        let k = index / plane
        let column = index - k * plane
        var best = g.value[column + k * plane]
        var step = 1
        while true {
            let d = Double(step) * sz
            let dd = d * d
            if dd > best { break }
            let below = k - step, above = k + step
            if below < 0 && above >= shape.z { break }
            if below >= 0 {
                let value = dd + g.value[column + below * plane]
                if value < best { best = value }
            }
            if above < shape.z {
                let value = dd + g.value[column + above * plane]
                if value < best { best = value }
            }
            step += 1
        }
        return best
    }

    /// Distances (mm) from every voxel to the nearest feature voxel: the square root of
    /// ``squaredDistances(toFeatures:shape:spacing:)``.
    public static func distances(toFeatures features: [Bool], shape: MaskShape,
                                 spacing: SIMD3<Double>) -> [Double] {
        var field = squaredDistances(toFeatures: features, shape: shape, spacing: spacing)
        field.withUnsafeMutableBufferPointer { b in
            for n in 0..<b.count { b[n] = b[n].squareRoot() }
        }
        return field
    }

    /// Distances (mm) from every foreground voxel of `mask` to the nearest background voxel
    /// (0 on the background): the usual "distance to the boundary" map of a mask, with the
    /// mask's spacing. Voxels outside the grid do not count as background.
    public static func distances(insideOf mask: BinaryMask) -> [Double] {
        distances(toFeatures: mask.voxels.map { !$0 }, shape: mask.shape, spacing: mask.spacing)
    }

    // MARK: - Passes

    /// Pass along y on the binary input: the nearest feature in each column of a slice, by a
    /// forward and a backward sweep over rows (contiguous, whole rows at a time).
    private static func firstPass(features: Shared<Bool>, out: Shared<Double>, shape: MaskShape, spacing: Double) {
        let (nx, ny) = (shape.x, shape.y)
        parallelChunks(shape.z, minimumChunk: 1) { slices in
            var last = [Int](repeating: -1, count: nx)
            for k in slices {
                let base = k * nx * ny
                // A slice without features stays +inf.
                guard anyNonZero(UnsafeRawPointer(features.value + base), nx * ny) else { continue }
                for i in 0..<nx { last[i] = -1 }
                for j in 0..<ny {
                    let row = base + j * nx
                    for i in 0..<nx {
                        if features.value[row + i] { last[i] = j }
                        if last[i] >= 0 {
                            let d = Double(j - last[i]) * spacing
                            out.value[row + i] = d * d
                        }
                    }
                }
                for i in 0..<nx { last[i] = -1 }
                for j in stride(from: ny - 1, through: 0, by: -1) {
                    let row = base + j * nx
                    for i in 0..<nx {
                        if features.value[row + i] { last[i] = j }
                        if last[i] >= 0 {
                            let d = Double(last[i] - j) * spacing
                            let dd = d * d
                            if dd < out.value[row + i] { out.value[row + i] = dd }
                        }
                    }
                }
            }
        }
    }

    /// One lower-envelope pass over `lines` lines of `count` values `stride` apart.
    private static func envelopePass(_ field: Shared<Double>, count n: Int, stride: Int, lines: Int,
                                     lineStart: @escaping @Sendable (Int) -> Int, spacing s: Double) {
        guard n > 1 else { return }
        parallelChunks(lines) { range in
            var f = [Double](repeating: 0, count: n)
            var h = [Double](repeating: 0, count: n)
            var v = [Int](repeating: 0, count: n)
            var z = [Double](repeating: 0, count: n + 1)
            f.withUnsafeMutableBufferPointer { f in
              h.withUnsafeMutableBufferPointer { h in
                v.withUnsafeMutableBufferPointer { v in
                    z.withUnsafeMutableBufferPointer { z in
                        for line in range {
                            let start = lineStart(line)
                            var anyFinite = false
                            for q in 0..<n {
                                let value = field.value[start + q * stride]
                                f[q] = value
                                if value.isFinite { anyFinite = true }
                            }
                            guard anyFinite else { continue }
                            DistanceTransform.lowerEnvelope(f: f, h: h, v: v, z: z, n: n, spacing: s) { q, value in
                                field.value[start + q * stride] = value
                            }
                        }
                    }
                }
              }
            }
        }
    }

}

/// A pointer shared by the workers of one parallel pass; each worker writes disjoint indices.
typealias Shared<T> = UncheckedSendable<UnsafeMutablePointer<T>>

/// Runs `body` over `0..<count` split into contiguous chunks spread over the cores.
func parallelChunks(_ count: Int, minimumChunk: Int = 64, _ body: @escaping @Sendable (Range<Int>) -> Void) {
    let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
    parallelRanges(count, pieces: max(1, min(cores * 4, count / minimumChunk)), body)
}
