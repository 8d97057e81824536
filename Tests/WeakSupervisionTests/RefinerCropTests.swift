import Foundation
import CTVolume
import NeuralCore
import Testing
@testable import WeakSupervision
import TestSupport

@Suite("Refiner training on crops")
struct RefinerCropTests {
    @Test("a crop of a slice with a target holds a target pixel and stays inside; an empty slice's crop lies anywhere inside")
    func cropOrigins() {
        let size = 16, crop = 8
        var target = [Float](repeating: 0, count: size * size)
        for (y, x) in [(0, 15), (14, 2), (7, 7)] { target[y * size + x] = 1 }
        var generator = SeededGenerator(seed: 3)
        var corners = Set<Int>(), hits = Set<Int>()
        for _ in 0..<400 {
            let (y0, x0) = RefinerTrainer.cropOrigin(target: target[...], size: size, crop: crop, using: &generator)
            #expect((0...(size - crop)).contains(y0) && (0...(size - crop)).contains(x0))
            let inside = [(0, 15), (14, 2), (7, 7)].filter { (y0..<(y0 + crop)).contains($0.0) && (x0..<(x0 + crop)).contains($0.1) }
            #expect(!inside.isEmpty, "window at \(y0), \(x0) holds no target pixel")
            corners.insert(y0 * size + x0)
            for p in inside { hits.insert(p.0 * size + p.1) }
        }
        #expect(hits.count == 3 && corners.count > 20)   // every target pixel gets windows, in many places
        // an offset slice (as PreparedCase.mask hands out) gives the same draws as a fresh array
        let padded = [Float](repeating: 0, count: 5) + target
        var g1 = SeededGenerator(seed: 9), g2 = SeededGenerator(seed: 9)
        for _ in 0..<20 {
            let a = RefinerTrainer.cropOrigin(target: padded[5...], size: size, crop: crop, using: &g1)
            let b = RefinerTrainer.cropOrigin(target: target[...], size: size, crop: crop, using: &g2)
            #expect(a == b)
        }
        var empty = Set<Int>()
        for _ in 0..<200 {
            let (y0, x0) = RefinerTrainer.cropOrigin(target: [Float](repeating: 0, count: size * size)[...], size: size, crop: crop, using: &generator)
            #expect((0...(size - crop)).contains(y0) && (0...(size - crop)).contains(x0))
            empty.insert(y0 * size + x0)
        }
        #expect(empty.count > 40)
    }

    @Test("crop cuts the same window from every channel")
    func cropValues() {
        let size = 6, channels = 2
        let values = (0..<(channels * size * size)).map(Float.init)
        let out = Array(RefinerTrainer.crop(([Float(-1)] + values)[1...], channels: channels, size: size, y0: 1, x0: 3, crop: 2))
        // channel c, row y, column x sits at (c·6 + y)·6 + x
        #expect(out == [9, 10, 15, 16, 45, 46, 51, 52])
    }

    @Test("training on crops: seeded (two runs equal), not the whole-slice run, resumes exactly; bad crop sizes refused")
    func training() throws {
        let folder = TemporaryFolder(prefix: "ichct-train"), dir = folder.url
        defer { folder.cleanup() }
        let (a, b, v) = refinerCases()
        var config = RefinerTrainingConfig(model: UNetLiteConfig(inputSize: 16, widths: [4, 8]), epochs: 2, batchSize: 2, seed: 5,
                                           negativeFraction: 0.5, cropSize: 8)
        func run(_ name: String, _ config: RefinerTrainingConfig, stopAt: Int? = nil, resume: Bool = false) throws -> (TrainingSummary, TrainingOutputs) {
            let out = TrainingOutputs(model: dir.appendingPathComponent("\(name).safetensors"))
            let summary = try RefinerTrainer(config: config).train(training: [a, b], validation: [v], outputs: out,
                                                                   resume: resume ? out.resume : nil,
                                                                   observer: stopAt.map(stopping(atStep:)) ?? TrainingCallback.silent)
            return (summary, out)
        }
        let (first, one) = try run("one", config), (_, two) = try run("two", config)
        #expect(try tensors(one.resume) == tensors(two.resume))
        let (whole, wholeOut) = try run("whole", { var c = config; c.cropSize = nil; return c }())
        #expect(whole.history.map(\.trainLoss) != first.history.map(\.trainLoss))
        #expect(try tensors(wholeOut.model) != tensors(one.model))
        let (stopped, _) = try run("split", config, stopAt: 3)
        #expect(stopped.stopped)
        let (rest, split) = try run("split", config, resume: true)
        #expect(rest.history == first.history)
        #expect(try tensors(split.resume) == tensors(one.resume))
        for bad in [16, 7, 0, 20] {
            config.cropSize = bad
            #expect(throws: WeakSupervisionError.self, "\(bad)") { try config.validate() }
        }
    }
}
