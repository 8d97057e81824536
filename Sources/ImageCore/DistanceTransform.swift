/// The exact Euclidean distance transform's building block and its 2-D use, shared by
/// `Metrics.EuclideanDistanceTransform` (3-D, parallel, the surface metrics) and CTVolume's
/// binary-image morphology (2-D, the intracranial mask).
///
/// Algorithm: Felzenszwalb & Huttenlocher, "Distance Transforms of Sampled Functions"
/// (Theory of Computing, 2012): a 1-D lower envelope of parabolas along each axis in turn.
package enum DistanceTransform {
    /// Felzenszwalb–Huttenlocher on one line: `d(p) = min_q ((p - q) s)² + f(q)` over the
    /// finite `f(q)`. In index units the parabola of q is `(p - q)² + g(q)` with
    /// `g(q) = f(q) / s²`, so two parabolas q > r cross at `(h(q) - h(r)) / (2(q - r))` with
    /// `h(q) = g(q) + q²` (kept in `h`); a parabola is popped by a multiplication, and the
    /// division happens once per kept parabola. Outputs use the untouched `f`, so values are
    /// `(p - q)² s² + f(q)` exactly as the definition rounds them.
    ///
    /// `write(p, d(p))` is called once for each `p` in `0 ..< n`, in order; `f` is read only,
    /// `h`, `v` and `z` are scratch. Infinite and NaN `f(q)` are not sources.
    /// - Precondition: at least one of `f[0 ..< n]` is finite; `f`, `h` and `v` hold `n`
    ///   elements, `z` holds `n + 1`.
    @inlinable
    package static func lowerEnvelope(f: UnsafeMutableBufferPointer<Double>, h: UnsafeMutableBufferPointer<Double>,
                                      v: UnsafeMutableBufferPointer<Int>,
                                      z: UnsafeMutableBufferPointer<Double>, n: Int, spacing s: Double,
                                      write: (Int, Double) -> Void) {
        let inverse = 1 / (s * s)
        var k = -1
        for q in 0..<n {
            let fq = f[q]
            guard fq.isFinite else { continue }
            let dq = Double(q)
            let hq = fq * inverse + dq * dq
            h[q] = hq
            if k < 0 {
                k = 0
                v[0] = q
                z[0] = -.infinity
                z[1] = .infinity
                continue
            }
            // Pop while the new parabola is below the top one at the top's left boundary:
            // x(q, r) <= z[k]  <=>  h(q) - h(r) <= 2 (q - r) z[k]   (q > r).
            while k > 0 {
                let r = v[k]
                if hq - h[r] <= 2 * (dq - Double(r)) * z[k] { k -= 1 } else { break }
            }
            let r = v[k]
            let x = (hq - h[r]) / (2 * (dq - Double(r)))
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

    /// Squared Euclidean distance (in the units of the spacing) from every pixel of a
    /// row-major `height x width` image to the nearest `true` pixel, 0 on `true` pixels;
    /// `.infinity` everywhere when the image has none, and an empty result for an empty
    /// image. Rows (along x, `spacingX` apart) first, by two sweeps on the binary image, then
    /// columns (along y) by the lower envelope.
    /// - Precondition: `pixels.count == width * height`.
    package static func squaredDistances2D(_ pixels: [Bool], width: Int, height: Int,
                                           spacingX: Double, spacingY: Double) -> [Double] {
        var d = pixels.map { $0 ? 0.0 : Double.infinity }
        let n = max(width, height)
        guard n > 0 else { return d }
        var f = [Double](repeating: 0, count: n), h = [Double](repeating: 0, count: n)
        var v = [Int](repeating: 0, count: n), z = [Double](repeating: 0, count: n + 1)
        d.withUnsafeMutableBufferPointer { d in
            f.withUnsafeMutableBufferPointer { f in
                h.withUnsafeMutableBufferPointer { h in
                    v.withUnsafeMutableBufferPointer { v in
                        z.withUnsafeMutableBufferPointer { z in
                            func pass(lines: Int, count: Int, start: (Int) -> Int, stride: Int, spacing: Double) {
                                for line in 0..<lines {
                                    let s = start(line)
                                    var anyFinite = false
                                    for q in 0..<count {
                                        f[q] = d[s + q * stride]
                                        if f[q].isFinite { anyFinite = true }
                                    }
                                    guard anyFinite else { continue }
                                    lowerEnvelope(f: f, h: h, v: v, z: z, n: count, spacing: spacing) { p, value in
                                        d[s + p * stride] = value
                                    }
                                }
                            }
                            rowSweeps(pixels, width: width, height: height, spacingX: spacingX, into: d)
                            pass(lines: width, count: height, start: { $0 }, stride: width, spacing: spacingY)
                        }
                    }
                }
            }
        }
        return d
    }

    /// Along rows the input is binary: each pixel's squared distance to the nearest true pixel
    /// of its row, by a sweep each way (the values the lower envelope gives on 0 and +inf);
    /// rows without a true pixel are left as they are.
    @usableFromInline
    static func rowSweeps(_ pixels: [Bool], width: Int, height: Int, spacingX: Double, into d: UnsafeMutableBufferPointer<Double>) {
        pixels.withUnsafeBufferPointer { b in
            for row in 0..<height {
                let s = row * width
                var last = -1
                for i in 0..<width {
                    if b[s + i] { last = i }
                    if last >= 0 {
                        let e = Double(i - last) * spacingX
                        d[s + i] = e * e
                    }
                }
                guard last >= 0 else { continue }
                last = -1
                for i in stride(from: width - 1, through: 0, by: -1) {
                    if b[s + i] { last = i }
                    if last >= 0 {
                        let e = Double(last - i) * spacingX
                        if e * e < d[s + i] { d[s + i] = e * e }
                    }
                }
            }
        }
    }

    /// Whether each pixel of a row-major `height x width` image lies within squared distance
    /// `limit` of a `true` pixel: `squaredDistances2D(...)[p] <= limit`, the test of a dilation
    /// or erosion by a disk, without the exact transform of the far pixels.
    ///
    /// The rows are swept as in ``squaredDistances2D(_:width:height:spacingX:spacingY:)``; each
    /// output row then takes, eight columns at a time, the minimum of `(j·sy)² + row value`
    /// over the rows `j` away with `(j·sy)² <= limit` (no farther row can pass). That is the
    /// definition's minimum over the same rounded terms the envelope writes, so the answer is
    /// the transform's except where a distance lies within the last bit of `limit` (the
    /// envelope may pick the other of two nearly equal terms; callers add a margin to
    /// `limit` far above that). O(width · height · rows within reach): the intracranial mask's
    /// closings and erosions (a few mm to 15 mm) at a fraction of the envelope's time.
    /// - Precondition: `pixels.count == width * height`; `limit` finite.
    package static func withinSquaredDistance2D(_ pixels: [Bool], width: Int, height: Int,
                                                spacingX: Double, spacingY: Double, limit: Double) -> [Bool] {
        guard width > 0, height > 0, limit >= 0 else { return pixels.map { $0 && limit >= 0 } }
        var d = pixels.map { $0 ? 0.0 : Double.infinity }
        d.withUnsafeMutableBufferPointer { rowSweeps(pixels, width: width, height: height, spacingX: spacingX, into: $0) }
        // rows within reach: every j with (j·sy)² <= limit, computed as the terms are
        var reach = 0
        while reach + 1 < height {
            let e = Double(reach + 1) * spacingY
            guard e * e <= limit else { break }
            reach += 1
        }
        let offsets = (0...reach).map { j -> Double in let e = Double(j) * spacingY; return e * e }
        var out = [Bool](repeating: false, count: width * height)
        var acc = [Double](repeating: 0, count: width)
        d.withUnsafeBufferPointer { d in
            acc.withUnsafeMutableBufferPointer { acc in
                out.withUnsafeMutableBufferPointer { out in
                    let a = UnsafeMutableRawPointer(acc.baseAddress!)
                    let vectorEnd = width & ~7
                    for row in 0..<height {
                        for x in 0..<width { acc[x] = .infinity }
                        for q in max(0, row - reach)...min(height - 1, row + reach) {
                            let c = offsets[abs(row - q)]
                            let src = UnsafeRawPointer(d.baseAddress! + q * width)
                            var x = 0
                            while x < vectorEnd {
                                let v = src.loadUnaligned(fromByteOffset: x &* 8, as: SIMD8<Double>.self) + SIMD8(repeating: c)
                                let m = a.loadUnaligned(fromByteOffset: x &* 8, as: SIMD8<Double>.self)
                                // a compare and a blend (pointwiseMin compiles to a branch per lane)
                                a.storeBytes(of: m.replacing(with: v, where: v .< m), toByteOffset: x &* 8, as: SIMD8<Double>.self)
                                x &+= 8
                            }
                            while x < width {
                                let v = d[q * width + x] + c
                                if v < acc[x] { acc[x] = v }
                                x &+= 1
                            }
                        }
                        let o = row * width
                        for x in 0..<width { out[o + x] = acc[x] <= limit }
                    }
                }
            }
        }
        return out
    }
}
