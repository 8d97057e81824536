import Foundation
import Testing
import WeakSupervision
import TestSupport

/// What the tests' step keeps: the input's text, so a test can see which file was processed.
private struct EchoRecord: BatchRecord, Equatable {
    var text: String
    static let csvColumns = ["text"]
    var csvValues: [String] { [text] }
}

/// A list of `n` text "scans" in a folder of their own, and an output folder beside it.
private struct BatchWorkspace {
    let temporary = TemporaryFolder(prefix: "ichct-batch")
    let list: ScanList, outputs: URL

    init(_ n: Int) throws {
        let inputs = temporary.subfolder("in")
        var urls: [URL] = []
        for k in 0..<n {
            let url = inputs.appendingPathComponent("scan\(k).nii.gz")
            try Data("scan \(k)".utf8).write(to: url)
            urls.append(url)
        }
        list = try ScanList(inputs: urls)
        outputs = temporary.url.appendingPathComponent("out")
    }

    func output(_ item: ScanList.Item) -> URL { outputs.appendingPathComponent(item.name + ".txt") }

    /// Copies the input's text into the staged output, failing for the names in `failing`.
    func run(_ shard: Shard = .whole, force: Bool = false, settings: String = "", failing: Set<String> = [], calls: inout [String]) throws -> BatchSummary<EchoRecord> {
        var seen: [String] = []
        let summary = try BatchRunner(folder: outputs, shard: shard, force: force, settings: settings).run(list, outputs: { [output($0)] }) { item, staged in
            seen.append(item.name)
            let text = try String(contentsOf: item.input, encoding: .utf8)
            try Data(text.utf8).write(to: staged[0])
            if failing.contains(item.name) { throw WeakSupervisionError.emptyInput(what: item.name) }
            return EchoRecord(text: text)
        }
        calls = seen
        return summary
    }
}

@Suite("Sharded batches: shards, scan lists and the batch runner")
struct BatchRunnerTests {
    @Test("K/N parses; an index outside 0..<N, N below 1 and other text are refused")
    func shardParsing() throws {
        let s = try Shard(parsing: "2/4")
        #expect(s.index == 2 && s.count == 4 && s.description == "2/4" && s.fileStem == "shard-2-of-4")
        for bad in ["4/4", "-1/4", "1/0", "a/b", "3", "1/2/3", ""] {
            #expect(throws: WeakSupervisionError.self) { try Shard(parsing: bad) }
        }
    }

    @Test("the shards of a list cover every item exactly once, in sizes that differ by at most one")
    func shardsPartition() throws {
        let w = try BatchWorkspace(11)
        defer { w.temporary.cleanup() }
        for n in 1...5 {
            let parts = try (0..<n).map { try w.list.items(in: Shard(index: $0, count: n)) }
            let all = parts.flatMap { $0 }.map(\.position).sorted()
            #expect(all == Array(0..<11))
            let sizes = parts.map(\.count)
            #expect(sizes.max()! - sizes.min()! <= 1)
        }
    }

    @Test("a list file skips blanks and comments, takes relative paths from its folder, and reads CRLF and a BOM")
    func listFile() throws {
        let t = TemporaryFolder(prefix: "ichct-list")
        defer { t.cleanup() }
        let text = "\u{FEFF}# scans\r\na/one.nii.gz\r\n\r\n  /abs/two.nii  \r\nthree\r\n"
        let url = t.file("list.txt")
        try Data(text.utf8).write(to: url)
        let list = try ScanList(contentsOf: url)
        #expect(list.items.map(\.name) == ["one", "two", "three"])
        #expect(list.items.map(\.position) == [0, 1, 2])
        #expect(list.items[0].input.path == t.url.appendingPathComponent("a/one.nii.gz").standardizedFileURL.path)
        #expect(list.items[1].input.path == "/abs/two.nii")
    }

    @Test("a list that names one path twice, two scans of one output name, or nothing, is refused with the file's name")
    func listRefusals() throws {
        let t = TemporaryFolder(prefix: "ichct-list")
        defer { t.cleanup() }
        let cases = ["a.nii.gz\n./a.nii.gz\n": "listed twice", "x/ct.nii.gz\ny/ct.nii\n": "both write outputs named ct", "# nothing\n\n": "names no scan"]
        for (text, message) in cases {
            let url = t.file("list.txt")
            try Data(text.utf8).write(to: url)
            let error = #expect(throws: WeakSupervisionError.self) { try ScanList(contentsOf: url) }
            #expect("\(error!)".contains(message) && "\(error!)".contains(url.path))
        }
    }

    @Test("every item is processed once, written atomically with its record, and summarised in JSON and CSV")
    func runsAndSummarises() throws {
        let w = try BatchWorkspace(3)
        defer { w.temporary.cleanup() }
        var calls: [String] = []
        let summary = try w.run(calls: &calls)
        #expect(calls == ["scan0", "scan1", "scan2"])
        #expect(summary.entries.map(\.status) == [.done, .done, .done])
        for item in w.list.items {
            #expect(try String(contentsOf: w.output(item), encoding: .utf8) == "scan \(item.position)")
            let record = try BatchRunner.readJSON(EchoRecord.self, from: w.outputs.appendingPathComponent(item.name + ".json"))
            #expect(record.text == "scan \(item.position)")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: w.outputs.path).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty)
        let csv = try String(contentsOf: w.outputs.appendingPathComponent("shard-0-of-1.csv"), encoding: .utf8)
        let lines = csv.split(separator: "\n")
        #expect(lines.first == "position,name,input,status,seconds,error,text")
        #expect(lines.count == 4 && lines[1].hasPrefix("0,scan0,") && lines[1].contains(",done,") && lines[1].hasSuffix(",scan 0"))
        let saved = try BatchRunner.readJSON(BatchSummary<EchoRecord>.self, from: w.outputs.appendingPathComponent("shard-0-of-1.json"))
        #expect(saved.listItems == 3 && saved.entries.map(\.record) == summary.entries.map(\.record))
    }

    @Test("a second run reuses finished items; a failed item leaves nothing, does not stop the others, and is retried")
    func resumesAndRetries() throws {
        let w = try BatchWorkspace(3)
        defer { w.temporary.cleanup() }
        var calls: [String] = []
        let first = try w.run(failing: ["scan1"], calls: &calls)
        #expect(first.entries.map(\.status) == [.done, .failed, .done])
        #expect(first.failures.first?.error?.contains("scan1") == true)
        #expect(!FileManager.default.fileExists(atPath: w.output(w.list.items[1]).path))
        let second = try w.run(calls: &calls)
        #expect(calls == ["scan1"])
        #expect(second.entries.map(\.status) == [.reused, .done, .reused])
        #expect(second.entries[0].record == EchoRecord(text: "scan 0"))
        let third = try w.run(force: true, calls: &calls)
        #expect(calls == ["scan0", "scan1", "scan2"] && third.entries.allSatisfy { $0.status == .done })
    }

    @Test("a forced run whose step throws leaves the item's earlier output and record as they were")
    func forcedFailureKeepsOldFiles() throws {
        let w = try BatchWorkspace(1)
        defer { w.temporary.cleanup() }
        var calls: [String] = []
        _ = try w.run(calls: &calls)
        let item = w.list.items[0]
        try Data("changed".utf8).write(to: item.input)
        let s = try w.run(force: true, failing: ["scan0"], calls: &calls)
        #expect(s.entries[0].status == .failed)
        #expect(try String(contentsOf: w.output(item), encoding: .utf8) == "scan 0")
        #expect(try BatchRunner.readJSON(EchoRecord.self, from: w.outputs.appendingPathComponent("scan0.json")).text == "scan 0")
    }

    @Test("an output that exists without its record fails that item, untouched, unless forced")
    func strayOutputIsNotReplaced() throws {
        let w = try BatchWorkspace(2)
        defer { w.temporary.cleanup() }
        try FileManager.default.createDirectory(at: w.outputs, withIntermediateDirectories: true)
        let stray = w.output(w.list.items[0])
        try Data("someone else's".utf8).write(to: stray)
        var calls: [String] = []
        let s = try w.run(calls: &calls)
        #expect(calls == ["scan1"])
        #expect(s.entries[0].status == .failed && s.entries[0].error!.contains(stray.path))
        #expect(try String(contentsOf: stray, encoding: .utf8) == "someone else's")
        _ = try w.run(force: true, calls: &calls)
        #expect(try String(contentsOf: stray, encoding: .utf8) == "scan 0")
    }

    @Test("an item killed while its files were being moved into place (its staged record left) is redone, not refused")
    func killedWhileCommitting() throws {
        let w = try BatchWorkspace(2)
        defer { w.temporary.cleanup() }
        var calls: [String] = []
        _ = try w.run(calls: &calls)
        // as if killed after the output's rename, before the record's: output, staged record, no record
        let item = w.list.items[1], record = w.outputs.appendingPathComponent("scan1.json")
        let runner = BatchRunner(folder: w.outputs)
        try FileManager.default.moveItem(at: record, to: runner.stagingURL(for: record))
        try Data("stale".utf8).write(to: w.output(item))
        let s = try w.run(calls: &calls)
        #expect(calls == ["scan1"] && s.entries.map(\.status) == [.reused, .done])
        #expect(try String(contentsOf: w.output(item), encoding: .utf8) == "scan 1")
        #expect(!FileManager.default.fileExists(atPath: runner.stagingURL(for: record).path))
    }

    @Test("a finished item made with other settings is refused, not reused, until forced; its settings are in its record")
    func otherSettingsRefused() throws {
        let w = try BatchWorkspace(1)
        defer { w.temporary.cleanup() }
        var calls: [String] = []
        _ = try w.run(settings: "{\"threshold\":0.3}", calls: &calls)
        let record = w.outputs.appendingPathComponent("scan0.json")
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: record)) as! [String: Any]
        #expect(saved[BatchRunner.settingsKey] as? String == "{\"threshold\":0.3}" && saved["text"] as? String == "scan 0")
        var s = try w.run(settings: "{\"threshold\":0.3}", calls: &calls)
        #expect(s.entries[0].status == .reused)
        s = try w.run(settings: "{\"threshold\":0.5}", calls: &calls)
        #expect(calls.isEmpty && s.entries[0].status == .failed && s.entries[0].error!.contains("other settings"))
        s = try w.run(force: true, settings: "{\"threshold\":0.5}", calls: &calls)
        #expect(calls == ["scan0"] && s.entries[0].status == .done)
    }

    @Test("a decoded shard is checked: 0 shards or an index outside them is a decoding error")
    func decodedShardChecked() throws {
        #expect(try JSONDecoder().decode(Shard.self, from: Data(#"{"index":1,"count":3}"#.utf8)) == Shard(index: 1, count: 3))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Shard.self, from: Data(#"{"index":0,"count":0}"#.utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Shard.self, from: Data(#"{"index":3,"count":3}"#.utf8)) }
    }

    @Test("two shards write only their own items and summaries, and together cover the list")
    func shardsWriteTheirOwn() throws {
        let w = try BatchWorkspace(5)
        defer { w.temporary.cleanup() }
        var calls: [String] = []
        _ = try w.run(try Shard(parsing: "1/2"), calls: &calls)
        #expect(calls == ["scan1", "scan3"])
        var files = Set(try FileManager.default.contentsOfDirectory(atPath: w.outputs.path))
        #expect(files == ["scan1.txt", "scan1.json", "scan3.txt", "scan3.json", "shard-1-of-2.json", "shard-1-of-2.csv"])
        _ = try w.run(try Shard(parsing: "0/2"), calls: &calls)
        #expect(calls == ["scan0", "scan2", "scan4"])
        files = Set(try FileManager.default.contentsOfDirectory(atPath: w.outputs.path))
        #expect(files.filter { $0.hasSuffix(".txt") }.count == 5)
    }

    @Test("an output that would replace an input of the list is refused before any work")
    func inputsAreNeverOutputs() throws {
        let w = try BatchWorkspace(2)
        defer { w.temporary.cleanup() }
        var called = false
        let folder = w.list.items[0].input.deletingLastPathComponent()
        #expect(throws: WeakSupervisionError.self) {
            _ = try BatchRunner(folder: folder).run(w.list, outputs: { [folder.appendingPathComponent($0.name + ".nii.gz")] }) { _, _ in
                called = true
                return EchoRecord(text: "")
            }
        }
        #expect(!called)
        #expect(try String(contentsOf: w.list.items[0].input, encoding: .utf8) == "scan 0")
    }
}
