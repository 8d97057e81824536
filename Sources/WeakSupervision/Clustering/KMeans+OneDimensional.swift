import Dispatch
import ImageCore

/// The exact one-feature path of ``KMeans``: the values sorted once and grouped, so that a
/// cluster is an interval of the sorted distinct values and each Lloyd step costs O(k log m)
/// through prefix sums (m distinct values). Results equal the point-by-point algorithm (up to
/// the order of floating-point sums); k-means++ draws over the distinct values weighted by
/// their counts, the same distribution as over the points.
struct SortedLine {
    /// The points as given.
    let original: [Float]
    /// Distinct values, ascending.
    let values: [Float]
    /// How many points hold each distinct value.
    let counts: [Double]
    /// `prefixCount[i] = sum counts[0..<i]`, `prefixSum[i] = sum counts * values over 0..<i`.
    let prefixCount: [Double]
    let prefixSum: [Double]

    init(_ x: [Float]) {
        original = x
        let sorted = sortedFloats(x)
        var v: [Float] = [], c: [Double] = []
        for s in sorted {
            if let last = v.last, last == s { c[c.count - 1] += 1 } else { v.append(s); c.append(1) }
        }
        values = v
        counts = c
        var pc = [Double](repeating: 0, count: v.count + 1), ps = pc
        for i in 0..<v.count {
            pc[i + 1] = pc[i] + c[i]
            ps[i + 1] = ps[i] + c[i] * Double(v[i])
        }
        prefixCount = pc
        prefixSum = ps
    }

    /// A cluster's share of the sorted distinct values: indices `lo ..< hi`, non-empty.
    struct Interval: Equatable {
        var cluster: Int
        var lo: Int
        var hi: Int
    }

    func fit(_ km: KMeans, using generator: inout some RandomNumberGenerator) throws -> KMeansResult {
        let total = prefixCount[values.count]
        let mean = prefixSum[values.count] / total
        var variance = 0.0
        for i in 0..<values.count {
            let e = Double(values[i]) - mean
            variance += counts[i] * e * e
        }
        let tol = km.tolerance * variance / total
        var best: (centers: [Double], intervals: [Interval], inertia: Double, iterations: Int, converged: Bool)?
        for _ in 0..<km.runs {
            let start: [Double]
            if case .centroids(let c) = km.initialization {
                start = c.map { $0[0] }
            } else {
                let idx = values.withUnsafeBufferPointer {
                    kMeansPlusPlusIndices($0, n: values.count, d: 1, weights: counts, k: km.k,
                                          trials: km.localTrials, using: &generator)
                }
                start = idx.map { Double(values[$0]) }
            }
            let r = lloyd(km, start: start, tol: tol)
            if best == nil || r.inertia < best!.inertia { best = r }
        }
        let b = best!
        return KMeansResult(
            centroids: b.centers.map { [$0] }, labels: labels(b.intervals), inertia: b.inertia,
            iterations: b.iterations, converged: b.converged)
    }

    private func lloyd(_ km: KMeans, start: [Double], tol: Double)
        -> (centers: [Double], intervals: [Interval], inertia: Double, iterations: Int, converged: Bool)
    {
        var centers = start
        var previous: [Interval]? = nil
        var intervals: [Interval] = []
        var strict = false, converged = false
        var iterations = 0
        for it in 0..<km.maxIterations {
            iterations = it + 1
            intervals = assign(centers)
            var sums = [Double](repeating: 0, count: km.k), weights = sums
            for iv in intervals {
                weights[iv.cluster] = prefixCount[iv.hi] - prefixCount[iv.lo]
                sums[iv.cluster] = prefixSum[iv.hi] - prefixSum[iv.lo]
            }
            relocateEmpty(centers: centers, intervals: intervals, sums: &sums, weights: &weights)
            var shift = 0.0
            for j in 0..<km.k {
                let c = weights[j] > 0 ? sums[j] / weights[j] : centers[j]
                shift += (c - centers[j]) * (c - centers[j])
                centers[j] = c
            }
            if intervals == previous { strict = true; converged = true; break }
            if shift <= tol { converged = true; break }
            previous = intervals
        }
        if !strict { intervals = assign(centers) }
        var inertia = 0.0
        for iv in intervals {
            let c = centers[iv.cluster]
            for i in iv.lo..<iv.hi {
                let e = Double(values[i]) - c
                inertia += counts[i] * e * e
            }
        }
        return (centers, intervals, inertia, iterations, converged)
    }

    /// Nearest-centre intervals over the sorted distinct values: each distinct centre value owns
    /// the values closer to it than to its neighbours; on an exact tie the lower cluster index
    /// wins; among equal centres the lowest index takes all and the others stay empty.
    private func assign(_ centers: [Double]) -> [Interval] {
        let order = centers.indices.sorted { (centers[$0], $0) < (centers[$1], $1) }
        var reps: [Int] = []
        for j in order where reps.last.map({ centers[$0] != centers[j] }) ?? true { reps.append(j) }
        let m = values.count
        var lo = 0
        var out: [Interval] = []
        for r in 0..<reps.count {
            var hi = m
            if r + 1 < reps.count {
                let lower = reps[r], upper = reps[r + 1]
                let cl = centers[lower], cu = centers[upper]
                // First value at which `upper` is preferred to `lower` (monotone in the value).
                var a = lo, b = m
                while a < b {
                    let mid = (a + b) / 2
                    let x = Double(values[mid])
                    let du = (x - cu) * (x - cu), dl = (x - cl) * (x - cl)
                    if du < dl || (du == dl && upper < lower) { b = mid } else { a = mid + 1 }
                }
                hi = a
            }
            if hi > lo { out.append(Interval(cluster: reps[r], lo: lo, hi: hi)) }
            lo = hi
        }
        return out
    }

    /// Empty-cluster relocation (see ``KMeans``), on grouped values: the farthest values of each
    /// interval lie at its ends, so only those are candidates; a value of count c can be taken
    /// up to c times.
    private func relocateEmpty(centers: [Double], intervals: [Interval], sums: inout [Double], weights: inout [Double]) {
        let empty = (0..<centers.count).filter { weights[$0] == 0 }
        guard !empty.isEmpty else { return }
        var candidates: [(dist: Double, index: Int, cluster: Int)] = []
        for iv in intervals {
            var taken = Set<Int>()
            let ends = Array(iv.lo..<Swift.min(iv.hi, iv.lo + empty.count))
                + Array(Swift.max(iv.lo, iv.hi - empty.count)..<iv.hi)
            for i in ends where taken.insert(i).inserted {
                let e = Double(values[i]) - centers[iv.cluster]
                candidates.append((e * e, i, iv.cluster))
            }
        }
        candidates.sort { $0.dist != $1.dist ? $0.dist > $1.dist : $0.index < $1.index }
        var e = 0
        for c in candidates {
            var available = Int(counts[c.index])
            while available > 0 && e < empty.count {
                let j = empty[e]
                let v = Double(values[c.index])
                sums[c.cluster] -= v
                weights[c.cluster] -= 1
                sums[j] = v
                weights[j] = 1
                available -= 1
                e += 1
            }
            if e == empty.count { break }
        }
    }

    /// Each original point's cluster: the interval whose lower end is the last one <= the value.
    private func labels(_ intervals: [Interval]) -> [Int32] {
        let lower = intervals.map { values[$0.lo] }
        let ids = intervals.map { Int32($0.cluster) }
        let n = original.count
        var out = [Int32](repeating: 0, count: n)
        let chunk = 65_536
        original.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in
                parallelFor((n + chunk - 1) / chunk) { b in
                    for i in (b * chunk)..<Swift.min(n, (b + 1) * chunk) {
                        let v = x[i]
                        var a = 0, z = lower.count
                        while z - a > 1 {
                            let mid = (a + z) / 2
                            if lower[mid] <= v { a = mid } else { z = mid }
                        }
                        o[i] = ids[a]
                    }
                }
            }
        }
        return out
    }
}
