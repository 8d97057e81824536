import Foundation
import NeuralCore
import Testing

/// A linear layer followed by batch norm: parameters, float buffers and the integer counter.
private final class LinearNorm: Module {
    let fc = Linear(weight: Tensor(shape: [2, 3], data: [Float](repeating: 0, count: 6)), bias: Tensor(shape: [2], data: [0, 0]))
    let bn = BatchNorm2d(2)
}

/// Sets every state value of `model` to `value` (the counter to `count`).
private func fill(_ model: Module, _ value: Float, count: Float) {
    for (key, t) in model.orderedStateDict() {
        t.data = [Float](repeating: key.hasSuffix("num_batches_tracked") ? count : value, count: t.count)
    }
}

@Suite("Exponential moving average of weights")
struct WeightAverageTests {
    @Test("after the first copy, average = d·average + (1−d)·current, closed form over a sequence; the counter is copied")
    func closedForm() throws {
        let model = LinearNorm(), d: Float = 0.9
        let average = ExponentialMovingAverage(decay: d)
        let sequence: [Float] = [3, -1, 2, 5, 0.5]
        for (i, v) in sequence.enumerated() {
            fill(model, v, count: Float(i + 1))
            average.update(from: model)
        }
        // v0 weighted d^(n-1), then vi weighted (1-d) d^(n-1-i), computed in Double.
        let n = sequence.count
        var expected = pow(Double(d), Double(n - 1)) * Double(sequence[0])
        for i in 1..<n { expected += (1 - Double(d)) * pow(Double(d), Double(n - 1 - i)) * Double(sequence[i]) }
        #expect(average.updates == n)
        for (key, values) in average.values {
            if key.hasSuffix("num_batches_tracked") {
                #expect(values == [Float(n)])
            } else {
                #expect(values.allSatisfy { abs(Double($0) - expected) < 1e-5 }, "\(key): \(values) vs \(expected)")
            }
        }
        #expect(Set(average.values.keys) == Set(model.orderedStateDict().map(\.key)))
    }

    @Test("withAveragedWeights swaps the average in and puts the model's values back, also when the body throws")
    func swap() throws {
        struct Failure: Error {}
        let model = LinearNorm()
        let average = ExponentialMovingAverage(decay: 0.5)
        fill(model, 2, count: 1); average.update(from: model)
        fill(model, 4, count: 2); average.update(from: model)   // average 3
        fill(model, 7, count: 3)
        let inside = average.withAveragedWeights(in: model) { model.fc.weight.data }
        #expect(inside == [Float](repeating: 3, count: 6))
        #expect(model.fc.weight.data == [Float](repeating: 7, count: 6))
        #expect(throws: Failure.self) { try average.withAveragedWeights(in: model) { throw Failure() } }
        #expect(model.bn.orderedStateDict().allSatisfy { $0.key.hasSuffix("num_batches_tracked") ? $0.tensor.data == [3] : $0.tensor.data.allSatisfy { $0 == 7 } })
        // Before any update, the model is used as it is.
        let empty = ExponentialMovingAverage(decay: 0.5)
        #expect(empty.withAveragedWeights(in: model) { model.fc.bias!.data } == [7, 7])
    }

    @Test("a saved average restores exactly and refuses another decay or another model")
    func saveAndRestore() throws {
        let model = LinearNorm()
        let average = ExponentialMovingAverage(decay: 0.8)
        fill(model, 1, count: 1); average.update(from: model)
        fill(model, -2, count: 2); average.update(from: model)
        let file = try SafeTensors(bytes: average.stateFile().serialized(), source: "memory")
        let restored = ExponentialMovingAverage(decay: 0.8)
        try restored.load(stateFile: file, source: "memory", model: model)
        #expect(restored.updates == 2 && restored.values == average.values)
        // One more update on both stays equal: the state is complete.
        fill(model, 5, count: 3); average.update(from: model); restored.update(from: model)
        #expect(restored.values == average.values)

        #expect(throws: NeuralCoreError.self) { try ExponentialMovingAverage(decay: 0.9).load(stateFile: file, source: "memory", model: model) }
        var missing = file
        missing.tensors["fc.weight"] = nil
        #expect(throws: NeuralCoreError.missingKeys(source: "memory", keys: ["fc.weight"])) {
            try ExponentialMovingAverage(decay: 0.8).load(stateFile: missing, source: "memory", model: model)
        }
        var extra = file
        extra.tensors["fc.gamma"] = StoredTensor(shape: [1], floats: [0])
        #expect(throws: NeuralCoreError.unexpectedKeys(source: "memory", keys: ["fc.gamma"])) {
            try ExponentialMovingAverage(decay: 0.8).load(stateFile: extra, source: "memory", model: model)
        }
        var wrong = file
        wrong.tensors["fc.bias"] = StoredTensor(shape: [3], floats: [0, 0, 0])
        #expect(throws: NeuralCoreError.self) { try ExponentialMovingAverage(decay: 0.8).load(stateFile: wrong, source: "memory", model: model) }
        let other = Linear(weight: Tensor(shape: [2, 3], data: [Float](repeating: 0, count: 6)), bias: nil)
        #expect(throws: NeuralCoreError.self) { try ExponentialMovingAverage(decay: 0.8).load(stateFile: file, source: "memory", model: other) }
        #expect(throws: NeuralCoreError.self) { try ExponentialMovingAverage(decay: 0.8).load(stateFile: SafeTensors(), source: "memory", model: model) }
    }
}
