/// Channel sums of BatchNorm: Float SIMD8 partial sums over blocks of 256 elements (32 terms
/// per lane), each block added to a Double total. The rounding error is that of 32-term Float
/// sums (about 2e-6 relative) instead of one Double add per element, whose serial dependency
/// chain made the statistics the slowest pass of BatchNorm.
enum BlockSums {
    static let block = 256

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// Σ p[i], i < n.
    static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
        var total = 0.0, i = 0
        while i + block <= n {
            var acc = SIMD8<Float>()
            for j in stride(from: i, to: i + block, by: 8) { acc += load(p, j) }
            total += Double(acc.sum())
            i += block
        }
        while i < n { total += Double(p[i]); i += 1 }
        return total
    }

    /// Σ (p[i] − mean)², the deviations taken in Float from the Float-rounded mean (its rounding
    /// changes the sum by n·δ², negligible).
    static func squaredDeviations(_ p: UnsafePointer<Float>, _ n: Int, from mean: Double) -> Double {
        let m = Float(mean), mv = SIMD8<Float>(repeating: m)
        var total = 0.0, i = 0
        while i + block <= n {
            var acc = SIMD8<Float>()
            for j in stride(from: i, to: i + block, by: 8) { let d = load(p, j) - mv; acc += d * d }
            total += Double(acc.sum())
            i += block
        }
        while i < n { let d = Double(p[i]) - mean; total += d * d; i += 1 }
        return total
    }

    /// (Σ g[i], Σ g[i] · (x[i] − mean) · invStd): dβ and dγ of one plane.
    static func gradientSums(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ n: Int, mean: Float, invStd: Float) -> (Double, Double) {
        let mv = SIMD8<Float>(repeating: mean), sv = SIMD8<Float>(repeating: invStd)
        var sg = 0.0, sgx = 0.0, i = 0
        while i + block <= n {
            var a = SIMD8<Float>(), b = SIMD8<Float>()
            for j in stride(from: i, to: i + block, by: 8) {
                let q = load(g, j)
                a += q
                b += q * ((load(x, j) - mv) * sv)
            }
            sg += Double(a.sum()); sgx += Double(b.sum())
            i += block
        }
        while i < n {
            sg += Double(g[i]); sgx += Double(g[i]) * Double((x[i] - mean) * invStd); i += 1
        }
        return (sg, sgx)
    }
}
