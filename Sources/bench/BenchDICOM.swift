import ArgumentParser
import CTVolume
import Foundation

/// `bench dicom FOLDER [--repeats N]`: reads a DICOM series folder to Float HU N times with
/// `DICOMSeriesReader.read(folder:)` (discovery, ordering, decoding, rescaling), after one
/// untimed warm-up read; prints one JSON object. The Python peer is scripts/bench/dicom.py
/// (pydicom + numpy).
struct BenchDICOM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dicom",
        abstract: "Time DICOMSeriesReader.read(folder:) (DICOM folder -> Float HU) over N reads.")

    @Argument(help: "A folder holding one DICOM series.")
    var folder: String

    @Option(help: "Timed reads.")
    var repeats = 10

    @Option(help: "Files decoded at once (default: the reader's).")
    var workers: Int?

    func run() throws {
        let url = URL(fileURLWithPath: folder)
        var settings = DICOMReadSettings()
        if let workers { settings.workers = workers }
        var checksum = Double(try DICOMSeriesReader.read(folder: url, settings: settings).scan.voxels.first ?? 0)
        var seconds: [Double] = []
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            let scan = try DICOMSeriesReader.read(folder: url, settings: settings).scan
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            checksum += Double(scan.voxels[scan.voxels.count / 2])
        }
        let sorted = seconds.sorted()
        let result: [String: Double] = [
            "min_s": sorted.first!, "median_s": sorted[sorted.count / 2],
            "mean_s": seconds.reduce(0, +) / Double(seconds.count), "repeats": Double(seconds.count),
            "checksum": checksum,
        ]
        let data = try JSONSerialization.data(withJSONObject: ["name": "dicom", "tool": "ichct", "result": result], options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
