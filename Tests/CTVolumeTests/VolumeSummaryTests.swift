import Foundation
import Testing
import CTVolume
import TestSupport

/// `VolumeSummary` (what `ichctl inspect` prints) against values computed from nibabel's
/// `get_fdata` output of the fixtures.
@Suite struct VolumeSummaryTests {
    @Test func scanRangeAndMean() throws {
        let s = try VolumeSummary.of(NIfTIFixture.url("int16_hu.nii.gz"))
        let hu = NIfTIFixture.floats("int16_hu.hu.bin")
        #expect(!s.isMask)
        #expect(s.minimum == hu.min()! && s.maximum == hu.max()!)
        let mean = hu.reduce(0.0) { $0 + Double($1) } / Double(hu.count)
        #expect(abs(s.mean - mean) < 1e-9)
        #expect(s.foregroundVoxels == nil)
        #expect(s.affineSource == "sform")
        #expect(s.text.contains("HU range"))
        #expect(s.text.contains("raw * 1 - 1024"))
    }

    @Test func maskCountAndVolume() throws {
        let s = try VolumeSummary.of(NIfTIFixture.url("mask.nii.gz"))
        let values = NIfTIFixture.floats("mask.hu.bin")
        let spacing = NIfTIFixture.numbers(NIfTIFixture.good("mask.nii.gz")["spacing"])
        let count = values.filter { $0 > 0 }.count
        #expect(s.isMask)
        #expect(s.foregroundVoxels == count)
        #expect(abs(s.foregroundML! - Double(count) * spacing[0] * spacing[1] * spacing[2] / 1000) < 1e-9)
        #expect(s.text.contains("\(count) voxels > 0"))
    }

    @Test("head span and offset: the head's box over the slices' square, in the networks' voxel order; none for masks or air")
    func headSpan() throws {
        let folder = TemporaryFolder(prefix: "span")
        defer { folder.cleanup() }
        // 40 columns x 30 rows, a box of 15 rows x 32 columns: 32 / 40
        let lasAffine = Affine(rowMajor: [-0.5, 0, 0, 10, 0, 0.5, 0, -20, 0, 0, 5, 30, 0, 0, 0, 1])
        var scan = ScanVolume(shape: GridShape(40, 30, 2), repeating: -1000, geometry: Geometry(affine: lasAffine))
        for k in 0..<2 { for j in 5..<20 { for i in 3..<35 { scan[i, j, k] = 35 } } }
        let url = folder.file("head.nii.gz")
        try NIfTI.write(scan, to: url)
        let s = try VolumeSummary.of(url)
        #expect(s.headSpan == 32.0 / 40 && s.text.contains("head span       0.800"))
        // rows 5..<20 of 30 (centre 12 against 14.5) over the side 40: 2.5 / 40
        #expect(s.headOffset == 2.5 / 40 && s.text.contains("head offset     0.06"))
        // the same voxels stored PSR (an axial slice no longer one of the file's planes):
        // measured on the LAS slices, the same span
        let psr = Reorientation(scan, target: "PSR").apply(scan)
        #expect(psr.shape == GridShape(30, 2, 40))
        try NIfTI.write(psr, to: folder.file("psr.nii.gz"))
        let psrSummary = try VolumeSummary.of(folder.file("psr.nii.gz"))
        #expect(psrSummary.headSpan == 32.0 / 40 && psrSummary.headOffset == 2.5 / 40)
        let air = ScanVolume(shape: GridShape(8, 8, 2), repeating: -1000, geometry: Geometry(spacing: SIMD3(1, 1, 1)))
        try NIfTI.write(air, to: folder.file("air.nii.gz"))
        #expect(try VolumeSummary.of(folder.file("air.nii.gz")).headSpan == nil && VolumeSummary.of(folder.file("air.nii.gz")).headOffset == nil)
        #expect(try VolumeSummary.of(NIfTIFixture.url("mask.nii.gz")).headSpan == nil)
    }

    @Test func maskFlagAndBinaryDetection() throws {
        #expect(try VolumeSummary.of(NIfTIFixture.url("float32.nii.gz"), asMask: true).isMask)
        #expect(try !VolumeSummary.of(NIfTIFixture.url("mask.nii.gz"), asMask: false).isMask)
        #expect(try !VolumeSummary.of(NIfTIFixture.url("float32.nii.gz")).isMask)
    }

    @Test func summaryEncodesAsJSON() throws {
        let s = try VolumeSummary.of(NIfTIFixture.url("pixdim_only.nii"))
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(s)) as! [String: Any]
        #expect(object["affineSource"] as? String == "pixdim")
        #expect((object["header"] as? [String: Any])?["orientation"] as? String == "RAS")
    }
}
