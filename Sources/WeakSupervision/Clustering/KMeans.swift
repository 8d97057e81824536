import CTVolume

/// How k-means chooses its first centroids.
public enum KMeansInitialization: Sendable, Equatable {
    /// k-means++ (Arthur & Vassilvitskii 2007): the first centroid a point drawn uniformly, each
    /// next one drawn with probability proportional to D(x)^2, the squared distance to the
    /// nearest centroid so far. With `localTrials = t > 1`, the *greedy* variant scikit-learn
    /// uses: `t` candidates are drawn by D^2 sampling and the one that lowers the potential
    /// `sum D(x)^2` most is kept. `nil` means scikit-learn's default `t = 2 + floor(ln k)`;
    /// `1` is the plain algorithm.
    case kMeansPlusPlus(localTrials: Int? = nil)
    /// Given starting centroids, `k` rows of `dimension` values (sklearn's `init=array`).
    /// A single run: `restarts` is ignored, as scikit-learn does.
    case centroids([[Double]])
}

/// k-means clustering (Lloyd's algorithm) with k-means++ seeding, following scikit-learn's
/// `KMeans(algorithm="lloyd")` step for step.
///
/// One run: seed `k` centroids; then repeat until convergence or `maxIterations`:
/// 1. assign each point to its nearest centroid (squared Euclidean; on an exact tie the lowest
///    cluster index wins);
/// 2. move each centroid to the mean of its points; a cluster left empty is re-seeded at the
///    point farthest from its current centroid (the next farthest for the next empty cluster),
///    that point's weight moving from its old cluster, exactly as scikit-learn's
///    `_relocate_empty_clusters_dense` (points at equal distance: the one met first wins);
/// 3. stop when the assignment did not change (strict convergence), or when the total squared
///    centroid shift `sum_j ||c_j' - c_j||^2 <= tolerance * mean_f var(x_f)` (scikit-learn's
///    relative `tol`).
///
/// After a run stopped by the tolerance or the cap, points are assigned once more to the final
/// centroids, so labels and centroids agree. `inertia = sum_i ||x_i - c_label(i)||^2`. With
/// `restarts > 1`, the run of lowest inertia is kept (the first one on a tie).
///
/// One-feature data (voxel intensities) takes an exact fast path: the values are sorted once
/// and grouped (equal values weigh their count), clusters are intervals of the sorted values,
/// and each Lloyd step costs O(k log n) through prefix sums instead of O(n k). Sums are in
/// Double; points are Float. Many features: assignment and sums run over fixed chunks of
/// points concurrently (the result does not depend on the number of cores).
public struct KMeans: Sendable, Equatable {
    /// Number of clusters, >= 1.
    public var k: Int
    /// Seeding (default greedy k-means++ with scikit-learn's number of local trials).
    public var initialization: KMeansInitialization
    /// Number of seeded runs; the lowest inertia wins (default 1, scikit-learn's `n_init="auto"`
    /// for k-means++).
    public var restarts: Int
    /// Cap on Lloyd iterations per run (default 300, as scikit-learn).
    public var maxIterations: Int
    /// Relative tolerance on the total squared centroid shift (default 1e-4, as scikit-learn).
    public var tolerance: Double
    /// When set and the data (many-feature path) has more points, k-means++ seeds on this many
    /// points drawn uniformly without replacement (Lloyd still uses every point). Default nil.
    public var seedingSampleSize: Int?

    /// - Parameters:
    ///   - k: number of clusters, >= 1.
    ///   - initialization: default `.kMeansPlusPlus()` (greedy, `2 + floor(ln k)` trials).
    ///   - restarts: >= 1, default 1.
    ///   - maxIterations: >= 1, default 300.
    ///   - tolerance: >= 0, default 1e-4.
    ///   - seedingSampleSize: nil (default) or >= k.
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` naming the parameter.
    public init(
        k: Int, initialization: KMeansInitialization = .kMeansPlusPlus(), restarts: Int = 1,
        maxIterations: Int = 300, tolerance: Double = 1e-4, seedingSampleSize: Int? = nil
    ) throws {
        self.k = k
        self.initialization = initialization
        self.restarts = restarts
        self.maxIterations = maxIterations
        self.tolerance = tolerance
        self.seedingSampleSize = seedingSampleSize
        try checkParameters()
    }

    /// The checks of `init`, repeated by `fit` because the properties are settable.
    func checkParameters() throws {
        guard k >= 1 else { throw WeakSupervisionError.invalidParameter(name: "k", reason: "\(k) is less than 1") }
        guard restarts >= 1 else {
            throw WeakSupervisionError.invalidParameter(name: "restarts", reason: "\(restarts) is less than 1")
        }
        guard maxIterations >= 1 else {
            throw WeakSupervisionError.invalidParameter(name: "maxIterations", reason: "\(maxIterations) is less than 1")
        }
        guard tolerance >= 0, tolerance.isFinite else {
            throw WeakSupervisionError.invalidParameter(name: "tolerance", reason: "\(tolerance) is not a finite value >= 0")
        }
        if let s = seedingSampleSize, s < k {
            throw WeakSupervisionError.invalidParameter(name: "seedingSampleSize", reason: "\(s) is less than k = \(k)")
        }
        switch initialization {
        case .kMeansPlusPlus(let t?) where t < 1:
            throw WeakSupervisionError.invalidParameter(name: "k-means++ local trials", reason: "\(t) is less than 1")
        case .centroids(let c):
            guard c.count == k else {
                throw WeakSupervisionError.shapeMismatch(what: "initial centroids", expected: "k = \(k) rows", got: "\(c.count)")
            }
        default: break
        }
    }

    /// Clusters `points`, drawing every random choice from `generator`.
    ///
    /// - Throws: ``WeakSupervisionError/emptyInput(what:)`` or
    ///   ``WeakSupervisionError/invalidParameter(name:reason:)`` when there are fewer points
    ///   than `k`; ``WeakSupervisionError/nonFiniteValues(what:count:)`` for NaN or infinite
    ///   features; ``WeakSupervisionError/shapeMismatch(what:expected:got:)`` when initial
    ///   centroids do not have `points.dimension` values.
    public func fit(_ points: FeatureMatrix, using generator: inout some RandomNumberGenerator) throws -> KMeansResult {
        try validate(points)
        if points.dimension == 1 {
            return try SortedLine(points.values).fit(self, using: &generator)
        }
        return try fitMany(points, using: &generator)
    }

    /// ``fit(_:using:)`` with CTVolume's ``SeededGenerator`` (xoshiro256**) started at `seed`.
    public func fit(_ points: FeatureMatrix, seed: UInt64) throws -> KMeansResult {
        var g = SeededGenerator(seed: seed)
        return try fit(points, using: &g)
    }

    private func validate(_ points: FeatureMatrix) throws {
        try checkParameters()
        guard points.count > 0 else { throw WeakSupervisionError.emptyInput(what: "k-means points") }
        guard points.count >= k else {
            throw WeakSupervisionError.invalidParameter(name: "k", reason: "\(k) clusters for only \(points.count) points")
        }
        let bad = points.values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
        if bad > 0 { throw WeakSupervisionError.nonFiniteValues(what: "k-means features", count: bad) }
        if case .centroids(let c) = initialization {
            for (j, row) in c.enumerated() {
                guard row.count == points.dimension else {
                    throw WeakSupervisionError.shapeMismatch(
                        what: "initial centroid \(j)", expected: "\(points.dimension) values", got: "\(row.count)")
                }
                guard row.allSatisfy(\.isFinite) else {
                    throw WeakSupervisionError.nonFiniteValues(what: "initial centroid \(j)", count: row.filter { !$0.isFinite }.count)
                }
            }
        }
    }

    /// Local trials for greedy k-means++.
    var localTrials: Int {
        if case .kMeansPlusPlus(let t) = initialization, let t { return t }
        return 2 + Int(Foundation.log(Double(k)))
    }

    /// Number of runs actually made.
    var runs: Int {
        if case .centroids = initialization { return 1 }
        return restarts
    }
}

/// The outcome of ``KMeans/fit(_:using:)``.
public struct KMeansResult: Sendable, Equatable {
    /// `k` centroids of `dimension` values each.
    public var centroids: [[Double]]
    /// Cluster of each point, 0 ..< k.
    public var labels: [Int32]
    /// Sum of squared distances of the points to their centroids.
    public var inertia: Double
    /// Lloyd iterations of the kept run.
    public var iterations: Int
    /// Whether the kept run stopped by convergence rather than by `maxIterations`.
    public var converged: Bool

    /// A result (for callers that build one, e.g. from a saved clustering).
    public init(centroids: [[Double]], labels: [Int32], inertia: Double, iterations: Int, converged: Bool) {
        self.centroids = centroids
        self.labels = labels
        self.inertia = inertia
        self.iterations = iterations
        self.converged = converged
    }

    /// Number of points in each cluster.
    public var sizes: [Int] {
        var s = [Int](repeating: 0, count: centroids.count)
        for l in labels { s[Int(l)] += 1 }
        return s
    }
}

import Foundation
