import Foundation
import Testing
import CTVolume
import TestSupport

/// Reading checked against nibabel 5 on the fixtures of scripts/fixtures/nifti_fixtures.py:
/// header fields, `get_qform` / `get_sform` / effective affine, `aff2axcodes`, and
/// `get_fdata(dtype=np.float32)` value for value.
@Suite struct NIfTIReadTests {
    @Test(arguments: NIfTIFixture.goodNames)
    func headerMatchesNibabel(_ name: String) throws {
        let e = NIfTIFixture.good(name)
        let h = try NIfTI.readHeader(at: NIfTIFixture.url(name))
        let shape = e["shape"] as! [Int]
        #expect(h.shape == GridShape(shape[0], shape[1], shape[2]))
        #expect(h.dimensions == e["dimensions"] as! [Int])
        #expect(h.datatype == e["datatype"] as! String)
        let spacing = NIfTIFixture.numbers(e["spacing"])
        #expect(abs(h.spacing.x - spacing[0]) < 1e-9 && abs(h.spacing.y - spacing[1]) < 1e-9 && abs(h.spacing.z - spacing[2]) < 1e-9)
        let slope = NIfTIFixture.number(e["scl_slope"]), inter = NIfTIFixture.number(e["scl_inter"])
        #expect(h.sclSlope == Float(slope) || (slope.isNaN && h.sclSlope.isNaN))
        #expect(h.sclInter == Float(inter))
        #expect((h.scaling != .raw) == (e["scaled"] as! Bool))
        #expect(Int(h.qformCode) == e["qform_code"] as! Int)
        #expect(Int(h.sformCode) == e["sform_code"] as! Int)
        NIfTIFixture.expectClose(h.qform, NIfTIFixture.numbers(e["qform"]), "qform")
        NIfTIFixture.expectClose(h.sform, NIfTIFixture.numbers(e["sform"]), "sform")
        NIfTIFixture.expectClose(h.affine, NIfTIFixture.numbers(e["affine"]), "affine")
        #expect(h.orientation == e["orientation"] as! String)
        #expect(h.isCompressed == e["compressed"] as! Bool)
        #expect(h.byteOrder == e["byte_order"] as! String)
        #expect(h.path.hasSuffix(name))
    }

    @Test(arguments: NIfTIFixture.goodNames)
    func voxelsMatchGetFdata(_ name: String) throws {
        let e = NIfTIFixture.good(name)
        let scan = try NIfTI.readScan(at: NIfTIFixture.url(name))
        let expected = NIfTIFixture.floats(e["hu"] as! String)
        #expect(scan.voxels.count == expected.count)
        let mismatches = zip(scan.voxels, expected).filter { $0 != $1 }.count
        #expect(mismatches == 0, "\(mismatches) voxels differ from nibabel")
        NIfTIFixture.expectClose(scan.geometry.affine, NIfTIFixture.numbers(e["affine"]), "geometry.affine")
    }

    @Test func maskIsPositiveVoxels() throws {
        let mask = try NIfTI.readMask(at: NIfTIFixture.url("mask.nii.gz"))
        let values = NIfTIFixture.floats("mask.hu.bin")
        #expect(mask.voxels == values.map { $0 > 0 ? 1 : 0 })
        #expect(Set(mask.voxels).isSubset(of: [0, 1]))
        #expect(values.contains(2))  // the fixture really holds a label > 1
    }

    @Test func fourDimensionalWithOneTimePointReadsAsThreeD() throws {
        let h = try NIfTI.readHeader(at: NIfTIFixture.url("four_d_one.nii.gz"))
        #expect(h.dimensions == [7, 5, 3, 1])
        #expect(h.shape == GridShape(7, 5, 3))
    }

    @Test("a symbolic link to a volume reads as the volume (its size is the target's, not the link's)",
          arguments: ["float32.nii.gz", "big_endian.nii"])
    func symbolicLinkReadsAsItsTarget(_ name: String) throws {
        let folder = TemporaryFolder(prefix: "ichct-link"); defer { folder.cleanup() }
        let link = folder.file(name)
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: NIfTIFixture.url(name))
        let viaLink = try NIfTI.readScan(at: link), direct = try NIfTI.readScan(at: NIfTIFixture.url(name))
        #expect(viaLink.shape == direct.shape)
        #expect(viaLink.voxels == direct.voxels)
    }

    @Test func unsupportedDatatypeStillHasAReadableHeader() throws {
        let h = try NIfTI.readHeader(at: NIfTIFixture.url("complex64.nii"))
        #expect(h.datatype == "complex64")
    }
}

/// Every broken fixture raises the CTVolumeError case the fixture script names, and the
/// message names the file.
@Suite struct NIfTIBadInputTests {
    static func kind(_ error: CTVolumeError) -> String {
        switch error {
        case .io: return "io"
        case .notNIfTI: return "notNIfTI"
        case .invalidHeader: return "invalidHeader"
        case .truncated: return "truncated"
        case .unsupportedDatatype: return "unsupportedDatatype"
        case .unsupportedDimensions: return "unsupportedDimensions"
        case .nonFiniteVoxels: return "nonFiniteVoxels"
        case .gridMismatch: return "gridMismatch"
        case .outputExists: return "outputExists"
        case .invalidDataset: return "invalidDataset"
        case .notDICOM: return "notDICOM"
        case .invalidDICOM: return "invalidDICOM"
        case .invalidParameter: return "invalidParameter"
        }
    }

    @Test(arguments: NIfTIFixture.badNames)
    func brokenFileRaisesItsError(_ name: String) throws {
        let e = NIfTIFixture.bad(name)
        do {
            _ = try NIfTI.readScan(at: NIfTIFixture.url(name))
            Issue.record("\(name) was read")
        } catch let error as CTVolumeError {
            #expect(Self.kind(error) == e["error"] as! String, "\(name): \(error)")
            #expect(error.description.contains(name))
            if case .nonFiniteVoxels(_, let count) = error { #expect(count == e["count"] as! Int) }
            if case .unsupportedDatatype(_, let datatype) = error { #expect(datatype == e["datatype"] as! String) }
        }
    }

    @Test func missingFile() {
        #expect(throws: CTVolumeError.io(path: "/nonexistent/x.nii.gz", reason: "no such file")) {
            try NIfTI.readScan(at: URL(fileURLWithPath: "/nonexistent/x.nii.gz"))
        }
    }

    @Test func shortFileSaysHowShort() throws {
        do {
            _ = try NIfTI.readScan(at: NIfTIFixture.url("short.nii"))
        } catch let error as CTVolumeError {
            // 7x5x3 int16 = 210 bytes promised, 100 present.
            #expect(error.description.contains("7x5x3 int16 (210 bytes from offset 352)"), "\(error)")
            #expect(error.description.contains("holds 100 bytes"), "\(error)")
        }
    }

    @Test func fourDimensionalWithSeveralTimePointsIsRefused() {
        #expect(throws: CTVolumeError.self) { try NIfTI.readHeader(at: NIfTIFixture.url("four_d_three.nii.gz")) }
    }
}
