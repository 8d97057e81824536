import Foundation
import CTVolume
import NeuralCore
import WeakSupervision
import TestSupport

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

/// A unit-spacing geometry.
let unitGeometry = Geometry(spacing: SIMD3(1, 1, 1))

/// Relative closeness.
func close(_ a: Double, _ b: Double, rtol: Double = 1e-9, atol: Double = 1e-9) -> Bool {
    abs(a - b) <= atol + rtol * abs(b)
}

// MARK: training fixtures (TrainingTests, RefinerCropTests)

/// Every tensor of a checkpoint or resume file whose name starts with `prefix` (prefix removed).
func tensors(_ url: URL, prefix: String = "") throws -> [String: [Float]] {
    var out: [String: [Float]] = [:]
    for (k, t) in try SafeTensors(contentsOf: url).tensors where k.hasPrefix(prefix) { out[String(k.dropFirst(prefix.count))] = t.floats }
    return out
}

/// A pattern case of `z` slices at size `s` (the fixture formula, shifted by `phase` slices).
func patternCase(_ name: String, z: Int, s: Int, labels: [Float], phase: Int = 0, masks: [Float]? = nil) -> PreparedCase {
    let all = patternSequence(t: z + phase, c: 3, s: s).data
    return PreparedCase(name: name, size: s, channels: 3, slices: Array(all[(phase * 3 * s * s)...]), labels: labels, masks: masks)
}

/// A refiner trained on ``refinerCases()`` (a and b; v validates) into `dir/NAME.safetensors`,
/// stopped at a global step or resumed from its own resume file.
func trainRefinerCases(_ name: String, _ config: RefinerTrainingConfig, in dir: URL, stopAt: Int? = nil,
                       resume: Bool = false) throws -> (TrainingSummary, TrainingOutputs) {
    let (a, b, v) = refinerCases()
    let out = TrainingOutputs(model: dir.appendingPathComponent("\(name).safetensors"))
    let summary = try RefinerTrainer(config: config).train(training: [a, b], validation: [v], outputs: out,
                                                           resume: resume ? out.resume : nil,
                                                           observer: stopAt.map(stopping(atStep:)) ?? TrainingCallback.silent)
    return (summary, out)
}

/// Two training cases and one validation case at 16 with a disc on their positive slices.
func refinerCases() -> (a: PreparedCase, b: PreparedCase, v: PreparedCase) {
    func disc(_ z: Int, _ on: Set<Int>) -> [Float] {
        var m = [Float](repeating: 0, count: z * 256)
        for k in on { for i in 4..<9 { for j in 5..<11 { m[k * 256 + i * 16 + j] = 1 } } }
        return m
    }
    return (patternCase("a", z: 6, s: 16, labels: [0, 1, 1, 0, 0, 0], masks: disc(6, [1, 2])),
            patternCase("b", z: 5, s: 16, labels: [0, 0, 0, 1, 0], phase: 3, masks: disc(5, [3])),
            patternCase("v", z: 3, s: 16, labels: [0, 1, 0], phase: 7, masks: disc(3, [1])))
}
