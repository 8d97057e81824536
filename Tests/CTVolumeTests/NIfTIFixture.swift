import Foundation
import Testing
import CTVolume
import TestSupport

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
    static func number(_ value: Any?) -> Double { FixtureNumber.require(value) }

    static func numbers(_ value: Any?) -> [Double] { FixtureNumber.requireArray(value) }

    /// Little-endian float32 values of a `.bin` fixture.
    static func floats(_ name: String) -> [Float] {
        FixtureNumber.littleEndianFloat32s(try! Data(contentsOf: url(name)))
    }

    static func expectClose(_ a: Affine, _ b: [Double], tolerance: Double = 1e-5, _ what: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        let worst = zip(a.m, b).map { abs($0 - $1) }.max()!
        #expect(worst <= tolerance, "\(what): \(a.m) vs \(b)", sourceLocation: sourceLocation)
    }
}
