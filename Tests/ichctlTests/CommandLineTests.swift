import CTVolume
import Foundation
import Testing

/// Runs the built `ichctl` executable as a user would and checks its output and exit status.
enum ICHCTLRunner {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The `ichctl` binary next to the test bundle (both live in the build products folder).
    static var binary: URL {
        var dir = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("ichctl")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("ichctl")
    }

    static func run(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e, as: UTF8.self))
    }

    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ichctl-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
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
        let dir = try ICHCTLRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
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
