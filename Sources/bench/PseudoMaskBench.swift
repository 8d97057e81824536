import ArgumentParser
import CTVolume
import Foundation
import WeakSupervision

/// `bench pseudo-masks`: the whole pseudo-mask stage (k-means over the intracranial voxels,
/// hyperdense cluster, CAM threshold on positive slices, small components removed) on a
/// synthetic case of real size. Prints one JSON object.
struct PseudoMaskBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pseudo-masks",
        abstract: "PseudoMaskBuilder.build on a synthetic 512 x 512 x 40 case.")

    @Option(help: "In-plane size.")
    var size: Int = 512

    @Option(help: "Slices.")
    var slices: Int = 40

    @Option(help: "Gaussian sigma (mm) of a smoothed-HU feature added to HU; 0 for HU alone.")
    var smoothMM: Double = 0

    @Option(help: "Seed of the data and of k-means++.")
    var seed: UInt64 = 0

    func run() throws {
        let size = self.size, slices = self.slices   // option getters are slow in loops
        let shape = GridShape(size, size, slices)
        let geometry = Geometry(spacing: SIMD3(0.42, 0.42, 5))
        var g = BenchGenerator(seed: seed)
        var hu = ScanVolume(shape: shape, repeating: 1000, geometry: geometry)
        var brain = MaskVolume(shape: shape, repeating: 0, geometry: geometry)
        var cam = Volume<Float>(shape: shape, repeating: 0, geometry: geometry)
        let c = Double(size) / 2, r = 0.4 * Double(size), blob = 0.06 * Double(size)
        let bx = c + 0.2 * Double(size), by = c
        for k in 0..<slices {
            for j in 0..<size {
                for i in 0..<size {
                    let dx = Double(i) - c, dy = Double(j) - c
                    guard dx * dx + dy * dy <= r * r else { continue }
                    brain[i, j, k] = 1
                    let u = Float.random(in: 0..<1, using: &g)
                    let mean: Float = u < 0.15 ? 8 : (u < 0.55 ? 28 : 38)
                    var v = mean + Float.random(in: -6...6, using: &g)
                    let ex = Double(i) - bx, ey = Double(j) - by, ez = Double(k - slices / 2) * 5 / 0.42
                    if ex * ex + ey * ey + ez * ez <= blob * blob { v = 65 + Float.random(in: -6...6, using: &g) }
                    hu[i, j, k] = v.rounded()
                    cam[i, j, k] = Float(Foundation.exp(-(ex * ex + ey * ey) / (2 * 4 * blob * blob)))
                }
            }
        }
        let probabilities = (0..<slices).map { abs($0 - slices / 2) <= slices / 4 ? Float(0.9) : 0.1 }
        let features: [VoxelFeature] = smoothMM > 0 ? [.hu, .smoothedHU(sigmaMM: smoothMM)] : [.hu]
        let builder = try PseudoMaskBuilder(k: 4, features: features, seed: seed)
        let clock = ContinuousClock()
        let start = clock.now
        let mask = try builder.build(scan: hu, intracranial: brain, cam: cam, probabilities: probabilities)
        let seconds = (clock.now - start) / .seconds(1)
        let voxels = mask.voxels.reduce(0) { $0 + Int($1) }
        let inside = brain.voxels.reduce(0) { $0 + Int($1) }
        print("{\"impl\":\"swift\",\"shape\":[\(size),\(size),\(slices)],\"intracranialVoxels\":\(inside),"
              + "\"smoothMM\":\(smoothMM),\"seconds\":\(seconds),\"maskVoxels\":\(voxels)}")
    }
}
