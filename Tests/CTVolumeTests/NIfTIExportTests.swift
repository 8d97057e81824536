import Foundation
import Testing
import CTVolume
import TestSupport

/// Writes files for nibabel to check (scripts/fixtures/nifti_check_written.py). Does nothing
/// unless `ICHCT_NIFTI_EXPORT` names a folder, so plain `swift test` needs no Python.
@Suite struct NIfTIExportTests {
    static let sources = ["sform_qform_differ.nii.gz", "qform_only.nii.gz", "float64.nii", "big_endian.nii",
                          "pixdim_only.nii", "shear_sform.nii", "int16_hu.nii.gz"]

    @Test(.enabled(if: ProcessInfo.processInfo.environment["ICHCT_NIFTI_EXPORT"] != nil,
                   "exports files for scripts/fixtures/nifti_check_written.py; set ICHCT_NIFTI_EXPORT"))
    func exportForNibabel() throws {
        guard let folder = ProcessInfo.processInfo.environment["ICHCT_NIFTI_EXPORT"] else { return }
        let out = URL(fileURLWithPath: folder)
        for name in Self.sources {
            let scan = try NIfTI.readScan(at: NIfTIFixture.url(name))
            try NIfTI.write(scan, to: out.appendingPathComponent("f32_" + name), overwrite: true)
            try NIfTI.write(scan.map { $0.rounded() }, to: out.appendingPathComponent("i16_" + name),
                            datatype: .int16(slope: 0.5, intercept: -7), overwrite: true)
            try NIfTI.write(scan.map { $0 > 0 ? UInt8(1) : 0 }, to: out.appendingPathComponent("mask_" + name), overwrite: true)
        }
    }
}
