import ImageCore

/// Greedy k-means++ over weighted points, as scikit-learn's `_kmeans_plusplus`.
///
/// - Parameters:
///   - x: row-major `n x d` points.
///   - weights: one weight per point (nil: all 1); a point of weight `w` counts as `w` points.
///   - trials: candidates per step (1: plain k-means++).
/// - Returns: the indices of the `k` chosen points (a point may repeat when fewer than `k`
///   distinct points exist, as in scikit-learn).
///
/// Complexity: O(n d k trials).
func kMeansPlusPlusIndices(
    _ x: UnsafeBufferPointer<Float>, n: Int, d: Int, weights: [Double]?, k: Int, trials: Int,
    using generator: inout some RandomNumberGenerator
) -> [Int] {
    func weight(_ i: Int) -> Double { weights?[i] ?? 1 }
    let chunk = 32_768, chunks = (n + chunk - 1) / chunk
    /// Writes `min(closest, ||x - x_c||^2)` for every point into `out` and returns its weighted
    /// sum (fixed chunks, summed in chunk order: the same result on any number of cores).
    func distances(to c: Int, capping closest: [Double]?, into out: inout [Double]) -> Double {
        var partial = [Double](repeating: 0, count: chunks)
        let center = (0..<d).map { Double(x[c * d + $0]) }
        let cap = closest ?? [], w = weights ?? []
        out.withUnsafeMutableBufferPointer { o in
            partial.withUnsafeMutableBufferPointer { part in
                cap.withUnsafeBufferPointer { cap in
                    w.withUnsafeBufferPointer { w in
                        parallelFor(chunks) { b in
                            var p = 0.0
                            for i in (b * chunk)..<Swift.min(n, (b + 1) * chunk) {
                                var s = 0.0
                                for f in 0..<d {
                                    let e = Double(x[i * d + f]) - center[f]
                                    s += e * e
                                }
                                if !cap.isEmpty, cap[i] < s { s = cap[i] }
                                o[i] = s
                                p += w.isEmpty ? s : w[i] * s
                            }
                            part[b] = p
                        }
                    }
                }
            }
        }
        return partial.reduce(0, +)
    }
    /// First index whose cumulative value is >= r (numpy `searchsorted`, side left), clipped.
    func searchSorted(_ cumulative: [Double], _ r: Double) -> Int {
        var lo = 0, hi = cumulative.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] < r { lo = mid + 1 } else { hi = mid }
        }
        return Swift.min(lo, cumulative.count - 1)
    }

    var chosen: [Int] = []
    chosen.reserveCapacity(k)
    // First centre: drawn with probability proportional to weight.
    if weights == nil {
        chosen.append(Int.random(in: 0..<n, using: &generator))
    } else {
        var cumulative = [Double](repeating: 0, count: n)
        var s = 0.0
        for i in 0..<n { s += weight(i); cumulative[i] = s }
        chosen.append(searchSorted(cumulative, Double.random(in: 0..<1, using: &generator) * s))
    }
    var closest = [Double](repeating: 0, count: n)
    var potential = distances(to: chosen[0], capping: nil, into: &closest)
    var candidate = [Double](repeating: 0, count: n), best = [Double](repeating: 0, count: n)

    var cumulative = [Double](repeating: 0, count: n)
    for _ in 1..<k {
        var s = 0.0
        for i in 0..<n { s += weight(i) * closest[i]; cumulative[i] = s }
        let candidates = (0..<trials).map { _ in
            searchSorted(cumulative, Double.random(in: 0..<1, using: &generator) * potential)
        }
        var bestPotential = Double.infinity
        var bestIndex = candidates[0]
        for c in candidates {
            let p = distances(to: c, capping: closest, into: &candidate)
            if p < bestPotential {   // strict: the first best candidate wins (numpy argmin)
                bestPotential = p
                bestIndex = c
                swap(&best, &candidate)
            }
        }
        chosen.append(bestIndex)
        swap(&closest, &best)
        potential = bestPotential
    }
    return chosen
}

/// `m` distinct indices in 0 ..< n drawn uniformly (Floyd's algorithm), ascending.
func sampleIndices(_ m: Int, of n: Int, using generator: inout some RandomNumberGenerator) -> [Int] {
    var picked = Set<Int>()
    picked.reserveCapacity(m)
    for j in (n - m)..<n {
        let t = Int.random(in: 0...j, using: &generator)
        if !picked.insert(t).inserted { picked.insert(j) }
    }
    return picked.sorted()
}
