import Foundation

/// The exact Euclidean distance transform of a 3-D binary image with anisotropic spacing.
///
/// For every voxel p, the distance in mm to the nearest *feature* voxel q:
/// `d(p) = min_q sqrt(((p - q) * spacing)²)`, or `+inf` when there is no feature at all.
/// (`scipy.ndimage.distance_transform_edt(~features, sampling=spacing)` computes the same
/// field, with the opposite convention for which voxels are the features.)
///
/// Algorithm: Felzenszwalb & Huttenlocher, "Distance Transforms of Sampled Functions"
/// (Theory of Computing 8, 2012): the squared distance is separable, so it is computed by one
/// 1-D pass per axis, each the lower envelope of parabolas `(p - q)² s² + f(q)`. Every pass is
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
                let f = Shared(feat.baseAddress!)
                let o = Shared(out.baseAddress!)
                firstPass(features: f, out: o, shape: shape, spacing: spacing.x)
                envelopePass(o, count: shape.y, stride: shape.x,
                             lines: shape.x * shape.z, lineStart: { line in
                                 (line % shape.x) + (line / shape.x) * shape.x * shape.y
                             }, spacing: spacing.y)
                envelopePass(o, count: shape.z, stride: shape.x * shape.y,
                             lines: shape.x * shape.y, lineStart: { $0 }, spacing: spacing.z)
            }
        }
        return field
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

    /// Pass along x on the binary input: the nearest feature on the row, by two sweeps.
    private static func firstPass(features: Shared<Bool>, out: Shared<Double>, shape: MaskShape, spacing: Double) {
        let n = shape.x
        let rows = shape.y * shape.z
        parallelChunks(rows) { range in
            for row in range {
                let base = row * n
                var last = -1
                for i in 0..<n {
                    if features.base[base + i] { last = i }
                    if last >= 0 {
                        let d = Double(i - last) * spacing
                        out.base[base + i] = d * d
                    }
                }
                last = -1
                for i in stride(from: n - 1, through: 0, by: -1) {
                    if features.base[base + i] { last = i }
                    if last >= 0 {
                        let d = Double(last - i) * spacing
                        let dd = d * d
                        if dd < out.base[base + i] { out.base[base + i] = dd }
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
            var v = [Int](repeating: 0, count: n)
            var z = [Double](repeating: 0, count: n + 1)
            f.withUnsafeMutableBufferPointer { f in
                v.withUnsafeMutableBufferPointer { v in
                    z.withUnsafeMutableBufferPointer { z in
                        for line in range {
                            let start = lineStart(line)
                            var anyFinite = false
                            for q in 0..<n {
                                let value = field.base[start + q * stride]
                                f[q] = value
                                if value.isFinite { anyFinite = true }
                            }
                            guard anyFinite else { continue }
                            lowerEnvelope(f: f, v: v, z: z, n: n, spacing: s) { q, value in
                                field.base[start + q * stride] = value
                            }
                        }
                    }
                }
            }
        }
    }

    /// Felzenszwalb–Huttenlocher on one line: `d(p) = min_q ((p - q) s)² + f(q)` over the
    /// finite `f(q)`. Intersections are kept in index units (divided by s²).
    @inline(__always)
    private static func lowerEnvelope(f: UnsafeMutableBufferPointer<Double>, v: UnsafeMutableBufferPointer<Int>,
                                      z: UnsafeMutableBufferPointer<Double>, n: Int, spacing s: Double,
                                      write: (Int, Double) -> Void) {
        let s2 = s * s
        var k = -1
        for q in 0..<n {
            let fq = f[q]
            guard fq.isFinite else { continue }
            if k < 0 {
                k = 0
                v[0] = q
                z[0] = -.infinity
                z[1] = .infinity
                continue
            }
            let dq = Double(q)
            var x: Double
            while true {
                let p = v[k]
                let dp = Double(p)
                x = ((fq - f[p]) / s2 + (dq * dq - dp * dp)) / (2 * (dq - dp))
                if x <= z[k] && k > 0 { k -= 1 } else { break }
            }
            if x <= z[k] {
                // k == 0 and the new parabola is below the first everywhere to its right of -inf.
                v[0] = q
                z[0] = -.infinity
                z[1] = .infinity
                continue
            }
            k += 1
            v[k] = q
            z[k] = x
            z[k + 1] = .infinity
        }
        var j = 0
        for p in 0..<n {
            let dp = Double(p)
            while z[j + 1] < dp { j += 1 }
            let q = v[j]
            let d = (dp - Double(q)) * s
            write(p, d * d + f[q])
        }
    }
}

/// A pointer shared by the workers of one parallel pass; each worker writes disjoint indices.
struct Shared<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T>
    init(_ base: UnsafeMutablePointer<T>) { self.base = base }
    init(_ base: UnsafePointer<T>) { self.base = UnsafeMutablePointer(mutating: base) }
}

/// Runs `body` over `0..<count` split into contiguous chunks spread over the cores.
func parallelChunks(_ count: Int, minimumChunk: Int = 64, _ body: @escaping @Sendable (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
    let chunks = max(1, min(cores * 4, count / minimumChunk))
    if chunks == 1 {
        body(0..<count)
        return
    }
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
        let lo = count * c / chunks
        let hi = count * (c + 1) / chunks
        body(lo..<hi)
    }
}
