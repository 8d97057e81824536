import CTVolume
import Foundation
import Testing
import TestSupport

/// `ichctl render` as a user runs it: a PNG of the right size, refusal to overwrite,
/// and errors that name the offending file.
@Suite struct RenderCommandTests {
    /// A 12 x 10 x 3 scan (brain 30 HU, a 70 HU square) and its mask.
    static func writeCase(in dir: URL) throws -> (scan: URL, mask: URL) {
        let shape = GridShape(12, 10, 3)
        let geometry = Geometry(spacing: SIMD3(0.5, 0.5, 5))
        var scan = ScanVolume(shape: shape, repeating: 30, geometry: geometry)
        var mask = MaskVolume(shape: shape, repeating: 0, geometry: geometry)
        for j in 3..<6 { for i in 4..<8 { scan[i, j, 1] = 70; mask[i, j, 1] = 1 } }
        let s = dir.appendingPathComponent("scan.nii.gz"), m = dir.appendingPathComponent("mask.nii.gz")
        try NIfTI.write(scan, to: s)
        try NIfTI.write(mask, to: m)
        return (s, m)
    }

    @Test func sliceAndMontageHaveTheScanSize() throws {
        let folder = TemporaryFolder(prefix: "ichctl-tests"), dir = folder.url
        defer { folder.cleanup() }
        let (scan, mask) = try Self.writeCase(in: dir)
        let one = dir.appendingPathComponent("one.png")
        let r = try ICHCTLRunner.run(["render", scan.path, "--out", one.path, "--slice", "1", "--mask", mask.path])
        #expect(r.status == 0, "\(r.stderr)")
        let image = try PNG.read(at: one)
        #expect(image.width == 12 && image.height == 10)

        let grid = dir.appendingPathComponent("grid.png")
        let m = try ICHCTLRunner.run(["render", scan.path, "--out", grid.path, "--montage", "--columns", "3"])
        #expect(m.status == 0, "\(m.stderr)")
        let montage = try PNG.read(at: grid)
        #expect(montage.width >= 36 && montage.height >= 10)

        // a heat-map range with a negative lower end is read as a value, not as an option
        let heat = dir.appendingPathComponent("heat.png")
        let h = try ICHCTLRunner.run(["render", scan.path, "--out", heat.path, "--heatmap", scan.path, "--heatmap-range", "-1000:1000"])
        #expect(h.status == 0, "\(h.stderr)")
        #expect(FileManager.default.fileExists(atPath: heat.path))
    }

    @Test func existingOutputIsKeptWithoutForce() throws {
        let folder = TemporaryFolder(prefix: "ichctl-tests"), dir = folder.url
        defer { folder.cleanup() }
        let (scan, _) = try Self.writeCase(in: dir)
        let out = dir.appendingPathComponent("out.png")
        try Data("keep me".utf8).write(to: out)
        let r = try ICHCTLRunner.run(["render", scan.path, "--out", out.path, "--slice", "0"])
        #expect(r.status != 0)
        #expect(r.stderr.contains(out.path))
        #expect(try Data(contentsOf: out) == Data("keep me".utf8))
        let forced = try ICHCTLRunner.run(["render", scan.path, "--out", out.path, "--slice", "0", "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try PNG.read(at: out).width == 12)
    }

    @Test func maskOnAnotherGridIsRefusedByName() throws {
        let folder = TemporaryFolder(prefix: "ichctl-tests"), dir = folder.url
        defer { folder.cleanup() }
        let (scan, _) = try Self.writeCase(in: dir)
        let other = dir.appendingPathComponent("other.nii.gz")
        try NIfTI.write(MaskVolume(shape: GridShape(5, 5, 3), repeating: 0, geometry: Geometry(spacing: SIMD3(1, 1, 5))), to: other)
        let out = dir.appendingPathComponent("x.png")
        let r = try ICHCTLRunner.run(["render", scan.path, "--out", out.path, "--slice", "0", "--mask", other.path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("other.nii.gz"))
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test func sliceOutsideTheVolumeIsAnError() throws {
        let folder = TemporaryFolder(prefix: "ichctl-tests"), dir = folder.url
        defer { folder.cleanup() }
        let (scan, _) = try Self.writeCase(in: dir)
        let r = try ICHCTLRunner.run(["render", scan.path, "--out", dir.appendingPathComponent("y.png").path, "--slice", "7"])
        #expect(r.status != 0)
        #expect(!r.stderr.isEmpty)
    }
}
