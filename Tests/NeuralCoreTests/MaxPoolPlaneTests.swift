import Foundation
@testable import NeuralCore
import Testing

/// The vector path of max pooling against the definition it replaced, window by window: the
/// same values and the same argmax (the first maximum in row-major window order) on planes
/// with many ties, −∞ and NaN, for the networks' pools (3/2/1, 2/2/0) and others.
@Suite struct MaxPoolPlaneTests {
    /// A seeded plane of few distinct values (ties in most windows), with a share of −∞ and,
    /// when asked, NaN.
    static func plane(count: Int, seed: UInt64, nans: Bool) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
        return (0..<count).map { _ in
            let r = next() % 100
            if nans && r == 0 { return .nan }
            if r < 4 { return -.infinity }
            return Float(Int(r % 5) - 2)
        }
    }

    @Test(arguments: [(3, 2, 1), (2, 2, 0), (3, 1, 1), (2, 1, 0), (3, 2, 0), (5, 2, 2), (3, 3, 1)])
    func vectorPathEqualsTheDefinition(k: Int, s: Int, pad: Int) {
        for (h, w) in [(64, 64), (7, 29), (33, 40), (5, 17), (12, 8)] {
            let g = WindowGeometry(height: h, width: w, kernelH: k, kernelW: k, stride: s, padding: pad)
            guard g.outH > 0, g.outW > 0 else { continue }
            for seed in UInt64(1)...3 {
                let x = Self.plane(count: h * w, seed: seed, nans: seed == 3)
                var fast = [Float](repeating: 7, count: g.outH * g.outW), slow = fast
                var fastArg = [Int32](repeating: -1, count: fast.count), slowArg = fastArg
                x.withUnsafeBufferPointer { p in
                    MaxPoolPlane.forward(p.baseAddress!, g, &fast, &fastArg)
                    for oy in 0..<g.outH { MaxPoolPlane.scalar(p.baseAddress!, g, &slow, &slowArg, oy: oy, ox0: 0, ox1: g.outW) }
                }
                #expect(fastArg == slowArg, "k \(k) s \(s) p \(pad), \(h)x\(w), seed \(seed)")
                #expect(zip(fast, slow).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) },
                        "k \(k) s \(s) p \(pad), \(h)x\(w), seed \(seed)")
                // the argmax holds the value
                #expect(zip(fast, fastArg).allSatisfy { v, i in v.isNaN ? x[Int(i)].isNaN : x[Int(i)] == v })
            }
        }
    }
}
