import Foundation
import Testing
import CTVolume

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
