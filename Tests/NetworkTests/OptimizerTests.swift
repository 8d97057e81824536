import Foundation
import NeuralCore
import WeakSupervision
import Testing
import TestSupport

/// Tensors of a fixture file whose names start with `prefix`, with the prefix removed.
func fixtureTensors(_ file: String, prefix: String = "") throws -> [String: Tensor] {
    let st = try SafeTensors(contentsOf: fixtureURL(file))
    var out: [String: Tensor] = [:]
    for (k, v) in st.tensors where k.hasPrefix(prefix) {
        out[String(k.dropFirst(prefix.count))] = Tensor(v)
    }
    return out
}

/// Largest |a - b| / (atol + rtol |b|) over all elements (≤ 1 means within tolerance).
func closeness(_ a: [Float], _ b: [Float], atol: Float = 1e-5, rtol: Float = 1e-4) -> Float {
    precondition(a.count == b.count, "\(a.count) vs \(b.count) elements")
    var worst: Float = 0
    for (x, y) in zip(a, b) {
        let r = abs(x - y) / (atol + rtol * abs(y))
        if !(r <= worst) { worst = r.isNaN ? .infinity : r }
    }
    return worst
}

/// Optimizer as the fixture's metadata describes it (scripts/fixtures/network_fixtures.py OPTIMIZERS).
func fixtureOptimizer(_ name: String) -> Optimizer {
    switch name {
    case "sgd": return SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4)
    case "nesterov": return SGD(learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4, nesterov: true)
    case "adam": return Adam(learningRate: 1e-3)
    case "adamw": return AdamW(learningRate: 1e-3, weightDecay: 1e-2)
    default: fatalError(name)
    }
}

@Suite("Optimizers")
struct OptimizerTests {
    /// torch.optim.{SGD, Adam, AdamW}(...).step() from the checkpoint with the gradients torch
    /// computed there (`train.grad.*`) must give `step1.*` (parameters after torch's first step).
    @Test("first step equals torch's from the same parameters and gradients", arguments: [
        ("unet_a", "sgd"), ("unet_a", "nesterov"), ("unet_a", "adam"), ("unet_a", "adamw"),
        ("classifier_b", "sgd"), ("classifier_b", "adam"), ("classifier_c", "adam"),
    ])
    func firstStep(net: String, optimizer name: String) throws {
        let start = try fixtureTensors("\(net).safetensors")
        let grads = try fixtureTensors("\(net).io.safetensors", prefix: "train.grad.")
        let expected = try fixtureTensors("\(net).\(name).safetensors", prefix: "step1.")
        let parameters = start.filter { grads[$0.key] != nil }
        #expect(parameters.count == grads.count && !grads.isEmpty)
        let optimizer = fixtureOptimizer(name)
        optimizer.update(parameters: parameters, gradients: grads)
        #expect(optimizer.stepCount == 1)
        for (key, p) in parameters {
            let want = try #require(expected[key], "\(key)")
            #expect(closeness(p.data, want.data, atol: 1e-7, rtol: 1e-6) <= 1, "\(net) \(name) \(key)")
        }
    }

    @Test("plain SGD is p - lr g; Adam's first step is p - lr g / (|g| + eps)")
    func analytic() {
        let p = Tensor(shape: [4], data: [1, -2, 3, 0.5])
        let g = Tensor(shape: [4], data: [0.5, -1, 0, 4])
        SGD(learningRate: 0.1).update(parameters: ["p": p], gradients: ["p": g])
        let sgd: [Float] = [1 - 0.05, -2 + 0.1, 3, 0.5 - 0.4]
        #expect(p.data == sgd)
        let q = Tensor(shape: [4], data: [1, -2, 3, 0.5])
        Adam(learningRate: 0.01, eps: 1e-8).update(parameters: ["q": q], gradients: ["q": g])
        let expected: [Float] = [1 - 0.01, -2 + 0.01, 3, 0.5 - 0.01]
        #expect(closeness(q.data, expected, atol: 1e-6, rtol: 1e-6) <= 1)
        // AdamW with g = 0 only decays: p (1 - lr λ).
        let r = Tensor(shape: [2], data: [2, -4])
        AdamW(learningRate: 0.1, weightDecay: 0.5).update(parameters: ["r": r], gradients: ["r": Tensor(zeros: [2])])
        let decayed: [Float] = [2 * 0.95, -4 * 0.95]
        #expect(r.data == decayed)
    }

    @Test("a saved and restored state resumes exactly", arguments: ["sgd", "nesterov", "adam", "adamw"])
    func resume(name: String) throws {
        func grads(_ k: Int) -> [String: Tensor] {
            ["a.w": Tensor(shape: [3], data: [0.3 * Float(k), -1, 0.25]), "b": Tensor(shape: [2, 1], data: [Float(k), 2])]
        }
        func params() -> [String: Tensor] {
            ["a.w": Tensor(shape: [3], data: [1, 2, 3]), "b": Tensor(shape: [2, 1], data: [-1, 0.5])]
        }
        let straight = params()
        let reference = fixtureOptimizer(name)
        for k in 1...3 { reference.update(parameters: straight, gradients: grads(k)) }

        let temporary = TemporaryFolder(prefix: "ichct-nn"), folder = temporary.url
        defer { temporary.cleanup() }
        let url = folder.appendingPathComponent("opt.safetensors")
        let resumed = params()
        let first = fixtureOptimizer(name)
        first.update(parameters: resumed, gradients: grads(1))
        first.update(parameters: resumed, gradients: grads(2))
        try first.save(to: url)
        let second = fixtureOptimizer(name)
        second.learningRate = 123
        try second.load(from: url)
        #expect(second.stepCount == 2)
        #expect(second.learningRate == first.learningRate)
        second.update(parameters: resumed, gradients: grads(3))
        for key in straight.keys { #expect(resumed[key]!.data == straight[key]!.data, "\(key)") }
    }

    @Test("a state of another kind is refused naming the file")
    func wrongKind() throws {
        let temporary = TemporaryFolder(prefix: "ichct-nn"), folder = temporary.url
        defer { temporary.cleanup() }
        let url = folder.appendingPathComponent("sgd.safetensors")
        try SGD(learningRate: 0.1, momentum: 0.9).save(to: url)
        #expect(throws: NeuralCoreError.invalidData(source: url.path, reason: "optimizer state is for sgd, not adam")) {
            try Adam().load(from: url)
        }
    }
}

extension OptimizerTests {
    @Test("a state checked against a model names buffers of unknown or mis-sized parameters")
    func checkedAgainstModel() throws {
        let temporary = TemporaryFolder(prefix: "ichct-nn"), folder = temporary.url
        defer { temporary.cleanup() }
        let net = UNetLite(config: UNetLiteConfig(inputSize: 8, widths: [2, 4]), seed: 1)
        let parameters = Dictionary(uniqueKeysWithValues: net.namedParameters().map { ($0.key, $0.tensor) })
        let adam = Adam()
        adam.update(parameters: parameters, gradients: parameters.mapValues { Tensor(zeros: $0.shape, value: 0.5) })
        let url = folder.appendingPathComponent("adam.safetensors")
        try adam.save(to: url)
        try Adam().load(from: url, model: net)       // matches

        var file = try SafeTensors(contentsOf: url)
        file.tensors["head.weight.exp_avg"] = StoredTensor(shape: [3], floats: [0, 0, 0])
        #expect(throws: NeuralCoreError.shapeMismatch(source: "f", key: "head.weight.exp_avg", expected: [2], found: [3])) {
            try Adam().load(stateFile: file, source: "f", model: net)
        }
        file.tensors["head.weight.exp_avg"] = nil
        file.tensors["tail.weight.exp_avg"] = StoredTensor(shape: [2], floats: [0, 0])
        #expect(throws: NeuralCoreError.unexpectedKeys(source: "f", keys: ["tail.weight"])) {
            try Adam().load(stateFile: file, source: "f", model: net)
        }
    }
}

@Suite("Learning-rate schedules")
struct ScheduleTests {
    @Test("step decay as torch's StepLR(step_size=3, gamma=0.5)")
    func stepDecay() {
        let s = StepDecay(base: 0.8, stepSize: 3, gamma: 0.5)
        let torch: [Float] = [0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2]
        #expect((0..<8).map { s.learningRate(at: $0) } == torch)
    }

    @Test("cosine with warm-up: linear ramp, peak, half-way, floor")
    func cosine() {
        let s = CosineWithWarmup(base: 1, warmupSteps: 4, totalSteps: 14, minimum: 0.1)
        #expect(s.learningRate(at: 0) == 0)
        #expect(s.learningRate(at: 2) == 0.5)
        #expect(s.learningRate(at: 4) == 1)
        #expect(abs(s.learningRate(at: 9) - 0.55) < 1e-6)   // cos(π/2) = 0: (1 + 0.1) / 2
        #expect(s.learningRate(at: 14) == 0.1 && s.learningRate(at: 100) == 0.1)
        // No warm-up: torch's CosineAnnealingLR closed form eta_min + (base - eta_min)(1 + cos(π t / T)) / 2.
        let c = CosineWithWarmup(base: 0.5, totalSteps: 10)
        for t in 0..<10 {
            let torch = 0.5 * (1 + cos(Double.pi * Double(t) / 10)) / 2
            #expect(abs(Double(c.learningRate(at: t)) - torch) < 1e-7)
        }
    }
}

extension OptimizerTests {
    /// The formula of `Adam`'s documentation, one element at a time (the reference the vector
    /// and threaded update must equal bit for bit).
    static func scalarAdam(p: inout [Float], g: [Float], m: inout [Float], v: inout [Float], step t: Int,
                           lr: Float, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, l2: Float) {
        let stepSize = Float(Double(lr) / (1 - pow(Double(beta1), Double(t))))
        let correction2 = Float((1 - pow(Double(beta2), Double(t))).squareRoot())
        for i in p.indices {
            let gi = l2 != 0 ? g[i] + l2 * p[i] : g[i]
            m[i] = m[i] + (1 - beta1) * (gi - m[i])
            v[i] = v[i] * beta2 + (1 - beta2) * gi * gi
            p[i] += -stepSize * (m[i] / (v[i].squareRoot() / correction2 + eps))
        }
    }

    @Test("Adam's and AdamW's vector and threaded update equals the scalar formula bit for bit",
          arguments: [(0, Float(0), false), (1, 0, false), (7, 0, false), (8, 1e-2, false), (100_003, 0, false),
                      (100_003, 1e-2, false), (9, 1e-2, true), (100_003, 1e-2, true)])
    func vectorUpdateIsExact(count: Int, decay: Float, decoupled: Bool) {
        var generator = TestGenerator(seed: UInt64(count))
        func draw() -> [Float] { (0..<count).map { _ in Float.random(in: -2...2, using: &generator) } }
        var p = draw(), m = [Float](repeating: 0, count: count), v = m
        let live = Tensor(shape: [count], data: p)
        let adam = decoupled ? AdamW(learningRate: 3e-3, weightDecay: decay) : Adam(learningRate: 3e-3, weightDecay: decay)
        for t in 1...3 {
            let g = draw()
            if decoupled {
                // AdamW: p (1 - lr λ) first, then Adam without L2
                let factor = Float(1 - Double(Float(3e-3)) * Double(decay))
                for i in p.indices { p[i] *= factor }
            }
            Self.scalarAdam(p: &p, g: g, m: &m, v: &v, step: t, lr: 3e-3, l2: decoupled ? 0 : decay)
            adam.update(parameters: ["w": live], gradients: ["w": Tensor(shape: [count], data: g)])
        }
        #expect(live.data == p)
        #expect(adam.state["w"]?["exp_avg"] == m)
        #expect(adam.state["w"]?["exp_avg_sq"] == v)
    }
}
