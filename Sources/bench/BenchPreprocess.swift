import ArgumentParser
import CTVolume
import Foundation

/// `bench preprocess`: network input of a whole scan (resample HU to S x S, window into three
/// channels), the way back (S x S maps to the scan grid), and the intracranial mask.
/// The Python peer, `scripts/bench/preprocess.py`, times `ichnets.preprocess_volume` and
/// `F.interpolate` on the same sizes.
///
///     swift run -c release bench preprocess --slices 40 --height 512 --width 512 --size 256
struct BenchPreprocess: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract: "Time preprocessing, resizing maps back and the intracranial mask.")

    @Option(help: "Slices of the scan.") var slices: Int = 40
    @Option(help: "Rows of a slice.") var height: Int = 512
    @Option(help: "Columns of a slice.") var width: Int = 512
    @Option(help: "Network input size S.") var size: Int = 256
    @Option(help: "Timed repetitions (the median is reported).") var repeats: Int = 5

    struct Report: Codable {
        var slices: Int, height: Int, width: Int, size: Int, repeats: Int
        var preprocessSeconds: Double
        var resizeBackSeconds: Double
        var intracranialMaskSeconds: Double
    }

    /// An elliptical head: air, scalp, a 6 mm skull ring of 1200 HU, brain of 30 HU, noise.
    static func head(slices: Int, height: Int, width: Int) -> ScanVolume {
        let shape = GridShape(width, height, slices)
        var hu = [Float](repeating: -1000, count: shape.count)
        var state: UInt64 = 0x9E3779B97F4A7C15
        let sp = 220.0 / Double(max(width, height))
        for k in 0..<slices {
            for j in 0..<height {
                for i in 0..<width {
                    state = state &* 6364136223846793005 &+ 1442695040888963407
                    let noise = Float(state >> 40) / Float(1 << 24) * 10 - 5
                    let x = (Double(i) - Double(width) / 2) * sp, y = (Double(j) - Double(height) / 2) * sp
                    let r = ((x / 75) * (x / 75) + (y / 90) * (y / 90)).squareRoot() * 82
                    let v: Float = r < 76 ? 30 : r < 82 ? 1200 : r < 86 ? 40 : -1000
                    hu[shape.index(i, j, k)] = v + noise
                }
            }
        }
        return ScanVolume(shape: shape, voxels: hu, geometry: Geometry(spacing: SIMD3(sp, sp, 5)))
    }

    func median(_ body: () throws -> Void) rethrows -> Double { try medianSeconds(repeats: repeats, warmUp: false, body) }

    func run() throws {
        let scan = Self.head(slices: slices, height: height, width: width)
        var sink: Float = 0
        let pre = median { sink += Preprocessing.preprocess(scan, size: size)[0] }
        let maps = [Float](repeating: 0.5, count: slices * size * size)
        let back = median { sink += Preprocessing.resizeToVolume(maps, size: size, shape: scan.shape)[0] }
        let mask = try median { sink += Float(try IntracranialMask.compute(scan).voxels[0]) }
        if sink.isNaN { print("") }  // keep the work observable
        let report = Report(slices: slices, height: height, width: width, size: size, repeats: repeats,
                            preprocessSeconds: pre, resizeBackSeconds: back, intracranialMaskSeconds: mask)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        FileHandle.standardOutput.write(try encoder.encode(report))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}
