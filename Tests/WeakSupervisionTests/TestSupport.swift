import Foundation
import CTVolume

/// Reads `Fixtures/<name>.json` of the test bundle as a JSON object.
func fixture(_ name: String) throws -> [String: Any] {
    guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures") else {
        throw FixtureError.missing(name)
    }
    let data = try Data(contentsOf: url)
    guard let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw FixtureError.malformed(name) }
    return obj
}

enum FixtureError: Error { case missing(String), malformed(String) }

extension Dictionary where Key == String, Value == Any {
    func floats(_ key: String) -> [Float] { (self[key] as! [Any]).map { Float(($0 as! NSNumber).doubleValue) } }
    func doubles(_ key: String) -> [Double] { (self[key] as! [Any]).map { ($0 as! NSNumber).doubleValue } }
    func ints(_ key: String) -> [Int] { (self[key] as! [Any]).map { ($0 as! NSNumber).intValue } }
    func double(_ key: String) -> Double { (self[key] as! NSNumber).doubleValue }
    func int(_ key: String) -> Int { (self[key] as! NSNumber).intValue }
    func string(_ key: String) -> String { self[key] as! String }
    func objects(_ key: String) -> [[String: Any]] { self[key] as! [[String: Any]] }
    func matrix(_ key: String) -> [[Double]] { (self[key] as! [[Any]]).map { $0.map { ($0 as! NSNumber).doubleValue } } }
}

/// A tiny seeded generator for tests (SplitMix64), independent of the library's.
struct TestGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A unit-spacing geometry.
let unitGeometry = Geometry(spacing: SIMD3(1, 1, 1))

/// Relative closeness.
func close(_ a: Double, _ b: Double, rtol: Double = 1e-9, atol: Double = 1e-9) -> Bool {
    abs(a - b) <= atol + rtol * abs(b)
}
