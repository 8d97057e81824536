import Dispatch
import ImageCore

/// Points per chunk of the concurrent loops: fixed, so that sums (and so results) do not
/// depend on the number of cores.
private let chunkSize = 16_384

extension KMeans {
    /// The many-feature path: every run on every point.
    func fitMany(_ points: FeatureMatrix, using generator: inout some RandomNumberGenerator) throws -> KMeansResult {
        let tol = tolerance * points.meanVariance()
        var best: KMeansResult?
        for _ in 0..<runs {
            let start = initialCentroids(points, using: &generator)
            let r = lloyd(points, start: start, tol: tol)
            if best == nil || r.inertia < best!.inertia { best = r }
        }
        return best!
    }

    /// Starting centroids: given ones, or k-means++ (on a sample when asked).
    private func initialCentroids(_ points: FeatureMatrix, using generator: inout some RandomNumberGenerator) -> [[Double]] {
        if case .centroids(let c) = initialization { return c }
        let d = points.dimension
        if let m = seedingSampleSize, m < points.count {
            let rows = sampleIndices(m, of: points.count, using: &generator)
            var sub = [Float]()
            sub.reserveCapacity(m * d)
            for r in rows { sub.append(contentsOf: points[row: r]) }
            let idx = sub.withUnsafeBufferPointer {
                kMeansPlusPlusIndices($0, n: m, d: d, weights: nil, k: k, trials: localTrials, using: &generator)
            }
            return idx.map { points[row: rows[$0]].map(Double.init) }
        }
        let idx = points.values.withUnsafeBufferPointer {
            kMeansPlusPlusIndices($0, n: points.count, d: d, weights: nil, k: k, trials: localTrials, using: &generator)
        }
        return idx.map { points[row: $0].map(Double.init) }
    }

    /// Lloyd iterations from `start` (scikit-learn's `_kmeans_single_lloyd`).
    func lloyd(_ points: FeatureMatrix, start: [[Double]], tol: Double) -> KMeansResult {
        let n = points.count, d = points.dimension
        var centers = start.flatMap { $0 }          // k * d
        var labels = [Int32](repeating: -1, count: n)
        var strict = false, converged = false
        var iterations = 0
        for it in 0..<maxIterations {
            iterations = it + 1
            var (sums, weights, changed) = assign(points, centers: centers, labels: &labels, accumulate: true)
            relocateEmpty(points, centers: centers, labels: labels, sums: &sums, weights: &weights)
            var shift = 0.0
            for j in 0..<k {
                for f in 0..<d {
                    let c = weights[j] > 0 ? sums[j * d + f] / weights[j] : centers[j * d + f]
                    let e = c - centers[j * d + f]
                    shift += e * e
                    centers[j * d + f] = c
                }
            }
            if changed == 0 { strict = true; converged = true; break }
            if shift <= tol { converged = true; break }
        }
        if !strict { _ = assign(points, centers: centers, labels: &labels, accumulate: false) }
        return KMeansResult(
            centroids: (0..<k).map { Array(centers[($0 * d)..<(($0 + 1) * d)]) },
            labels: labels, inertia: inertia(points, centers: centers, labels: labels),
            iterations: iterations, converged: converged)
    }

    /// Nearest-centre assignment (lowest index on ties); with `accumulate`, per-cluster sums
    /// and counts. Returns how many labels changed.
    private func assign(
        _ points: FeatureMatrix, centers: [Double], labels: inout [Int32], accumulate: Bool
    ) -> (sums: [Double], weights: [Double], changed: Int) {
        let n = points.count, d = points.dimension, k = self.k
        let chunks = (n + chunkSize - 1) / chunkSize
        var partialSums = [Double](repeating: 0, count: accumulate ? chunks * k * d : 0)
        var partialWeights = [Double](repeating: 0, count: accumulate ? chunks * k : 0)
        var changes = [Int](repeating: 0, count: chunks)
        points.values.withUnsafeBufferPointer { x in
            centers.withUnsafeBufferPointer { c in
                labels.withUnsafeMutableBufferPointer { lab in
                    partialSums.withUnsafeMutableBufferPointer { ps in
                        partialWeights.withUnsafeMutableBufferPointer { pw in
                            changes.withUnsafeMutableBufferPointer { ch in
                                parallelFor(chunks) { b in
                                    var changed = 0
                                    for i in (b * chunkSize)..<Swift.min(n, (b + 1) * chunkSize) {
                                        var best = 0, bestD = Double.infinity
                                        if d == 2 {
                                            // The common case (HU and smoothed HU), unrolled; same sums.
                                            let x0 = Double(x[2 * i]), x1 = Double(x[2 * i + 1])
                                            for j in 0..<k {
                                                let e0 = x0 - c[2 * j], e1 = x1 - c[2 * j + 1]
                                                let s = e0 * e0 + e1 * e1
                                                if s < bestD { bestD = s; best = j }
                                            }
                                        } else {
                                            for j in 0..<k {
                                                var s = 0.0
                                                for f in 0..<d {
                                                    let e = Double(x[i * d + f]) - c[j * d + f]
                                                    s += e * e
                                                }
                                                if s < bestD { bestD = s; best = j }
                                            }
                                        }
                                        if lab[i] != Int32(best) { changed += 1; lab[i] = Int32(best) }
                                        if accumulate {
                                            pw[b * k + best] += 1
                                            for f in 0..<d { ps[(b * k + best) * d + f] += Double(x[i * d + f]) }
                                        }
                                    }
                                    ch[b] = changed
                                }
                            }
                        }
                    }
                }
            }
        }
        var sums = [Double](repeating: 0, count: k * d), weights = [Double](repeating: 0, count: k)
        if accumulate {
            for b in 0..<chunks {
                for j in 0..<k {
                    weights[j] += partialWeights[b * k + j]
                    for f in 0..<d { sums[j * d + f] += partialSums[(b * k + j) * d + f] }
                }
            }
        }
        return (sums, weights, changes.reduce(0, +))
    }

    /// scikit-learn's `_relocate_empty_clusters_dense`: each empty cluster takes the point
    /// farthest from its current centre (next empty, next farthest); that point's weight moves.
    private func relocateEmpty(
        _ points: FeatureMatrix, centers: [Double], labels: [Int32], sums: inout [Double], weights: inout [Double]
    ) {
        let empty = (0..<k).filter { weights[$0] == 0 }
        guard !empty.isEmpty else { return }
        let d = points.dimension
        // The `empty.count` farthest points, farthest first; on equal distance the earlier point first.
        var top: [(dist: Double, index: Int)] = []
        points.values.withUnsafeBufferPointer { x in
            for i in 0..<points.count {
                let l = Int(labels[i])
                var s = 0.0
                for f in 0..<d {
                    let e = Double(x[i * d + f]) - centers[l * d + f]
                    s += e * e
                }
                if top.count < empty.count || s > top[top.count - 1].dist {
                    var at = top.count
                    while at > 0 && top[at - 1].dist < s { at -= 1 }
                    top.insert((s, i), at: at)
                    if top.count > empty.count { top.removeLast() }
                }
            }
        }
        for (j, far) in zip(empty, top) {
            let old = Int(labels[far.index])
            for f in 0..<d {
                let v = Double(points.values[far.index * d + f])
                sums[old * d + f] -= v
                sums[j * d + f] = v
            }
            weights[j] = 1
            weights[old] -= 1
        }
    }

    /// `sum_i ||x_i - c_label(i)||^2`, summed per chunk then in chunk order.
    private func inertia(_ points: FeatureMatrix, centers: [Double], labels: [Int32]) -> Double {
        let n = points.count, d = points.dimension
        let chunks = (n + chunkSize - 1) / chunkSize
        var partial = [Double](repeating: 0, count: chunks)
        points.values.withUnsafeBufferPointer { x in
            labels.withUnsafeBufferPointer { lab in
                partial.withUnsafeMutableBufferPointer { p in
                    parallelFor(chunks) { b in
                        var s = 0.0
                        for i in (b * chunkSize)..<Swift.min(n, (b + 1) * chunkSize) {
                            let l = Int(lab[i])
                            for f in 0..<d {
                                let e = Double(x[i * d + f]) - centers[l * d + f]
                                s += e * e
                            }
                        }
                        p[b] = s
                    }
                }
            }
        }
        return partial.reduce(0, +)
    }
}
