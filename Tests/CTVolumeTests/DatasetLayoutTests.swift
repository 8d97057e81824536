import Foundation
import Testing
@testable import CTVolume
import TestSupport

/// The public datasets' layouts (``DatasetLayout``) on the fixtures of
/// scripts/fixtures/dataset_fixtures.py, which writes tiny cases in each published layout
/// (file names, CSV columns and quirks as published) and says in `manifest.json` what each
/// case holds: slice labels from inferior to superior, scan labels, HU probes.
enum DatasetFixture {
    static var root: URL { Bundle.module.url(forResource: "datasets", withExtension: nil, subdirectory: "Fixtures")! }
    nonisolated(unsafe) static let manifest: [String: Any] = {
        try! JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("manifest.json"))) as! [String: Any]
    }()
    static func dataset(_ name: String) -> [String: Any] { (manifest["datasets"] as! [String: Any])[name] as! [String: Any] }
    static func cases(_ name: String) -> [[String: Any]] { dataset(name)["cases"] as! [[String: Any]] }
    static func floats(_ value: Any?) -> [Float] { (value as! [NSNumber]).map(\.floatValue) }
    static func scanLabels(_ c: [String: Any]) -> [String: Float] {
        (c["scan_labels"] as! [String: NSNumber]).mapValues(\.floatValue)
    }

    /// The case as stored (not brought to LAS), for the probes, which index the stored grid
    /// with k in ascending position.
    static func stored(_ item: DatasetCase) -> DatasetCase {
        var copy = item
        copy.canonical = false
        return copy
    }

    /// Checks the HU probes of a manifest case against the stored scan, and that the case's
    /// scan is that scan in LAS order.
    static func checkScan(_ item: DatasetCase, _ c: [String: Any], ascending: Bool) throws {
        let stored = try Self.stored(item).loadScan()
        let shape = c["shape"] as! [Int]
        #expect(stored.shape == GridShape(shape[0], shape[1], shape[2]), "\(item.name)")
        for probe in c["probes"] as! [[String: Any]] {
            let index = probe["index"] as! [Int]
            let k = ascending ? index[2] : stored.shape.z - 1 - index[2]
            #expect(stored[index[0], index[1], k] == (probe["hu"] as! NSNumber).floatValue, "\(item.name) \(probe["what"]!)")
        }
        let canonical = try item.loadScan()
        #expect(canonical.geometry.affine.axisCodes == "LAS", "\(item.name)")
        let same = canonical.voxels == Reorientation(stored).apply(stored).voxels
        #expect(same, "\(item.name): the case's scan is its stored scan in LAS order")
    }
}

@Suite("Dataset layouts: RSNA, CQ500, PhysioNet CT-ICH, BHSD")
struct DatasetLayoutTests {
    func open(_ name: String, requireMasks: Bool = false) throws -> Dataset {
        try Dataset(root: DatasetFixture.root.appendingPathComponent(name), requireMasks: requireMasks)
    }

    @Test("each layout is recognised from its files; an unknown folder is refused saying what each needs")
    func detection() throws {
        for layout in [DatasetLayout.rsna, .cq500, .physionet, .bhsd] {
            #expect(try DatasetLayout.detect(at: DatasetFixture.root.appendingPathComponent(layout.rawValue)) == layout)
            #expect(try open(layout.rawValue).layout == layout)
        }
        do {
            _ = try DatasetLayout.detect(at: DatasetFixture.root)
            Issue.record("the fixtures' parent folder was taken for a dataset")
        } catch let error as CTVolumeError {
            #expect(error.description.contains("stage_2_train.csv") && error.description.contains("reads.csv"))
        }
    }

    @Test("RSNA: one case per series, per-file 'any' labels in slice order, scan labels, the corrupt file left out")
    func rsna() throws {
        let d = try open("rsna")
        let expected = DatasetFixture.cases("rsna").filter { $0["split"] as? String == "train" }
        #expect(d.cases.map(\.name) == expected.map { $0["name"] as! String }.sorted())
        for c in expected {
            let item = d[c["name"] as! String]!
            #expect(item.dicomFiles?.count == (c["files"] as! [String]).count)
            let labels = (c["slice_labels"] as! [String: Any])["any"]
            #expect(try item.sliceLabels() == DatasetFixture.floats(labels), "\(item.name)")
            #expect(item.scanLabels == DatasetFixture.scanLabels(c), "\(item.name)")
            try DatasetFixture.checkScan(item, c, ascending: true)
        }
        #expect(d.notes.contains { $0.contains("ID_6431af929") })
        #expect(!d.cases.contains { $0.dicomFiles!.contains { $0.lastPathComponent == "ID_6431af929.dcm" } })
        #expect(throws: CTVolumeError.self) { try open("rsna", requireMasks: true) }
    }

    @Test("CQ500: one case per study (the series nearest 5 mm), majority scan labels, no slice labels")
    func cq500() throws {
        let d = try open("cq500")
        #expect(d.cases.map(\.name) == ["CQ500-CT-0", "CQ500-CT-1"])
        let manifest = DatasetFixture.cases("cq500")
        for (name, folder) in [("CQ500-CT-0", "CT 5mm"), ("CQ500-CT-1", "CT Plain")] {
            let item = d[name]!
            let c = manifest.first { $0["reads_name"] as? String == name && $0["series_folder"] as? String == folder }!
            #expect(item.dicomFiles!.allSatisfy { $0.deletingLastPathComponent().lastPathComponent == folder }, "\(name)")
            #expect(item.scanLabels == DatasetFixture.scanLabels(c), "\(name)")
            try DatasetFixture.checkScan(item, c, ascending: true)
            do {
                _ = try item.sliceLabels()
                Issue.record("\(name): slice labels from scan-level reads")
            } catch let error as CTVolumeError {
                #expect(error.description.contains("scan-level labels only"))
            }
        }
        #expect(d.notes.contains { $0.contains("CQ500-CT-2") })
    }

    @Test("PhysioNet CT-ICH: NIfTI scans and masks, slice labels inferior to superior whatever the stored order")
    func physionet() throws {
        let d = try open("physionet", requireMasks: true)
        let manifest = DatasetFixture.cases("physionet")
        #expect(d.cases.map(\.name) == manifest.map { $0["name"] as! String })
        for c in manifest {
            let item = d[c["name"] as! String]!
            let any = DatasetFixture.floats((c["slice_labels"] as! [String: Any])["any"])
            #expect(try item.sliceLabels() == any, "\(item.name)")
            // the CSV's rows, per stored slice, brought to the same order
            var fromTable = item
            fromTable.labelURL = nil
            #expect(try fromTable.sliceLabels() == any, "\(item.name)")
            #expect(item.scanLabels == DatasetFixture.scanLabels(c), "\(item.name)")
            let mask = try item.loadMask()!
            #expect(mask.geometry.affine.axisCodes == "LAS" && mask.sliceLabels == any)
            try DatasetFixture.checkScan(item, c, ascending: c["k_increases_superior"] as! Bool)
        }
    }

    @Test("BHSD: labelled images with multi-class masks read as 0/1; unlabelled folders not opened")
    func bhsd() throws {
        let d = try open("bhsd", requireMasks: true)
        let labelled = DatasetFixture.cases("bhsd").filter { $0["has_mask"] as! Bool }
        #expect(d.cases.map(\.name) == labelled.map { $0["name"] as! String }.sorted())
        for c in labelled {
            let item = d[c["name"] as! String]!
            let mask = try item.loadMask()!
            #expect(Set(mask.voxels).isSubset(of: [0, 1]) && mask.voxels.contains(1))
            #expect(try item.sliceLabels() == DatasetFixture.floats((c["slice_labels"] as! [String: Any])["any"]), "\(item.name)")
            try DatasetFixture.checkScan(item, c, ascending: true)
        }
    }

    @Test("a label file with CRLF line ends and a byte-order mark reads the same; a short row is refused naming its line")
    func labelFileForms() throws {
        let folder = TemporaryFolder(prefix: "physionet", create: false), dir = folder.url
        defer { folder.cleanup() }
        try FileManager.default.copyItem(at: DatasetFixture.root.appendingPathComponent("physionet"), to: dir)
        let csv = dir.appendingPathComponent("hemorrhage_diagnosis_raw_ct.csv")
        let text = try String(contentsOf: csv, encoding: .utf8)
        try ("\u{FEFF}" + text.replacingOccurrences(of: "\n", with: "\r\n")).write(to: csv, atomically: true, encoding: .utf8)
        var table = try Dataset(root: dir)["049"]!
        table.labelURL = nil
        let any = DatasetFixture.floats((DatasetFixture.cases("physionet")[0]["slice_labels"] as! [String: Any])["any"])
        #expect(try table.sliceLabels() == any)
        try text.replacingOccurrences(of: "\n49,2,0,0,0,0,0,1,0", with: "\n49").write(to: csv, atomically: true, encoding: .utf8)
        do {
            _ = try Dataset(root: dir)
            Issue.record("a short row was accepted")
        } catch let error as CTVolumeError {
            #expect(error.description.contains("hemorrhage_diagnosis_raw_ct.csv:3"), "\(error)")
        }
    }

    @Test("the label files' errors name the file and line")
    func badLabels() throws {
        let folder = TemporaryFolder(prefix: "physionet", create: false), dir = folder.url
        defer { folder.cleanup() }
        try FileManager.default.copyItem(at: DatasetFixture.root.appendingPathComponent("physionet"), to: dir)
        let csv = dir.appendingPathComponent("hemorrhage_diagnosis_raw_ct.csv")
        var text = try String(contentsOf: csv, encoding: .utf8)
        text = text.replacingOccurrences(of: "\n49,2,0,0,0,0,0,1,0", with: "\n49,2,0,0,0,0,0,7,0")
        try text.write(to: csv, atomically: true, encoding: .utf8)
        do {
            _ = try Dataset(root: dir)
            Issue.record("a label 7 was accepted")
        } catch let error as CTVolumeError {
            #expect(error.description.contains("hemorrhage_diagnosis_raw_ct.csv:3") && error.description.contains("No_Hemorrhage"))
        }
    }
}
