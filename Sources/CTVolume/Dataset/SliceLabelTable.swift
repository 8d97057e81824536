import Foundation

/// Slice-level labels of a dataset without masks, as `ROOT/slices.csv`:
///
///     case,slice,label
///     001,0,0
///     001,1,1
///
/// One row per axial slice of each case: `case` is the image's file name without `.nii(.gz)`,
/// `slice` the 0-based index k along the third axis, `label` 1 when the slice shows
/// hemorrhage, else 0. Every case lists slices 0 ..< its slice count, each once.
public struct SliceLabelTable: Sendable, Hashable {
    /// Case name -> one label (0 or 1) per slice, in slice order.
    public var labels: [String: [Float]]

    /// - Parameter labels: case name -> per-slice labels (each 0 or 1).
    public init(labels: [String: [Float]]) {
        self.labels = labels
    }

    /// Reads and checks a `case,slice,label` file.
    ///
    /// - Throws: ``CTVolumeError`` `.io` when unreadable, `.invalidDataset` naming the file and
    ///   line for a wrong header, a line without three fields, a slice that is not a whole
    ///   number >= 0, a label other than 0 or 1, a repeated (case, slice), or a case whose
    ///   slices skip an index.
    public static func read(from url: URL) throws -> SliceLabelTable {
        let path = url.path
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            let exists = FileManager.default.fileExists(atPath: path)
            throw CTVolumeError.io(path: path, reason: exists ? "cannot read as UTF-8 text" : "no such file")
        }
        // "\r\n" is one Character in Swift, and a newline like "\n".
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let head = lines.first, head.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) == ["case", "slice", "label"] else {
            throw CTVolumeError.invalidDataset(path: "\(path):1", reason: "header must be 'case,slice,label', found '\(lines.first ?? "")'")
        }
        var rows: [String: [Int: Float]] = [:]
        var firstLine: [String: Int] = [:]
        for (index, line) in lines.enumerated().dropFirst() {
            let where_ = "\(path):\(index + 1)"
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == 3 else {
                throw CTVolumeError.invalidDataset(path: where_, reason: "expected 3 fields 'case,slice,label', found \(fields.count): '\(line)'")
            }
            guard !fields[0].isEmpty else { throw CTVolumeError.invalidDataset(path: where_, reason: "empty case name") }
            guard let slice = Int(fields[1]), slice >= 0 else {
                throw CTVolumeError.invalidDataset(path: where_, reason: "slice '\(fields[1])' is not a whole number >= 0")
            }
            guard fields[2] == "0" || fields[2] == "1" else {
                throw CTVolumeError.invalidDataset(path: where_, reason: "label '\(fields[2])' is not 0 or 1")
            }
            guard rows[fields[0], default: [:]][slice] == nil else {
                throw CTVolumeError.invalidDataset(path: where_, reason: "case \(fields[0]) slice \(slice) is listed twice")
            }
            rows[fields[0], default: [:]][slice] = fields[2] == "1" ? 1 : 0
            if firstLine[fields[0]] == nil { firstLine[fields[0]] = index + 1 }
        }
        var labels: [String: [Float]] = [:]
        for (name, bySlice) in rows {
            // Distinct indices >= 0 cover 0 ..< count exactly when the largest is count - 1; else
            // one below count is missing. (No `max + 1`: a slice of Int.max must not overflow.)
            let count = bySlice.count
            let last = bySlice.keys.max() ?? -1
            if last != count - 1, let gap = (0..<count).first(where: { bySlice[$0] == nil }) {
                throw CTVolumeError.invalidDataset(path: "\(path):\(firstLine[name]!)", reason: "case \(name) has no row for slice \(gap) (its rows reach slice \(last))")
            }
            labels[name] = (0..<count).map { bySlice[$0]! }
        }
        return SliceLabelTable(labels: labels)
    }

    /// The file's text: the header, then cases by name, slices in order, labels as 0 / 1.
    public var csvText: String {
        var out = "case,slice,label\n"
        for name in labels.keys.sorted() {
            for (k, label) in labels[name]!.enumerated() { out += "\(name),\(k),\(label > 0 ? 1 : 0)\n" }
        }
        return out
    }

    /// Writes the table atomically.
    ///
    /// - Parameters:
    ///   - url: the destination, usually `ROOT/slices.csv`.
    ///   - overwrite: replace an existing file; default false.
    /// - Throws: `.outputExists`, `.io`, `.invalidParameter` for a case name holding a comma,
    ///   quote or line break (the format has no quoting).
    public func write(to url: URL, overwrite: Bool = false) throws {
        if let bad = labels.keys.first(where: { $0.contains(where: { ",\"\n\r".contains($0) }) }) {
            throw CTVolumeError.invalidParameter(name: "case name", reason: "'\(bad)' holds a comma, quote or line break")
        }
        let data = Data(csvText.utf8)
        try AtomicFile.write(to: url, overwrite: overwrite, extension: ".csv") { temp in
            do {
                try data.write(to: URL(fileURLWithPath: temp))
            } catch {
                throw CTVolumeError.io(path: url.path, reason: "cannot write: \(error.localizedDescription)")
            }
        }
    }
}
