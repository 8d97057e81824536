import ArgumentParser
import CTVolume
import Foundation

/// `bench nifti FILE [--repeats N]`: reads a NIfTI file to Float intensities (HU) N times
/// with `NIfTI.readScan`, after one untimed warm-up read; prints one JSON object.
/// The Python peer is scripts/bench/nifti.py (nibabel `get_fdata(dtype=np.float32)`).
struct BenchNIfTI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nifti",
        abstract: "Time NIfTI.readScan (file -> Float HU) over N reads.")

    @Argument(help: "A .nii or .nii.gz file.")
    var file: String

    @Option(help: "Timed reads.")
    var repeats = 10

    func run() throws {
        let url = URL(fileURLWithPath: file)
        try benchVolumeReads(name: "nifti", repeats: repeats) { try NIfTI.readScan(at: url) }
    }
}

/// Times `read` over `repeats` runs after one untimed warm-up, and prints the JSON line the
/// scripts in scripts/bench/ read: min, median and mean seconds, and a checksum of one voxel
/// per run (so the work cannot be skipped).
func benchVolumeReads(name: String, repeats: Int, _ read: () throws -> ScanVolume) throws {
    var checksum = Double(try read().voxels.first ?? 0)
    var seconds: [Double] = []
    for _ in 0..<max(1, repeats) {
        let start = DispatchTime.now().uptimeNanoseconds
        let scan = try read()
        seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        checksum += Double(scan.voxels[scan.voxels.count / 2])
    }
    let sorted = seconds.sorted()
    let result: [String: Double] = [
        "min_s": sorted.first!, "median_s": sorted[sorted.count / 2],
        "mean_s": seconds.reduce(0, +) / Double(seconds.count), "repeats": Double(seconds.count),
        "checksum": checksum,
    ]
    let data = try JSONSerialization.data(withJSONObject: ["name": name, "tool": "ichct", "result": result], options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}
