import Testing
import WeakSupervision
import TestSupport

@Suite struct KMeansTests {
    /// Given the same initial centroids, centroids, labels, inertia and iteration count equal
    /// scikit-learn's `KMeans(init=array, n_init=1, algorithm="lloyd")`.
    @Test func matchesScikitLearnFromTheSameStart() throws {
        for c in try fixture("kmeans").objects("cases") {
            let name = c.string("name")
            let d = c.int("dimension")
            let x = try FeatureMatrix(values: c.floats("points"), dimension: d)
            let init0 = c.matrix("init")
            let km = try KMeans(k: init0.count, initialization: .centroids(init0),
                                maxIterations: c.int("maxIterations"), tolerance: c.double("tolerance"))
            var g = TestGenerator(seed: 1)
            let r = try km.fit(x, using: &g)
            let expected = c.matrix("centroids")
            for (a, b) in zip(r.centroids, expected) {
                for (u, v) in zip(a, b) { #expect(close(u, v, rtol: 1e-9, atol: 1e-9), "\(name): centroid \(u) vs \(v)") }
            }
            #expect(r.labels.map(Int.init) == c.ints("labels"), "\(name): labels")
            #expect(close(r.inertia, c.double("inertia"), rtol: 1e-9), "\(name): inertia \(r.inertia) vs \(c.double("inertia"))")
            #expect(r.iterations == c.int("iterations"), "\(name): iterations")
        }
    }

    @Test func twoSeparatedGroupsGiveTheirMeans() throws {
        // 0, 1, 2 and 100, 101, 102, 103: centroids 1 and 101.5 whatever the seed.
        let x = FeatureMatrix(column: [100, 0, 101, 1, 102, 2, 103])
        for seed: UInt64 in 0..<5 {
            var g = TestGenerator(seed: seed)
            let r = try KMeans(k: 2).fit(x, using: &g)
            let sorted = r.centroids.map { $0[0] }.sorted()
            #expect(sorted == [1, 101.5])
            #expect(r.inertia == 2 + 5)   // (1 + 0 + 1) + (2.25 + 0.25 + 0.25 + 2.25)
            #expect(r.converged)
            let high = r.centroids[0][0] > r.centroids[1][0] ? Int32(0) : 1
            #expect(r.labels.map { $0 == high } == [true, false, true, false, true, false, true])
        }
        // The same in 2-D (the many-feature path).
        let y = try FeatureMatrix(values: [0, 0, 0, 2, 50, 50, 52, 50], dimension: 2)
        let r2 = try KMeans(k: 2).fit(y, seed: 3)
        #expect(Set(r2.centroids) == Set([[0, 1], [51, 50]]))
        #expect(r2.inertia == 4)
    }

    @Test func kMeansPlusPlusSeedsOnePointPerBlob() throws {
        // Four tight, far-apart blobs: D^2 seeding (greedy or plain) finds all four, so
        // Lloyd converges at once to the blob means.
        var g = TestGenerator(seed: 11)
        var v: [Float] = []
        for center: Float in [0, 1000, 2000, 3000] { for _ in 0..<25 { v.append(center + Float.random(in: -1...1, using: &g)) } }
        for trials in [nil, 1] as [Int?] {
            for seed: UInt64 in 0..<10 {
                var gen = TestGenerator(seed: seed)
                let r = try KMeans(k: 4, initialization: .kMeansPlusPlus(localTrials: trials)).fit(FeatureMatrix(column: v), using: &gen)
                #expect(r.sizes == [25, 25, 25, 25])
                #expect(r.iterations <= 2)
            }
        }
    }

    @Test func sameSeedSameResultAndRestartsKeepTheBest() throws {
        var g = TestGenerator(seed: 5)
        let v = (0..<600).map { _ in Float.random(in: 0...100, using: &g) }
        let pts2 = try FeatureMatrix(values: (0..<600).map { _ in Float.random(in: 0...10, using: &g) }, dimension: 2)
        for x in [FeatureMatrix(column: v), pts2] {
            let km = try KMeans(k: 5)
            #expect(try km.fit(x, seed: 42) == km.fit(x, seed: 42))
            var a = TestGenerator(seed: 9), b = TestGenerator(seed: 9)
            #expect(try km.fit(x, using: &a) == km.fit(x, using: &b))
            // Ten restarts are never worse than the first of them.
            var c = TestGenerator(seed: 9), d = TestGenerator(seed: 9)
            let one = try km.fit(x, using: &c)
            let ten = try KMeans(k: 5, restarts: 10).fit(x, using: &d)
            #expect(ten.inertia <= one.inertia)
        }
        // Seeding on a sample still gives a valid clustering.
        let sampled = try KMeans(k: 3, seedingSampleSize: 50).fit(pts2, seed: 1)
        #expect(sampled.sizes.allSatisfy { $0 > 0 })
    }

    @Test func oneFeaturePathEqualsManyFeaturePath() throws {
        // The sorted one-feature path and the point-by-point path agree (a zero second feature).
        var g = TestGenerator(seed: 8)
        let v = (0..<500).map { _ in Float(Int.random(in: -20...90, using: &g)) }
        let start: [[Double]] = [[-5], [10], [30], [60]]
        let one = try KMeans(k: 4, initialization: .centroids(start)).fit(FeatureMatrix(column: v), seed: 0)
        let two = try KMeans(k: 4, initialization: .centroids(start.map { $0 + [0] }))
            .fit(FeatureMatrix(columns: [v, [Float](repeating: 0, count: v.count)]), seed: 0)
        #expect(one.labels == two.labels)
        #expect(one.iterations == two.iterations)
        for (a, b) in zip(one.centroids, two.centroids) { #expect(close(a[0], b[0], rtol: 1e-12)) }
        #expect(close(one.inertia, two.inertia, rtol: 1e-12))
    }

    @Test func largeOneFeatureInputEqualsManyFeaturePath() throws {
        // Above the size where the one-feature path radix-sorts: negatives, -0, +0, ties.
        var g = TestGenerator(seed: 21)
        var v = (0..<5000).map { _ in Float(Int.random(in: -400...400, using: &g)) / 8 }
        v[17] = -0.0; v[18] = 0; v[19] = -.leastNonzeroMagnitude
        let start: [[Double]] = [[-30], [-1], [2], [35]]
        let one = try KMeans(k: 4, initialization: .centroids(start)).fit(FeatureMatrix(column: v), seed: 0)
        let two = try KMeans(k: 4, initialization: .centroids(start.map { $0 + [0] }))
            .fit(FeatureMatrix(columns: [v, [Float](repeating: 0, count: v.count)]), seed: 0)
        #expect(one.labels == two.labels)
        for (a, b) in zip(one.centroids, two.centroids) { #expect(close(a[0], b[0], rtol: 1e-12)) }
        #expect(close(one.inertia, two.inertia, rtol: 1e-12))
        // And k-means++ on the grouped values is deterministic for a seed.
        #expect(try KMeans(k: 4).fit(FeatureMatrix(column: v), seed: 5) == KMeans(k: 4).fit(FeatureMatrix(column: v), seed: 5))
    }

    @Test func fewerDistinctValuesThanClusters() throws {
        // Three distinct values, k = 4: every point is at a centroid, inertia 0, one cluster
        // ends up a duplicate (empty clusters are re-seeded, never NaN).
        let r = try KMeans(k: 4).fit(FeatureMatrix(column: [1, 1, 1, 5, 5, 9, 9, 9]), seed: 0)
        #expect(r.inertia == 0)
        #expect(r.centroids.allSatisfy { $0[0].isFinite })
    }

    @Test func invalidParametersThrow() {
        #expect(throws: WeakSupervisionError.invalidParameter(name: "k", reason: "0 is less than 1")) { try KMeans(k: 0) }
        #expect(throws: WeakSupervisionError.self) { try KMeans(k: 2, restarts: 0) }
        #expect(throws: WeakSupervisionError.self) { try KMeans(k: 2, initialization: .centroids([[1]])) }
        #expect(throws: WeakSupervisionError.self) { try KMeans(k: 3).fit(FeatureMatrix(column: [1, 2]), seed: 0) }
        #expect(throws: WeakSupervisionError.self) { try KMeans(k: 1).fit(FeatureMatrix(column: [1, .nan]), seed: 0) }
        #expect(throws: WeakSupervisionError.self) {
            try KMeans(k: 1, initialization: .centroids([[1, 2]])).fit(FeatureMatrix(column: [1, 2]), seed: 0)
        }
        var changed = try! KMeans(k: 2)
        changed.k = 0   // settable: checked again when fitting
        #expect(throws: WeakSupervisionError.self) { try changed.fit(FeatureMatrix(column: [1, 2]), seed: 0) }
        #expect(throws: WeakSupervisionError.self) { try FeatureMatrix(values: [1, 2, 3], dimension: 2) }
        #expect(throws: WeakSupervisionError.self) { try FeatureMatrix(columns: [[1, 2], [3]]) }
        #expect(WeakSupervisionError.invalidParameter(name: "k", reason: "0 is less than 1").description == "invalid k: 0 is less than 1")
    }
}
