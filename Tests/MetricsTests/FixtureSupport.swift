import Foundation
import Metrics
import TestSupport

/// Reads `Fixtures/metrics_fixtures.json` (made by scripts/fixtures/metrics_fixtures.py).
enum Fixture {
    nonisolated(unsafe) static let root: [String: Any] = {
        let url = Bundle.module.url(forResource: "metrics_fixtures", withExtension: "json", subdirectory: "Fixtures")!
        let data = try! Data(contentsOf: url)
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    static var cases: [[String: Any]] { root["cases"] as! [[String: Any]] }

    static func named(_ name: String) -> [String: Any] {
        cases.first { ($0["name"] as! String) == name }!
    }

    /// A number, or "nan" / "inf" / "-inf"; nil for null (the library raised).
    static func number(_ any: Any?) -> Double? { FixtureNumber.double(any) }

    static func numbers(_ any: Any?) -> [Double] { FixtureNumber.requireArray(any) }

    /// Unpacks numpy.packbits (most significant bit first) into `count` flags.
    static func bits(_ base64: String, count: Int) -> [Bool] {
        let bytes = [UInt8](Data(base64Encoded: base64)!)
        return (0..<count).map { bytes[$0 / 8] & (0x80 >> UInt8($0 % 8)) != 0 }
    }

    static func masks(_ c: [String: Any]) -> (prediction: BinaryMask, truth: BinaryMask) {
        let s = c["shape"] as! [Int]
        let sp = numbers(c["spacing"])
        let shape = MaskShape(s[0], s[1], s[2])
        let spacing = SIMD3(sp[0], sp[1], sp[2])
        return (BinaryMask(shape: shape, spacing: spacing, voxels: bits(c["prediction"] as! String, count: shape.count)),
                BinaryMask(shape: shape, spacing: spacing, voxels: bits(c["truth"] as! String, count: shape.count)))
    }
}

/// `a` and `b` agree: both NaN, equal infinities, or within `rtol` relative (and 1e-12 absolute).
func close(_ a: Double, _ b: Double, rtol: Double = 1e-12) -> Bool {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
    if a.isInfinite || b.isInfinite { return a == b }
    return abs(a - b) <= (rtol == 0 ? 0 : 1e-12) + rtol * max(abs(a), abs(b))
}
