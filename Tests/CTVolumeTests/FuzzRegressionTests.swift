import CTVolume
import Foundation
import Testing
import TestSupport

/// The inputs `scripts/fuzz.sh` found that crashed a reader or made it allocate gigabytes
/// (kept in Tests/Fuzz/regressions, Docs/testing.md). Each must now give a clear error naming
/// the file.
@Suite("Inputs the fuzzer found are refused cleanly")
struct FuzzRegressionTests {
    static func regression(_ target: String, _ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/regressions/\(target)/\(name)")
    }

    /// A copy of a regression file inside a fresh folder (a DICOM series is a folder).
    static func inFolder(_ target: String, _ name: String) throws -> (TemporaryFolder, URL) {
        let folder = TemporaryFolder(prefix: "ichct-fuzz-regression")
        let copy = folder.file(name)
        try FileManager.default.copyItem(at: regression(target, name), to: copy)
        return (folder, copy)
    }

    @Test("a NIfTI vox_offset too large for an integer is an invalid header, not a trap")
    func niftiHugeVoxOffset() throws {
        let (folder, file) = try Self.inFolder("nifti", "vox-offset-huge.nii")
        defer { folder.cleanup() }
        #expect {
            try NIfTI.readScan(at: file)
        } throws: { error in
            guard case CTVolumeError.invalidHeader(let path, let reason) = error else { return false }
            return path == file.path && reason.contains("vox_offset")
        }
    }

    @Test("a DICOM element with no VR and a 4 GB length is refused before GDCM allocates it")
    func dicomElementLength() throws {
        let (folder, file) = try Self.inFolder("dicom", "element-length-4gb.dcm")
        defer { folder.cleanup() }
        #expect {
            try DICOMHeader.read(at: file)
        } throws: { error in
            guard case CTVolumeError.invalidDICOM(let path, let reason) = error else { return false }
            return path == file.path && reason.contains("without a VR")
        }
    }

    @Test("a pixel-data fragment longer than the file is refused (GDCM would assert)")
    func dicomFragmentLength() throws {
        let (folder, file) = try Self.inFolder("dicom", "basic-offset-table-item-too-long.dcm")
        defer { folder.cleanup() }
        #expect {
            try DICOMHeader.read(at: file)
        } throws: { error in
            guard case CTVolumeError.invalidDICOM(let path, let reason) = error else { return false }
            return path == file.path && reason.contains("item declares")
        }
    }

    @Test("native pixel data declaring 4 GB: the header reads, the series read says truncated")
    func dicomPixelLength() throws {
        let (folder, file) = try Self.inFolder("dicom", "pixel-data-declares-4gb.dcm")
        defer { folder.cleanup() }
        let header = try DICOMHeader.read(at: file)
        #expect(header.rows > 0)
        #expect {
            try ScanReader.read(at: folder.url)
        } throws: { error in
            "\(error)".contains("truncated") && "\(error)".contains(file.lastPathComponent)
        }
    }

    @Test("a header declaring a 37662 x 64547 image in a 3 kB file is refused before 9.7 GB are allocated, naming the file")
    func dicomImageSizeBeyondFile() throws {
        let (folder, file) = try Self.inFolder("dicom", "image-size-declares-9gb.dcm")
        defer { folder.cleanup() }
        let header = try DICOMHeader.read(at: file)
        #expect(header.rows * header.columns > 2_000_000_000)
        #expect {
            try ScanReader.read(at: folder.url)
        } throws: { error in
            guard case CTVolumeError.invalidDICOM(let path, let reason) = error else { return false }
            return path == file.path && reason.contains("cannot be held by a file")
        }
    }

    @Test("an impossible Bits Allocated with a JPEG syntax is refused before GDCM's codec asserts")
    func dicomBitsAllocated() throws {
        let (folder, file) = try Self.inFolder("dicom", "bits-allocated-62992-jpeg.dcm")
        defer { folder.cleanup() }
        #expect {
            try ScanReader.read(at: folder.url)
        } throws: { error in
            guard case CTVolumeError.invalidDICOM(let path, _) = error else { return false }
            return path == file.path || path == folder.url.path
        }
    }

    @Test("a file of six bytes is not DICOM, and GDCM never sees it (it asserts on one)")
    func dicomSixBytes() throws {
        let (folder, file) = try Self.inFolder("dicom", "six-bytes.dcm")
        defer { folder.cleanup() }
        #expect(throws: CTVolumeError.self) { try DICOMHeader.read(at: file) }
    }

    @Test("an element with two letters that are no VR is refused (GDCM would read 4 bytes of length and allocate 2 GB)")
    func dicomUnknownVR() throws {
        let (folder, file) = try Self.inFolder("dicom", "unknown-vr-2gb.dcm")
        defer { folder.cleanup() }
        #expect {
            try DICOMHeader.read(at: file)
        } throws: { error in
            guard case CTVolumeError.invalidDICOM(let path, let reason) = error else { return false }
            return path == file.path && reason.contains("unknown VR")
        }
    }

    @Test("an undefined length on an OB element that is not the pixel data is refused (GDCM asserts)")
    func dicomUndefinedLengthOB() throws {
        let (folder, file) = try Self.inFolder("dicom", "undefined-length-not-sq.dcm")
        defer { folder.cleanup() }
        #expect {
            try DICOMHeader.read(at: file)
        } throws: { error in
            guard case CTVolumeError.invalidDICOM(let path, let reason) = error else { return false }
            return path == file.path && reason.contains("undefined length")
        }
    }

    @Test("Columns with a VR other than US is refused before GDCM's typed accessor asserts on it")
    func dicomColumnsVR() throws {
        let (folder, file) = try Self.inFolder("dicom", "columns-with-wrong-vr.dcm")
        defer { folder.cleanup() }
        #expect {
            try ScanReader.read(at: folder.url)
        } throws: { error in
            guard case CTVolumeError.invalidDICOM = error else { return false }
            return "\(error)".contains(file.lastPathComponent) || "\(error)".contains(folder.url.lastPathComponent)
        }
    }

    @Test("a damaged deflated data set is refused by the structure walk (GDCM asserted while inflating it)")
    func dicomDeflated() throws {
        let (folder, file) = try Self.inFolder("dicom", "deflated-data-set-damaged.dcm")
        defer { folder.cleanup() }
        #expect {
            try DICOMHeader.read(at: file)
        } throws: { error in
            guard case CTVolumeError.invalidDICOM(let path, let reason) = error else { return false }
            return path == file.path && reason.contains("deflated")
        }
    }

    @Test("a JPEG stream on which GDCM's codec asserts fails alone: decoding runs in a child process, and this process goes on")
    func dicomCodecAssertIsolated() throws {
        let (folder, file) = try Self.inFolder("dicom", "jpeg16-codec-asserts.dcm")
        defer { folder.cleanup() }
        let header = try DICOMHeader.read(at: file)
        #expect {
            try header.readStoredPixels()
        } throws: { error in
            guard case CTVolumeError.invalidDICOM(let path, let reason) = error else { return false }
            return path == file.path && reason.contains("child process") && reason.contains("signal 6")
        }
        // and the process still reads a sound file afterwards
        let sound = try #require(Bundle.module.url(forResource: "dicom", withExtension: nil, subdirectory: "Fixtures")).appendingPathComponent("structure/implicit")
        #expect(try ScanReader.read(at: sound).shape.z == 3)
    }

    static var dicomRegressions: [String] {
        let folder = regression("dicom", "")
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".dcm") }.sorted()
    }

    /// Saved inputs that are damaged but decodable: GDCM's JPEG decoder asked for about 4 GB
    /// under the fuzzer's malloc limit, yet the stream decodes (with libjpeg's warnings) in a
    /// plain build, in the decoding child, within its bounded address space.
    static let decodable: Set<String> = ["decoder-allocates-4gb.dcm"]

    @Test("every saved DICOM input is refused as a series with an error naming a file (or, for the decodable ones, read), never a crash",
          arguments: dicomRegressions)
    func everyDICOMRegressionIsRefused(_ name: String) throws {
        let (folder, _) = try Self.inFolder("dicom", name)
        defer { folder.cleanup() }
        if Self.decodable.contains(name) {
            #expect(try ScanReader.read(at: folder.url).shape.z == 1)
        } else {
            #expect(throws: CTVolumeError.self) { try ScanReader.read(at: folder.url) }
        }
    }

    @Test("the saved DICOM inputs are all there (the list above is not empty by accident)")
    func dicomRegressionsExist() {
        #expect(Self.dicomRegressions.count >= 8)
    }
}
