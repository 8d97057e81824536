import CTVolume
import Foundation
import Testing
import TestSupport

/// Runs the built `ichctl` executable (next to the test bundle) as a user would: status,
/// stdout and stderr of one run, stdin the null device.
enum ICHCTLRunner {
    static let ichctl = CommandRunner(executableNamed: "ichctl")

    static func run(_ arguments: [String]) throws -> CommandResult { try ichctl.run(arguments) }
}

@Suite struct CommandLineTests {
    @Test func helpListsTheSubcommands() throws {
        let r = try ICHCTLRunner.run(["--help"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("inspect"))
    }

    @Test func inspectMissingFileNamesItAndFails() throws {
        let r = try ICHCTLRunner.run(["inspect", "/nonexistent/scan.nii.gz"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("/nonexistent/scan.nii.gz"))
        #expect(r.stdout.isEmpty)
    }

    @Test func inspectJSONReportsGridAndMaskVolume() throws {
        let folder = TemporaryFolder(prefix: "ichctl-tests"), dir = folder.url
        defer { folder.cleanup() }
        let shape = GridShape(6, 5, 4)
        var mask = MaskVolume(shape: shape, repeating: 0, geometry: Geometry(spacing: SIMD3(0.5, 0.5, 5)))
        for i in 0..<3 { mask[i, 2, 1] = 1 }   // 3 voxels of 1.25 mm^3
        let url = dir.appendingPathComponent("m.nii.gz")
        try NIfTI.write(mask, to: url)
        let r = try ICHCTLRunner.run(["inspect", url.path, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(json != nil)
        #expect(r.stdout.contains("\"foregroundVoxels\" : 3"))
        #expect(r.stdout.contains("0.00375"))
    }
}
