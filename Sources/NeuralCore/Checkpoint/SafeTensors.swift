import Foundation

/// One tensor as a safetensors file stores it: a shape and little-endian values of one dtype.
///
/// NeuralCore reads and writes `F32` (parameters, running statistics) and `I64`
/// (BatchNorm's `num_batches_tracked`); every other dtype is refused when a file is read.
public struct StoredTensor: Sendable, Equatable {
    /// The element types NeuralCore reads and writes, by their safetensors names.
    public enum DType: String, Sendable, CaseIterable {
        /// IEEE 754 binary32, 4 bytes.
        case float32 = "F32"
        /// Two's-complement 64-bit integer, 8 bytes.
        case int64 = "I64"

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .float32: return 4
            case .int64: return 8
            }
        }
    }

    /// The elements in row-major order, in their stored type.
    public enum Values: Sendable, Equatable {
        /// `F32` elements.
        case float32([Float])
        /// `I64` elements.
        case int64([Int64])
    }

    /// Extent of each dimension (`[]` for a scalar).
    public var shape: [Int]
    /// The elements; their count is `shape.reduce(1, *)`.
    public var values: Values

    /// A float32 tensor.
    ///
    /// - Parameters:
    ///   - shape: extents, each ≥ 0.
    ///   - floats: `shape.reduce(1, *)` elements in row-major order.
    public init(shape: [Int], floats: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == floats.count,
                     "shape \(shape) does not hold \(floats.count) elements")
        self.shape = shape
        self.values = .float32(floats)
    }

    /// An int64 tensor.
    ///
    /// - Parameters:
    ///   - shape: extents, each ≥ 0.
    ///   - int64s: `shape.reduce(1, *)` elements in row-major order.
    public init(shape: [Int], int64s: [Int64]) {
        precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == int64s.count,
                     "shape \(shape) does not hold \(int64s.count) elements")
        self.shape = shape
        self.values = .int64(int64s)
    }

    /// The stored element type.
    public var dtype: DType {
        switch values {
        case .float32: return .float32
        case .int64: return .int64
        }
    }

    /// Number of elements.
    public var count: Int {
        switch values {
        case .float32(let v): return v.count
        case .int64(let v): return v.count
        }
    }

    /// The elements as Float (int64 values converted; exact up to 2^24).
    public var floats: [Float] {
        switch values {
        case .float32(let v): return v
        case .int64(let v): return v.map { Float($0) }
        }
    }
}

/// The contents of a safetensors file: named tensors and string metadata.
///
/// The format (https://github.com/huggingface/safetensors): an 8-byte little-endian header
/// length N, N bytes of JSON
/// `{"__metadata__": {"k": "v"}, "name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...}`
/// padded with spaces to a multiple of 8, then the data; offsets are relative to the data.
///
/// Reading validates everything and names the file and the problem in a
/// ``NeuralCoreError``. Writing lays the file out exactly as the Python library does (tensors
/// ordered by dtype, `I64` before `F32`, then by name; metadata keys sorted), so a file written
/// here is byte-identical to `safetensors.torch.save_file` of the same tensors when the
/// metadata has at most one key.
///
/// ```swift
/// var file = SafeTensors(metadata: ["note": "demo"])
/// file.tensors["w"] = StoredTensor(shape: [2], floats: [1, 2])
/// try file.write(to: url, overwrite: true)
/// let again = try SafeTensors(contentsOf: url)
/// ```
public struct SafeTensors: Sendable, Equatable {
    /// Tensors by name.
    public var tensors: [String: StoredTensor]
    /// The `__metadata__` string map (empty when the file has none).
    public var metadata: [String: String]

    /// Largest header accepted, as the reference implementation (100 MB).
    public static let maximumHeaderLength = 100_000_000

    /// A file's contents in memory.
    ///
    /// - Parameters:
    ///   - tensors: tensors by name (default none).
    ///   - metadata: the `__metadata__` map (default empty: no `__metadata__` key is written).
    public init(tensors: [String: StoredTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Reads and validates the safetensors file at `url`.
    ///
    /// - Throws: ``NeuralCoreError/io(path:reason:)`` when the file cannot be read,
    ///   ``NeuralCoreError/invalidSafeTensors(path:reason:)`` when it is malformed,
    ///   ``NeuralCoreError/unsupportedDType(path:tensor:dtype:)`` for a dtype other than F32 or I64.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw NeuralCoreError.io(path: url.path, reason: "cannot read the file (\(NeuralCoreError.reason(error)))")
        }
        try self.init(bytes: data, source: url.path)
    }

    /// Parses and validates a safetensors file held in memory.
    ///
    /// - Parameters:
    ///   - bytes: the whole file.
    ///   - source: the name used in error messages (a path, or a description).
    public init(bytes: Data, source: String) throws {
        func bad(_ reason: String) -> NeuralCoreError { .invalidSafeTensors(path: source, reason: reason) }
        let total = bytes.count
        guard total >= 8 else { throw bad("the file holds \(total) byte(s), fewer than the 8-byte header length") }
        let start = bytes.startIndex
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[start + i]) << (8 * UInt64(i)) }
        guard n <= UInt64(Self.maximumHeaderLength) else {
            throw bad("header length \(n) exceeds the \(Self.maximumHeaderLength)-byte limit")
        }
        let headerLength = Int(n)
        guard headerLength >= 2 else { throw bad("header length \(headerLength) is too short for a JSON object") }
        guard 8 + headerLength <= total else {
            throw bad("header length \(headerLength) runs past the end of the \(total)-byte file")
        }
        let headerBytes = bytes[(start + 8)..<(start + 8 + headerLength)]
        guard headerBytes.first == UInt8(ascii: "{") else { throw bad("the header does not start with '{'") }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(headerBytes))
        } catch let error as NeuralCoreError {
            throw bad(error.description)
        } catch {
            throw bad("header is not valid JSON of the expected form (\(NeuralCoreError.reason(error)))")
        }
        let dataStart = start + 8 + headerLength
        let dataLength = total - 8 - headerLength

        var tensors: [String: StoredTensor] = [:]
        var ranges: [(begin: Int, end: Int, name: String)] = []
        for (name, entry) in header.entries {
            guard let dtype = StoredTensor.DType(rawValue: entry.dtype) else {
                if Self.otherDTypes.contains(entry.dtype) {
                    throw NeuralCoreError.unsupportedDType(path: source, tensor: name, dtype: entry.dtype)
                }
                throw bad("tensor \(name) has unknown dtype \"\(entry.dtype)\"")
            }
            guard entry.shape.allSatisfy({ $0 >= 0 }) else { throw bad("tensor \(name) has a negative extent in shape \(entry.shape)") }
            var count = 1
            for d in entry.shape {
                let (p, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow else { throw bad("tensor \(name) has shape \(entry.shape) too large to address") }
                count = p
            }
            guard entry.offsets.count == 2 else {
                throw bad("tensor \(name) has \(entry.offsets.count) data_offsets, expected [begin, end]")
            }
            let (b, e) = (entry.offsets[0], entry.offsets[1])
            guard 0 <= b, b <= e, e <= dataLength else {
                throw bad("tensor \(name) has data_offsets [\(b), \(e)] outside the \(dataLength)-byte data section")
            }
            let (bytesNeeded, overflow) = count.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, bytesNeeded == e - b else {
                throw bad("tensor \(name) has shape \(entry.shape) of \(dtype.rawValue) (\(count) x \(dtype.size) bytes) but data_offsets [\(b), \(e)] span \(e - b) bytes")
            }
            if e > b { ranges.append((b, e, name)) }
            let raw = bytes[(dataStart + b)..<(dataStart + e)]
            switch dtype {
            case .float32:
                tensors[name] = StoredTensor(shape: entry.shape, floats: Self.decode(raw, count: count, as: UInt32.self).map { Float(bitPattern: $0) })
            case .int64:
                tensors[name] = StoredTensor(shape: entry.shape, int64s: Self.decode(raw, count: count, as: UInt64.self).map { Int64(bitPattern: $0) })
            }
        }
        ranges.sort { ($0.begin, $0.name) < ($1.begin, $1.name) }
        for (prev, next) in zip(ranges, ranges.dropFirst()) where next.begin < prev.end {
            throw bad("tensors \(prev.name) [\(prev.begin), \(prev.end)] and \(next.name) [\(next.begin), \(next.end)] overlap")
        }
        self.tensors = tensors
        self.metadata = header.metadata
    }

    /// The file's bytes: header (padded with spaces to a multiple of 8) then data.
    ///
    /// Order as the Python library writes: `__metadata__` first (keys sorted; omitted when
    /// empty), then tensors by dtype (`I64` before `F32`) and name, their data in the same order.
    public func serialized() -> Data {
        let order = tensors.keys.sorted { a, b in
            let (da, db) = (tensors[a]!.dtype, tensors[b]!.dtype)
            if da != db { return da == .int64 }
            return Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
        }
        var json = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let keys = metadata.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            let fields = keys.map { "\(Self.quote($0)):\(Self.quote(metadata[$0]!))" }
            parts.append("\"__metadata__\":{\(fields.joined(separator: ","))}")
        }
        var offset = 0
        for name in order {
            let t = tensors[name]!
            let length = t.count * t.dtype.size
            let shape = t.shape.map(String.init).joined(separator: ",")
            parts.append("\(Self.quote(name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + length)]}")
            offset += length
        }
        json += parts.joined(separator: ",") + "}"
        var header = Array(json.utf8)
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }

        var out = Data(capacity: 8 + header.count + offset)
        var n = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for name in order {
            switch tensors[name]!.values {
            case .float32(let v): Self.append(v.map { $0.bitPattern }, to: &out)
            case .int64(let v): Self.append(v.map { UInt64(bitPattern: $0) }, to: &out)
            }
        }
        return out
    }

    /// Writes the file atomically (a temporary file in the same folder, then a rename).
    ///
    /// - Parameters:
    ///   - url: destination.
    ///   - overwrite: replace an existing file (default `false`: an existing file is an error).
    /// - Throws: ``NeuralCoreError/outputExists(path:)``, ``NeuralCoreError/io(path:reason:)``.
    public func write(to url: URL, overwrite: Bool = false) throws {
        if !overwrite && FileManager.default.fileExists(atPath: url.path) {
            throw NeuralCoreError.outputExists(path: url.path)
        }
        do {
            try serialized().write(to: url, options: .atomic)
        } catch {
            throw NeuralCoreError.io(path: url.path, reason: "cannot write the file (\(NeuralCoreError.reason(error)))")
        }
    }

    // MARK: - Internals

    /// Dtypes of the format that NeuralCore refuses by name (rather than as unknown).
    static let otherDTypes: Set<String> = [
        "BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F64", "U64",
        "F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64",
    ]

    /// `count` little-endian integers from `raw`.
    static func decode<T: FixedWidthInteger>(_ raw: Data, count: Int, as: T.Type) -> [T] {
        [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            raw.withUnsafeBytes { src in
                let dst = UnsafeMutableRawBufferPointer(buffer)
                dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src.prefix(count * MemoryLayout<T>.size)))
            }
            for i in 0..<count { buffer[i] = T(littleEndian: buffer[i]) }
            initialized = count
        }
    }

    static func append<T: FixedWidthInteger>(_ values: [T], to out: inout Data) {
        let le = values.map { $0.littleEndian }
        le.withUnsafeBytes { out.append(contentsOf: $0) }
    }

    /// A JSON string literal, escaped as serde_json (the Python library's writer) does.
    static func quote(_ s: String) -> String {
        var r = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": r += "\\\""
            case "\\": r += "\\\\"
            case "\n": r += "\\n"
            case "\r": r += "\\r"
            case "\t": r += "\\t"
            case "\u{08}": r += "\\b"
            case "\u{0C}": r += "\\f"
            default:
                if u.value < 0x20 {
                    r += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
                } else {
                    r.unicodeScalars.append(u)
                }
            }
        }
        return r + "\""
    }

    /// The JSON header: tensor entries by name plus the optional `__metadata__` map.
    struct Header: Decodable {
        struct Entry: Decodable {
            let dtype: String
            let shape: [Int]
            let offsets: [Int]
            enum CodingKeys: String, CodingKey {
                case dtype, shape
                case offsets = "data_offsets"
            }
        }
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: AnyCodingKey.self)
            for key in c.allKeys {
                if key.stringValue == "__metadata__" {
                    if try c.decodeNil(forKey: key) { continue }
                    metadata = try c.decode([String: String].self, forKey: key)
                } else {
                    entries[key.stringValue] = try c.decode(Entry.self, forKey: key)
                }
            }
        }
    }
}
