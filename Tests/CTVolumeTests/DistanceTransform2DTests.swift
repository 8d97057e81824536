import Foundation
import ImageCore
import Testing

/// The 2-D exact distance transform of the intracranial mask's morphology: against brute
/// force, and its row sweeps against the lower envelope they replaced.
@Suite struct DistanceTransform2DTests {
    /// A seeded binary image: sparse true pixels, some rows empty.
    static func image(width: Int, height: Int, seed: UInt64) -> [Bool] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
        return (0..<(width * height)).map { p in (p / width) % 4 != 1 && next() % 23 == 0 }
    }

    /// Rows by the Felzenszwalb–Huttenlocher envelope on 0 / +inf, then columns the same way.
    static func envelopeBoth(_ pixels: [Bool], width: Int, height: Int, sx: Double, sy: Double) -> [Double] {
        var d = pixels.map { $0 ? 0.0 : Double.infinity }
        let n = max(width, height)
        var f = [Double](repeating: 0, count: n), h = f, z = [Double](repeating: 0, count: n + 1)
        var v = [Int](repeating: 0, count: n)
        f.withUnsafeMutableBufferPointer { f in h.withUnsafeMutableBufferPointer { h in
            v.withUnsafeMutableBufferPointer { v in z.withUnsafeMutableBufferPointer { z in
                for (lines, count, stride, spacing, start) in [(height, width, 1, sx, { (l: Int) in l * width }),
                                                                (width, height, width, sy, { (l: Int) in l })] {
                    for line in 0..<lines {
                        let s = start(line)
                        for q in 0..<count { f[q] = d[s + q * stride] }
                        guard (0..<count).contains(where: { f[$0].isFinite }) else { continue }
                        DistanceTransform.lowerEnvelope(f: f, h: h, v: v, z: z, n: count, spacing: spacing) { p, value in
                            d[s + p * stride] = value
                        }
                    }
                }
            } }
        } }
        return d
    }

    @Test(arguments: [(17, 9, 0.43, 0.51), (64, 40, 0.5, 0.5), (5, 31, 1.0, 0.37), (1, 12, 0.7, 0.9)])
    func agreesWithBruteForceAndWithTheEnvelopeOnRows(width: Int, height: Int, sx: Double, sy: Double) {
        for seed in UInt64(1)...4 {
            let pixels = Self.image(width: width, height: height, seed: seed)
            let fast = DistanceTransform.squaredDistances2D(pixels, width: width, height: height, spacingX: sx, spacingY: sy)
            #expect(fast == Self.envelopeBoth(pixels, width: width, height: height, sx: sx, sy: sy))
            let features = pixels.indices.filter { pixels[$0] }
            for p in pixels.indices {
                let (i, j) = (p % width, p / width)
                let brute = features.map { q -> Double in
                    let dx = Double(q % width - i) * sx, dy = Double(q / width - j) * sy
                    return dy * dy + dx * dx
                }.min() ?? .infinity
                #expect(brute.isInfinite ? fast[p].isInfinite : abs(fast[p] - brute) <= 1e-12 * max(1, brute))
            }
        }
    }

    /// The bounded test of the morphology equals thresholding the full transform, for radii
    /// on the lattice's own distances (with the morphology's 1e-9 margin), between them, of
    /// none and of more than the image; and a mutation of its reach (one row short) fails.
    @Test(arguments: [(17, 9, 0.43, 0.51), (64, 40, 0.5, 0.5), (5, 31, 1.0, 0.37), (1, 12, 0.7, 0.9), (23, 1, 0.8, 0.6)])
    func boundedTestEqualsThresholdedTransform(width: Int, height: Int, sx: Double, sy: Double) {
        for seed in UInt64(1)...4 {
            let pixels = Self.image(width: width, height: height, seed: seed)
            let full = DistanceTransform.squaredDistances2D(pixels, width: width, height: height, spacingX: sx, spacingY: sy)
            let lattice = Set(full.filter(\.isFinite)).sorted().prefix(12)
            for limit in [0, 1e-9, 0.3, 2.0, 7.5, 1e6] + lattice.map({ $0 + 1e-9 }) + lattice.map({ $0 * 0.999 }) {
                let fast = DistanceTransform.withinSquaredDistance2D(pixels, width: width, height: height,
                                                                     spacingX: sx, spacingY: sy, limit: limit)
                #expect(fast == full.map { $0 <= limit }, "seed \(seed), limit \(limit)")
            }
        }
        // a true pixel alone: the disk it reaches is the lattice's, rows above and below included
        var one = [Bool](repeating: false, count: 9 * 9)
        one[4 * 9 + 4] = true
        let disk = DistanceTransform.withinSquaredDistance2D(one, width: 9, height: 9, spacingX: 1, spacingY: 1, limit: 9 + 1e-9)
        #expect(disk.filter { $0 }.count == 29)   // points of Z² with x² + y² <= 9
        #expect(disk[1 * 9 + 4] && disk[7 * 9 + 4] && !disk[0 * 9 + 4])
        #expect(DistanceTransform.withinSquaredDistance2D([], width: 0, height: 0, spacingX: 1, spacingY: 1, limit: 4).isEmpty)
    }

    @Test func anEmptyImageIsInfiniteAndAFullOneZero() {
        let none = DistanceTransform.squaredDistances2D([Bool](repeating: false, count: 12), width: 4, height: 3, spacingX: 1, spacingY: 1)
        let all = DistanceTransform.squaredDistances2D([Bool](repeating: true, count: 12), width: 4, height: 3, spacingX: 1, spacingY: 1)
        #expect(none.count == 12 && none.allSatisfy { $0.isInfinite })
        #expect(all.count == 12 && all.allSatisfy { $0 == 0 })
        #expect(DistanceTransform.squaredDistances2D([], width: 0, height: 0, spacingX: 1, spacingY: 1).isEmpty)
        // one pixel: the distance is the spacing-weighted offset, exactly
        var one = [Bool](repeating: false, count: 20)
        one[7] = true   // (2, 1) in a 5 x 4 image
        let d = DistanceTransform.squaredDistances2D(one, width: 5, height: 4, spacingX: 0.5, spacingY: 2)
        #expect(d[0] == 2 * 2 + 1 * 1 && d[19] == 2 * 2 * 4 + 0.25 * 4 && d[7] == 0)
    }
}
