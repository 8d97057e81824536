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
                            // Along rows the input is binary: the nearest true pixel of the row, by a
                            // sweep each way (the same values the envelope gives on 0 and +inf).
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
                            pass(lines: width, count: height, start: { $0 }, stride: width, spacing: spacingY)
                        }
                    }
                }
            }
        }
        return d
    }
}
