import Foundation
import NeuralCore
import TestSupport

/// One case of `Fixtures/layers.json` (made by scripts/fixtures/layer_fixtures.py from PyTorch).
struct LayerCase {
    let name: String
    let config: [String: Any]
    let tensors: [String: Tensor]

    func tensor(_ key: String, requiresGrad: Bool = false) -> Tensor {
        guard let t = tensors[key] else { fatalError("fixture \(name) has no tensor \(key)") }
        return Tensor(shape: t.shape, data: t.data, requiresGrad: requiresGrad)
    }
    func int(_ key: String) -> Int { (config[key] as! NSNumber).intValue }
    func float(_ key: String) -> Float { (config[key] as! NSNumber).floatValue }
    func bool(_ key: String) -> Bool { (config[key] as! NSNumber).boolValue }
}

enum LayerFixtures {
    /// PyTorch's state_dict (key, shape) list of the `Naming` module in the fixture script.
    static let stateDictOrder: [(String, [Int])] = {
        let url = Bundle.module.url(forResource: "layers", withExtension: "json", subdirectory: "Fixtures")!
        let root = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        return (root["state_dict_order"] as! [[Any]]).map { ($0[0] as! String, ($0[1] as! [NSNumber]).map(\.intValue)) }
    }()

    /// All cases, loaded once.
    nonisolated(unsafe) static let cases: [String: LayerCase] = {
        guard let indexURL = Bundle.module.url(forResource: "layers", withExtension: "json", subdirectory: "Fixtures"),
              let binURL = Bundle.module.url(forResource: "layers", withExtension: "bin", subdirectory: "Fixtures"),
              let index = try? Data(contentsOf: indexURL), let blob = try? Data(contentsOf: binURL),
              let root = try? JSONSerialization.jsonObject(with: index) as? [String: Any],
              let list = root["cases"] as? [[String: Any]] else {
            fatalError("Fixtures/layers.json or layers.bin missing: run scripts/fixtures/layer_fixtures.py")
        }
        let floats = FixtureNumber.littleEndianFloat32s(blob)
        var result: [String: LayerCase] = [:]
        for entry in list {
            let name = entry["name"] as! String
            var tensors: [String: Tensor] = [:]
            for (key, value) in entry["tensors"] as! [String: [String: Any]] {
                let offset = (value["offset"] as! NSNumber).intValue
                let shape = (value["shape"] as! [NSNumber]).map(\.intValue)
                let n = shape.reduce(1, *)
                tensors[key] = Tensor(shape: shape, data: Array(floats[offset ..< offset + n]))
            }
            result[name] = LayerCase(name: name, config: entry["config"] as! [String: Any], tensors: tensors)
        }
        return result
    }()

    static func load(_ name: String) -> LayerCase {
        guard let c = cases[name] else { fatalError("no fixture case \(name)") }
        return c
    }

    static func names(op: String) -> [String] {
        cases.values.filter { ($0.config["op"] as? String) == op }.map(\.name).sorted()
    }
}
