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
        try benchVolumeReads(name: "dicom", repeats: repeats) { try DICOMSeriesReader.read(folder: url, settings: settings).scan }
    }
}
