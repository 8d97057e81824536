import Foundation

/// One of `count` disjoint parts of a ``ScanList``: shard `index` owns the items at positions
/// `index`, `index + count`, `index + 2 count`, ... of the list (round robin, so the shards'
/// sizes differ by at most one). `index` is 0-based, as `SLURM_ARRAY_TASK_ID` with
/// `--array=0-(N-1)` and Kubernetes' `JOB_COMPLETION_INDEX`. Given the same list, the shards
/// `0/N ... (N-1)/N` together cover every item exactly once.
public struct Shard: Sendable, Hashable, Codable, CustomStringConvertible {
    /// This shard, `0 ..< count`.
    public let index: Int
    /// How many shards the list is cut into (≥ 1).
    public let count: Int

    /// The whole list as one shard (`0/1`).
    public static let whole = Shard(uncheckedIndex: 0, count: 1)

    private init(uncheckedIndex: Int, count: Int) {
        self.index = uncheckedIndex
        self.count = count
    }

    /// Shard `index` of `count`.
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` unless `count ≥ 1` and `0 ≤ index < count`.
    public init(index: Int, count: Int) throws {
        guard count >= 1 else {
            throw WeakSupervisionError.invalidParameter(name: "shard", reason: "\(index)/\(count): the number of shards must be at least 1")
        }
        guard (0..<count).contains(index) else {
            throw WeakSupervisionError.invalidParameter(
                name: "shard", reason: "\(index)/\(count): the shard index is 0-based and must lie in 0...\(count - 1)")
        }
        self.init(uncheckedIndex: index, count: count)
    }

    /// A shard from its text form `K/N` (e.g. `0/4`).
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` for any other text or an index outside `0 ..< N`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0].trimmingCharacters(in: .whitespaces)),
              let n = Int(parts[1].trimmingCharacters(in: .whitespaces)) else {
            throw WeakSupervisionError.invalidParameter(name: "shard", reason: "\"\(text)\" is not K/N (for example 0/4: the first of four shards)")
        }
        try self.init(index: k, count: n)
    }

    private enum CodingKeys: String, CodingKey { case index, count }

    /// A decoded shard is checked as ``init(index:count:)`` checks one.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let index = try c.decode(Int.self, forKey: .index), count = try c.decode(Int.self, forKey: .count)
        do {
            try self.init(index: index, count: count)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .count, in: c, debugDescription: "\(error)")
        }
    }

    /// Whether the item at `position` (0-based, in list order) belongs to this shard.
    public func owns(position: Int) -> Bool { position % count == index }

    /// `K/N`.
    public var description: String { "\(index)/\(count)" }

    /// The name part of this shard's files: `shard-K-of-N`.
    public var fileStem: String { "shard-\(index)-of-\(count)" }
}

/// The scans of a batch, each with the name its outputs take. Read from a list file (one path
/// per line: a NIfTI file or a DICOM folder; blank lines and lines starting with `#` are
/// skipped; a relative path is taken from the list file's folder, so a list travels with its
/// data) or given directly.
///
/// An item's output name is its file name without `.nii.gz`/`.nii` (a DICOM folder: its folder
/// name). Two items with the same name, or one path listed twice, are refused for the whole list,
/// so every shard of the list agrees on what it holds.
public struct ScanList: Sendable, Equatable {
    /// One scan of the list.
    public struct Item: Sendable, Hashable, Codable {
        /// Position in the list (0-based, blank and comment lines not counted).
        public let position: Int
        /// The scan (a NIfTI file or a DICOM folder).
        public let input: URL
        /// The name of its outputs (``ScanList/outputName(for:)``).
        public let name: String
    }

    /// Every item, in list order.
    public let items: [Item]

    /// A list of `inputs`, in that order.
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` for an empty list, a path
    ///   given twice, or two inputs whose outputs would share a name.
    public init(inputs: [URL], source: String = "the list") throws {
        guard !inputs.isEmpty else { throw WeakSupervisionError.emptyInput(what: source) }
        var byPath: [String: Int] = [:], byName: [String: Int] = [:]
        var items: [Item] = []
        for (k, url) in inputs.enumerated() {
            let path = url.standardizedFileURL.path
            if let first = byPath[path] {
                throw WeakSupervisionError.invalidParameter(name: source, reason: "\(path) is listed twice (items \(first + 1) and \(k + 1))")
            }
            let name = Self.outputName(for: url)
            guard !name.isEmpty, !name.hasPrefix(".") else {
                throw WeakSupervisionError.invalidParameter(name: source, reason: "item \(k + 1), \(path): gives no usable output name")
            }
            if let first = byName[name] {
                throw WeakSupervisionError.invalidParameter(
                    name: source, reason: "items \(first + 1) (\(inputs[first].path)) and \(k + 1) (\(path)) would both write outputs named \(name); rename one")
            }
            byPath[path] = k
            byName[name] = k
            items.append(Item(position: k, input: url.standardizedFileURL, name: name))
        }
        self.items = items
    }

    /// The list in a file (see the type's description).
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` naming the file for an
    ///   unreadable or empty list and the cases of ``init(inputs:source:)``.
    public init(contentsOf url: URL) throws {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw WeakSupervisionError.invalidParameter(name: url.path, reason: "cannot read the list: \(error.localizedDescription)")
        }
        let folder = url.deletingLastPathComponent()
        var inputs: [URL] = []
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("\u{FEFF}") { line.removeFirst() }
            if line.isEmpty || line.hasPrefix("#") { continue }
            inputs.append(line.hasPrefix("/") ? URL(fileURLWithPath: line) : folder.appendingPathComponent(line))
        }
        guard !inputs.isEmpty else {
            throw WeakSupervisionError.invalidParameter(name: url.path, reason: "the list names no scan (one path per line; # starts a comment)")
        }
        try self.init(inputs: inputs, source: url.path)
    }

    /// The items of one shard, in list order.
    public func items(in shard: Shard) -> [Item] { items.filter { shard.owns(position: $0.position) } }

    /// The name of a scan's outputs: its last path component without `.nii.gz` or `.nii`.
    public static func outputName(for url: URL) -> String {
        var name = url.standardizedFileURL.lastPathComponent
        for suffix in [".nii.gz", ".nii"] where name.lowercased().hasSuffix(suffix) {
            name = String(name.dropLast(suffix.count))
            break
        }
        return name
    }
}
