import CTVolume
import Foundation
import NeuralCore
import WeakSupervision

/// The readers that take files from outside: each one must either return a value or throw one
/// of its documented errors for any bytes at all. A trap (overflow, out-of-range index, a failed
/// precondition), a crash in a C library beneath, or an unbounded allocation is a bug.
///
/// Inputs are written to a scratch folder under the name the reader expects, because NIfTI,
/// DICOM and the CSV reader are file-based (nifti's gzip layer and GDCM read from paths).
enum FuzzTarget: String, CaseIterable {
    /// `NIfTI.readScan(at:)` on `input.nii`, or `input.nii.gz` when the bytes start as gzip.
    case nifti
    /// `DICOMHeader.read(at:)`, then `ScanReader.read(at:)` on a folder holding the one file.
    case dicom
    /// `SafeTensors(bytes:source:)`, then `ModelConfig(json:source:)` on its `ichct.config`.
    case safetensors
    /// `PipelineConfig` decoded from JSON, then `validate()`; also `ModelConfig(json:source:)`.
    case config
    /// `SliceLabelTable.read(from:)` on `slices.csv`.
    case slices

    /// Runs the reader on `bytes`. Thrown errors are the expected outcome for bad input and
    /// are swallowed; anything else ends the process, which is what the fuzzer reports.
    func run(_ bytes: Data, scratch: URL) {
        switch self {
        case .nifti:
            let gz = bytes.count >= 2 && bytes[bytes.startIndex] == 0x1f && bytes[bytes.startIndex + 1] == 0x8b
            let url = scratch.appendingPathComponent(gz ? "input.nii.gz" : "input.nii")
            write(bytes, to: url)
            _ = try? NIfTI.readHeader(at: url)
            _ = try? NIfTI.readScan(at: url)
        case .dicom:
            let folder = scratch.appendingPathComponent("series")
            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let url = folder.appendingPathComponent("slice.dcm")
            write(bytes, to: url)
            _ = try? DICOMHeader.read(at: url)
            _ = try? ScanReader.read(at: folder)
        case .safetensors:
            if let file = try? SafeTensors(bytes: bytes, source: "fuzz input"),
               let json = file.metadata[ModelConfig.metadataKey] {
                _ = try? ModelConfig(json: json, source: "fuzz input")
            }
        case .config:
            if let config = try? JSONDecoder().decode(PipelineConfig.self, from: bytes) {
                try? config.validate()
            }
            _ = try? ModelConfig(json: String(decoding: bytes, as: UTF8.self), source: "fuzz input")
        case .slices:
            let url = scratch.appendingPathComponent("slices.csv")
            write(bytes, to: url)
            _ = try? SliceLabelTable.read(from: url)
        }
    }

    private func write(_ bytes: Data, to url: URL) {
        do {
            try bytes.write(to: url)
        } catch {
            fatalError("fuzz harness: cannot write \(url.path): \(error)")
        }
    }

    /// A fresh scratch folder for this process (under `$TMPDIR`, `/dev/shm` when it exists).
    static func makeScratch() -> URL {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? URL(fileURLWithPath: "/dev/shm")
            : FileManager.default.temporaryDirectory
        let url = base.appendingPathComponent("ichct-fuzz-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
