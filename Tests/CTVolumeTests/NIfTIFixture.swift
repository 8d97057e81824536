import Foundation
import Testing
import CTVolume

/// The fixtures written by scripts/fixtures/nifti_fixtures.py (nibabel) and what nibabel says
/// about them (`Fixtures/nifti/expected.json`).
enum NIfTIFixture {
    static func url(_ name: String) -> URL {
        let folder = Bundle.module.url(forResource: "nifti", withExtension: nil, subdirectory: "Fixtures")!
        return folder.appendingPathComponent(name)
    }

    nonisolated(unsafe) static let expected: [String: Any] = {
        let data = try! Data(contentsOf: url("expected.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    static var good: [[String: Any]] { expected["good"] as! [[String: Any]] }
    static var bad: [[String: Any]] { expected["bad"] as! [[String: Any]] }
    static var goodNames: [String] { good.map { $0["file"] as! String } }
    static var badNames: [String] { bad.map { $0["file"] as! String } }

    static func good(_ name: String) -> [String: Any] { good.first { $0["file"] as! String == name }! }
    static func bad(_ name: String) -> [String: Any] { bad.first { $0["file"] as! String == name }! }

    /// A JSON number, or "nan" / "inf" / "-inf".
    static func number(_ value: Any?) -> Double {
        switch value {
        case let n as NSNumber: return n.doubleValue
        case let s as String: return s == "nan" ? .nan : (s == "inf" ? .infinity : -.infinity)
        default: fatalError("not a number: \(String(describing: value))")
        }
    }

    static func numbers(_ value: Any?) -> [Double] { (value as! [Any]).map { number($0) } }

    /// Little-endian float32 values of a `.bin` fixture.
    static func floats(_ name: String) -> [Float] {
        let data = try! Data(contentsOf: url(name))
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }

    static func expectClose(_ a: Affine, _ b: [Double], tolerance: Double = 1e-5, _ what: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        let worst = zip(a.m, b).map { abs($0 - $1) }.max()!
        #expect(worst <= tolerance, "\(what): \(a.m) vs \(b)", sourceLocation: sourceLocation)
    }
}

/// A fresh temporary folder, removed by `cleanup()`.
struct TemporaryFolder {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("ichct-nifti-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func cleanup() { try? FileManager.default.removeItem(at: url) }
    func file(_ name: String) -> URL { url.appendingPathComponent(name) }
}
