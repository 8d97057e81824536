import Foundation
import Testing
@testable import CTVolume

/// Valid series in less common encodings, from scripts/fixtures/dicom_fixtures.py
/// (`structure_fixtures()`, `Fixtures/dicom/structure/`, listed under `structure` in the
/// manifest): the structure walk that runs before GDCM must let them through, and they must read
/// to the values the script wrote. Every series is 3 axial slices of 8 x 8 int16, PixelSpacing
/// 0.5 mm, 2 mm apart, HU = 100 k + 8 j + i - 500 (i column, j row, k slice by ascending z).
enum DICOMStructureFixture {
    /// Implicit VR LE; sequences and items of undefined length; a private sequence as UN of
    /// undefined length; no preamble; 6 zero bytes after the pixel data.
    static let names = ["implicit", "sequences", "un-sequence", "no-preamble", "trailing-zeros", "deflated"]
    /// The series whose pixels read (`trailing-zeros` is refused: ``DICOMStructureTests/trailingBytesAreRefused()``).
    static let readable = names.filter { $0 != "trailing-zeros" }

    static var entries: [[String: Any]] { DICOMFixture.manifest["structure"] as! [[String: Any]] }
    static func entry(_ name: String) -> [String: Any] { entries.first { $0["name"] as! String == name }! }
    static func folder(_ name: String) -> URL { DICOMFixture.url(entry(name)["folder"] as! String) }

    static func hu(_ i: Int, _ j: Int, _ k: Int) -> Float { Float(100 * k + 8 * j + i - 500) }

    /// Reads the series with ``ScanReader`` and checks shape, every voxel, the HU range and
    /// the affine against the manifest.
    static func checkRead(_ name: String) throws {
        let e = entry(name)
        let read = try ScanReader.readWithReport(at: folder(name))
        let scan = read.scan
        #expect(scan.shape == GridShape(8, 8, 3))
        guard scan.shape == GridShape(8, 8, 3) else { return }
        // NIfTI voxel order: i (column) fastest, then j (row), then k (ascending z).
        var off = 0
        for k in 0..<3 {
            for j in 0..<8 {
                for i in 0..<8 where scan[i, j, k] != hu(i, j, k) { off += 1 }
            }
        }
        #expect(off == 0, "\(name): \(off) voxels differ from 100 k + 8 j + i - 500")
        // The same values in any order (a check that does not hinge on the voxel order).
        let expected = (0..<3).flatMap { k in (0..<8).flatMap { j in (0..<8).map { i in hu(i, j, k) } } }
        #expect(scan.voxels.sorted() == expected.sorted())
        #expect(scan.voxels.min() == Float((e["huMin"] as! NSNumber).doubleValue) && scan.voxels.min() == -500)
        #expect(scan.voxels.max() == Float((e["huMax"] as! NSNumber).doubleValue) && scan.voxels.max() == -237)
        let affine = DICOMFixture.matrix(e["affineRAS"])
        let worst = zip(scan.geometry.affine.m, affine).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-6, "\(name): affine off by \(worst) mm")
        let report = try #require(read.dicom)
        #expect(report.files == 3 && report.slices == 3 && !report.resampled)
        #expect(report.transferSyntaxes == [e["transferSyntaxUID"] as! String])
        #expect(report.seriesInstanceUID == e["seriesInstanceUID"] as! String)
        #expect(report.warnings.isEmpty, "\(report.warnings)")
    }
}

@Suite("DICOM files in less common encodings pass the structure walk and read")
struct DICOMStructureTests {
    @Test("the manifest lists the six structure series, each in its own folder of three files")
    func manifestLists() throws {
        #expect(DICOMStructureFixture.entries.map { $0["name"] as! String } == DICOMStructureFixture.names)
        for name in DICOMStructureFixture.names {
            let files = try FileManager.default.contentsOfDirectory(atPath: DICOMStructureFixture.folder(name).path)
            #expect(files.sorted() == (DICOMStructureFixture.entry(name)["filesInSliceOrder"] as! [String]).sorted())
        }
    }

    @Test("a valid series in a less common encoding reads to the written HU, voxel for voxel",
          arguments: DICOMStructureFixture.readable)
    func reads(_ name: String) throws {
        try DICOMStructureFixture.checkRead(name)
    }

    // GDCM 3.0.21 (Debian, assertions on) aborts the process in
    // VR16ExplicitDataElement::ReadPreValue when 4 to 7 bytes follow the pixel data; the
    // structure walk refuses such files before GDCM reads their pixels.
    @Test("6 stray bytes after the pixel data: the header reads, the pixel read is refused naming the file")
    func trailingBytesAreRefused() throws {
        #expect {
            try ScanReader.read(at: DICOMStructureFixture.folder("trailing-zeros"))
        } throws: { error in
            guard case CTVolumeError.invalidDICOM(let path, let reason) = error else { return false }
            return path.hasSuffix(".dcm") && reason.contains("stray bytes after the pixel data")
        }
    }

    @Test("every file's header reads, with the series' UID, transfer syntax, size and rescale",
          arguments: DICOMStructureFixture.names)
    func headers(_ name: String) throws {
        let e = DICOMStructureFixture.entry(name)
        let folder = DICOMStructureFixture.folder(name)
        for file in e["filesInSliceOrder"] as! [String] {
            let header = try DICOMHeader.read(at: folder.appendingPathComponent(file))
            #expect(header.seriesInstanceUID == e["seriesInstanceUID"] as! String, "\(name)/\(file)")
            #expect(header.transferSyntaxUID == e["transferSyntaxUID"] as! String, "\(name)/\(file)")
            #expect(header.modality == "CT" && header.rows == 8 && header.columns == 8, "\(name)/\(file)")
            #expect(header.bitsAllocated == 16 && header.pixelRepresentation == 1, "\(name)/\(file)")
            #expect(header.rescaleSlope == 1, "\(name)/\(file)")
            #expect(header.rescaleIntercept == (e["rescaleIntercept"] as! NSNumber).doubleValue, "\(name)/\(file)")
            #expect(header.position != nil && header.orientation != nil, "\(name)/\(file)")
        }
    }
}
