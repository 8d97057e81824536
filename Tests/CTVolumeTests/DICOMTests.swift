import Foundation
import Testing
@testable import CTVolume
import TestSupport

/// The DICOM reader against scripts/fixtures/dicom_fixtures.py: series written with pydicom
/// (file names and Instance Numbers unrelated to position), reference volumes computed with
/// pydicom + numpy and written by nibabel, and dcm2niix's conversions (`Fixtures/dicom/`).
enum DICOMFixture {
    static var root: URL { Bundle.module.url(forResource: "dicom", withExtension: nil, subdirectory: "Fixtures")! }
    static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    nonisolated(unsafe) static let manifest: [String: Any] = {
        try! JSONSerialization.jsonObject(with: Data(contentsOf: url("manifest.json"))) as! [String: Any]
    }()
    static var good: [[String: Any]] { manifest["good"] as! [[String: Any]] }
    static var bad: [[String: Any]] { manifest["bad"] as! [[String: Any]] }
    /// The good series the suite reads. Under the thread sanitizer (scripts/sanitize.sh sets
    /// ICHCT_SKIP_THREADED_CODECS) the JPEG 2000 series is left out: its pixels are decoded in
    /// a forked child, where OpenJPEG starts threads, and TSan does not support threads started
    /// after a multi-threaded process forks (the child crashed at random, once in four runs).
    /// The unsanitized suite and the address sanitizer read it.
    static var goodNames: [String] {
        let all = good.map { $0["name"] as! String }
        return ProcessInfo.processInfo.environment["ICHCT_SKIP_THREADED_CODECS"] == nil ? all : all.filter { $0 != "j2k" }
    }
    static var badNames: [String] { bad.map { $0["name"] as! String } }
    static func good(_ name: String) -> [String: Any] { good.first { $0["name"] as! String == name }! }
    static func bad(_ name: String) -> [String: Any] { bad.first { $0["name"] as! String == name }! }

    static func numbers(_ value: Any?) -> [Double] { (value as! [Any]).map { ($0 as! NSNumber).doubleValue } }
    static func matrix(_ value: Any?) -> [Double] { (value as! [[Any]]).flatMap { $0.map { ($0 as! NSNumber).doubleValue } } }

    static func read(_ name: String) throws -> DICOMScan {
        try DICOMSeriesReader.read(folder: url(good(name)["folder"] as! String))
    }
}

@Suite("DICOM series against pydicom, nibabel and dcm2niix")
struct DICOMTests {
    @Test("each good series gives the reference's grid, affine and HU, and reports what it did", arguments: DICOMFixture.goodNames)
    func matchesReference(_ name: String) throws {
        let e = DICOMFixture.good(name)
        let read = try DICOMFixture.read(name)
        let reference = try NIfTI.readScan(at: DICOMFixture.url(e["reference"] as! String))
        let shape = e["shape"] as! [Int]
        #expect(read.scan.shape == GridShape(shape[0], shape[1], shape[2]))
        #expect(read.scan.shape == reference.shape)
        let expectedAffine = DICOMFixture.matrix(e["affineRAS"])
        let worst = zip(read.scan.geometry.affine.m, expectedAffine).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-4, "affine off by \(worst) mm")
        #expect(zip(read.scan.geometry.affine.m, reference.geometry.affine.m).allSatisfy { abs($0 - $1) < 1e-4 })
        let interpolated = !(e["interpolatedSlices"] as! [Any]).isEmpty
        let tolerance: Float = interpolated ? 1e-3 : 0
        let off = zip(read.scan.voxels, reference.voxels).filter { abs($0 - $1) > tolerance }.count
        #expect(off == 0, "\(off) voxels differ from the pydicom reference")
        let r = read.report
        #expect(r.files == e["slicesIn"] as! Int)
        #expect(r.slices == e["slicesOut"] as! Int)
        #expect(r.resampled == interpolated)
        #expect(abs(r.tiltDegrees - (e["tiltDegrees"] as! NSNumber).doubleValue) < 0.01)
        #expect(r.paddingVoxels == (e["paddingVoxels"] as? Int ?? 0))
        #expect(r.transferSyntaxes == [e["transferSyntaxUID"] as! String])
        let gapExpected = (e["expectedWarnings"] as! [String]).contains("gap")
        #expect(r.warnings.contains { $0.hasPrefix("gap of") } == gapExpected, "\(r.warnings)")
        #expect(r.warnings.contains { $0.contains("gantry tilt") } == (r.tiltDegrees > 0.01))
        // A tilted series keeps its shear in the sform only.
        #expect(read.scan.geometry.qformCode == (r.tiltDegrees > 0.01 ? 0 : 1))
        #expect(read.scan.geometry.sformCode == 1)
    }

    @Test("slices are ordered by position along the normal, not by file name or Instance Number", arguments: DICOMFixture.goodNames)
    func order(_ name: String) throws {
        let e = DICOMFixture.good(name)
        let discovery = try DICOMSeries.discover(in: DICOMFixture.url(e["folder"] as! String))
        let plan = try DICOMSeriesReader.plan(try discovery.choose())
        let expected = (e["filesInSliceOrder"] as! [String]).map { URL(fileURLWithPath: $0).lastPathComponent }
        #expect(plan.headers.map { $0.url.lastPathComponent } == expected)
        let positions = DICOMFixture.numbers(e["positionsAlongNormal"])
        #expect(zip(plan.positions, positions).allSatisfy { abs($0 - $1) < 1e-6 })
        let names = plan.headers.map { $0.url.lastPathComponent }
        #expect(names != names.sorted() && names != names.sorted().reversed())
    }

    @Test("dcm2niix's conversion holds the same HU at the same world positions (padding and int16 rounding aside)",
          arguments: DICOMFixture.goodNames.filter { DICOMFixture.good($0)["dcm2niix"] is String })
    func matchesDcm2niix(_ name: String) throws {
        let e = DICOMFixture.good(name)
        let ours = try DICOMFixture.read(name).scan
        let theirs = try NIfTI.readScan(at: DICOMFixture.url(e["dcm2niix"] as! String))
        // Both brought to one voxel order (LAS) from their affines: then voxel for voxel.
        let a = Reorientation(ours).apply(ours), b = Reorientation(theirs).apply(theirs)
        #expect(a.shape == b.shape)
        let worst = zip(a.geometry.affine.m, b.geometry.affine.m).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-3, "affines differ by \(worst) mm")
        let agreement = e["dcm2niixAgreement"] as! String
        let tolerance: Float = agreement.contains("within 0.5") ? 0.5 + 1e-3 : 0
        var padding = 0, off = 0
        for (x, y) in zip(a.voxels, b.voxels) {
            if x == -1024 && y == -3024 { padding += 1 } else if abs(x - y) > tolerance { off += 1 }
        }
        #expect(off == 0, "\(off) voxels differ from dcm2niix")
        #expect(padding == (agreement.contains("padding") ? e["paddingVoxels"] as! Int : 0))
    }

    @Test("a tilted series written to NIfTI reads back with its sheared sform")
    func tiltRoundTrip() throws {
        let scan = try DICOMFixture.read("tilt").scan
        let folder = TemporaryFolder(prefix: "tilt"), file = folder.file("tilt.nii.gz")
        defer { folder.cleanup() }
        try NIfTI.write(scan, to: file, datatype: .int16())
        let back = try NIfTI.readScan(at: file)
        #expect(back.geometry.sformCode == 1 && back.geometry.qformCode == 0)
        #expect(zip(back.geometry.affine.m, scan.geometry.affine.m).allSatisfy { abs($0 - $1) < 1e-4 })
        #expect(back.voxels == scan.voxels)
        // The shear is real: column k is not perpendicular to the slice plane.
        let m = scan.geometry.affine.m
        let columnJ = SIMD3(m[1], m[5], m[9]), columnK = SIMD3(m[2], m[6], m[10])
        #expect(abs((columnJ * columnK).sum()) > 0.1)
    }

    @Test("discovery finds every series of a tree, skips non-DICOM files and chooses the axial CT series with the most files")
    func discoveryAndChoice() throws {
        let discovery = try DICOMSeries.discover(in: DICOMFixture.url("multi"))
        #expect(discovery.series.count == 3)
        #expect(discovery.skipped.map(\.lastPathComponent) == ["README.txt"])
        let chosen = try discovery.choose()
        #expect(chosen.uid == DICOMFixture.good("multi")["seriesInstanceUID"] as! String)
        #expect(chosen.fileCount == 10 && chosen.isAxial && !chosen.isLocalizer)
        let other = discovery.series.first { $0.fileCount == 6 }!
        #expect(try discovery.choose(uid: other.uid).uid == other.uid)
        #expect(discovery.series.contains { $0.isLocalizer })
        do {
            _ = try discovery.choose(uid: "1.2.3.4")
            Issue.record("an unknown UID was accepted")
        } catch let error as CTVolumeError {
            #expect(error.description.contains("1.2.3.4") && error.description.contains(chosen.uid))
        }
        // A folder that holds no DICOM at all.
        let folder = TemporaryFolder(prefix: "nodicom"), empty = folder.url
        defer { folder.cleanup() }
        try Data("not dicom".utf8).write(to: empty.appendingPathComponent("a.txt"))
        #expect(throws: CTVolumeError.self) { try DICOMSeries.discover(in: empty) }
    }

    @Test("broken series are refused with the file and the reason", arguments: DICOMFixture.badNames)
    func refusals(_ name: String) throws {
        let e = DICOMFixture.bad(name)
        do {
            let read = try DICOMSeriesReader.read(folder: DICOMFixture.url(e["folder"] as! String))
            Issue.record("\(name) was read: \(read.report)")
        } catch let error as CTVolumeError {
            guard case .invalidDICOM(let path, let reason) = error else {
                Issue.record("\(name): \(error)")
                return
            }
            if let file = e["file"] as? String { #expect(path.hasSuffix("/" + file), "\(path)") }
            #expect(path.contains(e["folder"] as! String))
            #expect(reason.lowercased().contains((e["reason"] as! String).lowercased()), "\(reason)")
        }
    }

    @Test("per-file values follow the plan: copies keep theirs, interpolated slices take the larger neighbour's")
    func planCarriesLabels() throws {
        let discovery = try DICOMSeries.discover(in: DICOMFixture.url("gap"))
        let plan = try DICOMSeriesReader.plan(try discovery.choose())
        #expect(plan.resampled && plan.sources.count == plan.headers.count + 1)
        let gapAt = plan.steps.firstIndex { $0 > 7.5 }!
        var values = [Float](repeating: 0, count: plan.headers.count)
        values[gapAt + 1] = 1   // the file just above the gap
        let out = plan.outputValues(values)
        #expect(out.count == plan.sources.count)
        #expect(out[gapAt] == 0 && out[gapAt + 1] == 1 && out[gapAt + 2] == 1)   // the filled slice takes 1
        #expect(out.reduce(0, +) == 2)
    }

    @Test("ScanReader reads a DICOM folder and a NIfTI file alike, and refuses --series for a NIfTI file")
    func scanReader() throws {
        let folder = DICOMFixture.url("axial")
        let viaReader = try ScanReader.readWithReport(at: folder)
        #expect(viaReader.dicom != nil)
        let reference = DICOMFixture.url("reference/axial.nii.gz")
        let nifti = try ScanReader.readWithReport(at: reference)
        #expect(nifti.dicom == nil && nifti.scan.voxels == viaReader.scan.voxels)
        #expect(throws: CTVolumeError.self) { try ScanReader.read(at: reference, seriesUID: "1.2") }
    }
}

/// Edge cases built from the fixtures in temporary folders: duplicates, one file, unparsable
/// files, symbolic links.
@Suite("DICOM series edge cases")
struct DICOMEdgeCaseTests {
    /// A temporary copy of the fixture series `folder` (only `files` when given).
    static func copy(_ folder: String, files: [String]? = nil) throws -> TemporaryFolder {
        let copy = TemporaryFolder(prefix: "dicom")
        let source = DICOMFixture.url(folder)
        for name in try files ?? FileManager.default.contentsOfDirectory(atPath: source.path) {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: copy.file(name))
        }
        return copy
    }

    @Test("two files at one position are refused, naming them")
    func duplicatePosition() throws {
        let folder = try Self.copy("axial"), dir = folder.url
        defer { folder.cleanup() }
        try FileManager.default.copyItem(at: dir.appendingPathComponent("IM0564"), to: dir.appendingPathComponent("IM9999"))
        do {
            _ = try DICOMSeriesReader.read(folder: dir)
            Issue.record("a duplicate slice was accepted")
        } catch let error as CTVolumeError {
            #expect(error.description.contains("same position") && error.description.contains("IM0564") && error.description.contains("IM9999"),
                    "\(error)")
        }
    }

    @Test("a one-file series is a one-slice volume, its thickness along the normal, no tilt")
    func oneFile() throws {
        let folder = try Self.copy("axial", files: ["IM0564"]), dir = folder.url
        defer { folder.cleanup() }
        let read = try DICOMSeriesReader.read(folder: dir)
        #expect(read.scan.shape.z == 1 && read.report.tiltDegrees == 0 && read.scan.geometry.qformCode == 1)
        let header = try DICOMHeader.read(at: dir.appendingPathComponent("IM0564"))
        #expect(abs(read.scan.geometry.affine[2, 2] - (header.sliceThickness ?? 1)) < 1e-9)
        #expect(read.report.warnings.isEmpty)
    }

    @Test("a file that starts like DICOM but cannot be parsed is skipped with a warning")
    func unparsableFile() throws {
        let folder = try Self.copy("axial"), dir = folder.url
        defer { folder.cleanup() }
        var junk = Data(count: 128)
        junk.append(Data("DICM".utf8))
        junk.append(Data([0x02, 0x00, 0x10, 0x00, 0x55, 0x49, 0xff, 0x7f]))
        try junk.write(to: dir.appendingPathComponent("BROKEN"))
        let read = try DICOMSeriesReader.read(folder: dir)
        #expect(read.scan.shape.z == 10)
        #expect(read.report.warnings.contains { $0.contains("BROKEN") }, "\(read.report.warnings)")
    }

    @Test("symbolic links to files are followed")
    func symbolicLinks() throws {
        let folder = TemporaryFolder(prefix: "dicom-links"), dir = folder.url
        defer { folder.cleanup() }
        let source = DICOMFixture.url("axial")
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent(name), withDestinationURL: source.appendingPathComponent(name))
        }
        #expect(try DICOMSeriesReader.read(folder: dir).scan.voxels == DICOMFixture.read("axial").scan.voxels)
    }

    /// Compressed pixels are decoded in a forked child. A child forked while another thread was
    /// inside GDCM once waited forever on GDCM's state (the 5-minute timeout, under the address
    /// sanitizer with suites reading DICOM in parallel); forks now wait until no thread is in
    /// GDCM. Each round here mixes header reads, native pixel reads and forked decodes on many
    /// threads at once.
    @Test("header reads, native reads and forked decodes on many threads at once finish, each as on one thread")
    func concurrentReads() throws {
        let files = ["axial", "jpeg-lossless", "rle"].flatMap { folder in
            ["IM0124", "IM0238", "IM0564"].map { DICOMFixture.url(folder).appendingPathComponent($0) }
        }
        let expected = try files.map { url -> [Float] in try DICOMHeader.read(at: url).readStoredPixels() }
        for round in 0..<4 {
            let outcome = ConcurrentOutcome()
            DispatchQueue.concurrentPerform(iterations: files.count * 2) { k in
                let url = files[k % files.count]
                do {
                    let header = try DICOMHeader.read(at: url)
                    if k < files.count { outcome.set(k, try header.readStoredPixels()) }
                } catch {
                    outcome.fail("round \(round), \(url.lastPathComponent): \(error)")
                }
            }
            let (pixels, failures) = outcome.snapshot()
            #expect(failures.isEmpty, "\(failures)")
            for k in files.indices { #expect(pixels[k] == expected[k], "round \(round), \(files[k].path)") }
        }
    }

    /// What the threads of ``concurrentReads()`` found (an `NSLock`, which the thread sanitizer
    /// sees, unlike the futex of `Synchronization.Mutex`).
    final class ConcurrentOutcome: @unchecked Sendable {
        private let lock = NSLock()
        private var pixels: [Int: [Float]] = [:], failures: [String] = []
        func set(_ k: Int, _ p: [Float]) { lock.withLock { pixels[k] = p } }
        func fail(_ message: String) { lock.withLock { failures.append(message) } }
        func snapshot() -> ([Int: [Float]], [String]) { lock.withLock { (pixels, failures) } }
    }
}
