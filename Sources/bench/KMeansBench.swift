import ArgumentParser
import CTVolume
import Foundation
import WeakSupervision

/// `bench kmeans`: k-means on synthetic intracranial HU (a mixture of CSF, white matter, grey
/// matter and blood), the size of a real case's intracranial voxels. Prints one JSON object.
struct KMeansBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kmeans",
        abstract: "k-means++ and Lloyd on synthetic intracranial HU (WeakSupervision.KMeans).")

    @Option(help: "Number of voxels (points).")
    var voxels: Int = 10_000_000

    @Option(help: "Number of clusters.")
    var k: Int = 4

    @Option(help: "Features per voxel: 1 (HU, the sorted exact path) or 2 (HU and a second, the general path).")
    var features: Int = 1

    @Flag(help: "Continuous HU (as after smoothing) instead of integers (as stored by CT).")
    var continuous = false

    @Option(help: "Cap on Lloyd iterations.")
    var maxIterations: Int = 300

    @Option(help: "Seed k-means++ on this many points (general path only).")
    var seedingSample: Int?

    @Option(help: "Seed of the data and of k-means++.")
    var seed: UInt64 = 0

    func run() throws {
        var g = BenchGenerator(seed: seed)
        let means: [Float] = [8, 28, 38, 65], sds: [Float] = [4, 4, 4, 6], weights: [Float] = [0.15, 0.4, 0.4, 0.05]
        var hu = [Float](repeating: 0, count: voxels)
        for i in 0..<voxels {
            let u = Float.random(in: 0..<1, using: &g)
            var c = 0, acc = weights[0]
            while u > acc && c < 3 { c += 1; acc += weights[c] }
            // Box-Muller
            let a = Float.random(in: Float.ulpOfOne..<1, using: &g), b = Float.random(in: 0..<1, using: &g)
            let z = (-2 * Foundation.log(a)).squareRoot() * Foundation.cos(2 * Float.pi * b)
            let v = means[c] + sds[c] * z
            hu[i] = continuous ? v : v.rounded()
        }
        let x: FeatureMatrix
        if features == 1 {
            x = FeatureMatrix(column: hu)
        } else {
            let second = hu.map { $0 * 0.5 + Float.random(in: -2...2, using: &g) }
            x = try FeatureMatrix(columns: [hu, second])
        }
        let clock = ContinuousClock()
        let start = clock.now
        let r = try KMeans(k: k, maxIterations: maxIterations, seedingSampleSize: seedingSample).fit(x, seed: seed)
        let seconds = (clock.now - start) / .seconds(1)
        let centroids = r.centroids.map { $0[0] }.sorted().map { ($0 * 1000).rounded() / 1000 }
        print("{\"impl\":\"swift\",\"voxels\":\(voxels),\"k\":\(k),\"features\":\(features),\"continuous\":\(continuous),"
              + "\"seconds\":\(seconds),\"iterations\":\(r.iterations),\"inertia\":\(r.inertia),\"centroids\":\(centroids)}")
    }
}

/// SplitMix64 for the benchmark's synthetic data (the package's one SplitMix64 step).
struct BenchGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 { SeededGenerator.splitMix64(&state) }
}
