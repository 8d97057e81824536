import Foundation
import NeuralCore
import Testing
import TestSupport

/// URL of a fixture made by scripts/fixtures/network_fixtures.py.
func fixtureURL(_ name: String) -> URL {
    FixtureFile.url(name, in: .module, madeBy: "scripts/fixtures/network_fixtures.py")
}

/// A safetensors file from a literal header and data bytes (the header is used as is).
private func rawFile(_ header: String, data: [UInt8] = [], length: UInt64? = nil) -> Data {
    let h = Array(header.utf8)
    var n = (length ?? UInt64(h.count)).littleEndian
    var out = Data()
    withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
    out.append(contentsOf: h)
    out.append(contentsOf: data)
    return out
}

private func invalidReason(_ bytes: Data) -> String? {
    do {
        _ = try SafeTensors(bytes: bytes, source: "bad.safetensors")
        return nil
    } catch let error as NeuralCoreError {
        if case .invalidSafeTensors(let path, let reason) = error {
            #expect(path == "bad.safetensors")
            #expect(error.description.hasPrefix("bad.safetensors: "))
            return reason
        }
        return "unexpected error \(error)"
    } catch {
        return "unexpected error \(error)"
    }
}

@Suite("safetensors")
struct SafeTensorsTests {
    @Test("reads a file written by the Python library: F32, I64, scalar, empty, metadata")
    func readsPythonFile() throws {
        let file = try SafeTensors(contentsOf: fixtureURL("safetensors_mixed.safetensors"))
        #expect(Set(file.tensors.keys) == ["weight", "bn.num_batches_tracked", "counts", "empty", "scalar"])
        // torch.arange(6).reshape(2, 3) / 4 - 0.5
        #expect(file.tensors["weight"] == StoredTensor(shape: [2, 3], floats: [-0.5, -0.25, 0, 0.25, 0.5, 0.75]))
        #expect(file.tensors["bn.num_batches_tracked"] == StoredTensor(shape: [], int64s: [12_345_678_901]))
        #expect(file.tensors["counts"] == StoredTensor(shape: [3], int64s: [-3, 0, 7]))
        #expect(file.tensors["empty"] == StoredTensor(shape: [0, 4], floats: []))
        #expect(file.tensors["scalar"] == StoredTensor(shape: [], floats: [3.25]))
        let config = try #require(file.metadata["ichct.config"])
        let object = try JSONSerialization.jsonObject(with: Data(config.utf8)) as? [String: String]
        #expect(object?["note"] == "quote \" and \\ and \u{e9}")
    }

    @Test("writes byte-for-byte what the Python library writes")
    func writesLikePython() throws {
        let url = fixtureURL("safetensors_mixed.safetensors")
        let original = try Data(contentsOf: url)
        let file = try SafeTensors(contentsOf: url)
        #expect(file.serialized() == original)
    }

    @Test("write then read returns the same tensors; existing files are refused unless overwrite")
    func roundTripAndOverwrite() throws {
        let temporary = TemporaryFolder(prefix: "ichct-nn"), folder = temporary.url
        defer { temporary.cleanup() }
        let url = folder.appendingPathComponent("t.safetensors")
        var file = SafeTensors(metadata: ["b": "2", "a": "line\nbreak\t\u{01}"])
        file.tensors["z"] = StoredTensor(shape: [2, 2], floats: [1, -2, .infinity, Float.leastNormalMagnitude / 4])
        file.tensors["a.b"] = StoredTensor(shape: [1], int64s: [Int64.min])
        try file.write(to: url)
        #expect(try SafeTensors(contentsOf: url) == file)
        #expect(throws: NeuralCoreError.outputExists(path: url.path)) { try file.write(to: url) }
        file.tensors["y"] = StoredTensor(shape: [], floats: [7])
        try file.write(to: url, overwrite: true)
        #expect(try SafeTensors(contentsOf: url) == file)
        let bytes = try Data(contentsOf: url)
        let n = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(n % 8 == 0)
        // Sorted metadata keys first, then I64 before F32, then names.
        let header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
        let order = ["\"__metadata__\"", "\"a\":\"line\\nbreak\\t\\u0001\"", "\"b\":\"2\"", "\"a.b\"", "\"y\"", "\"z\""]
        let positions = order.map { header.range(of: $0)?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil })
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
    }

    @Test("a missing file is an I/O error naming it")
    func missingFile() {
        let url = URL(fileURLWithPath: "/nonexistent/model.safetensors")
        #expect {
            try SafeTensors(contentsOf: url)
        } throws: { error in
            guard case .io(let path, _)? = error as? NeuralCoreError else { return false }
            return path == url.path && "\(error)".hasPrefix("/nonexistent/model.safetensors: ")
        }
    }

    @Test("malformed files are refused with the problem named")
    func malformed() {
        let f32 = #"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        #expect(invalidReason(Data([1, 2, 3]))?.contains("fewer than the 8-byte") == true)
        #expect(invalidReason(rawFile(f32, data: Array(repeating: 0, count: 8), length: 1 << 40))?.contains("exceeds") == true)
        #expect(invalidReason(rawFile(f32, data: [], length: 500))?.contains("runs past the end") == true)
        #expect(invalidReason(rawFile("[1, 2]   "))?.contains("does not start with '{'") == true)
        #expect(invalidReason(rawFile(#"{"t":{"dtype":"F32""#))?.contains("not valid JSON") == true)
        #expect(invalidReason(rawFile(#"{"t":{"dtype":"F32","shape":[2]}}"#))?.contains("data_offsets") == true)
        #expect(invalidReason(rawFile(f32, data: [0, 0, 0, 0]))?.contains("outside the 4-byte data section") == true)
        #expect(invalidReason(rawFile(#"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)))?
            .contains("span 8 bytes") == true)
        #expect(invalidReason(rawFile(#"{"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#))?.contains("negative") == true)
        #expect(invalidReason(rawFile(#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, data: Array(repeating: 0, count: 8)))?
            .contains("outside") == true)
        let overlap = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        #expect(invalidReason(rawFile(overlap, data: Array(repeating: 0, count: 12)))?.contains("overlap") == true)
        #expect(invalidReason(rawFile(#"{"t":{"dtype":"Q7","shape":[],"data_offsets":[0,0]}}"#))?.contains("unknown dtype") == true)
        #expect(invalidReason(rawFile(#"{"__metadata__":{"k":3}}"#))?.contains("not valid JSON") == true)
    }

    @Test("dtypes other than F32 and I64 are refused naming the file and the tensor")
    func unsupportedDType() {
        let bytes = rawFile(#"{"layer.w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])
        #expect(throws: NeuralCoreError.unsupportedDType(path: "half.safetensors", tensor: "layer.w", dtype: "F16")) {
            try SafeTensors(bytes: bytes, source: "half.safetensors")
        }
        let message = NeuralCoreError.unsupportedDType(path: "half.safetensors", tensor: "layer.w", dtype: "F16").description
        #expect(message.contains("half.safetensors") && message.contains("layer.w") && message.contains("F16"))
    }

    @Test("a null __metadata__ and an empty header object are accepted")
    func minimalHeaders() throws {
        #expect(try SafeTensors(bytes: rawFile("{}"), source: "m").tensors.isEmpty)
        #expect(try SafeTensors(bytes: rawFile(#"{"__metadata__":null}"#), source: "m").metadata.isEmpty)
    }
}
