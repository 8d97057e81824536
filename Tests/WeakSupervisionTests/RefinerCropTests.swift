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

    @Test("a foreground share below 1 puts about that share of a target slice's crops on a target pixel; 1 draws as before")
    func foregroundShare() {
        // one target pixel in a corner: a window anywhere holds it with probability 1/81 (9 x 9 origins)
        let size = 16, crop = 8
        var target = [Float](repeating: 0, count: size * size)
        target[0] = 1
        for share in [0.0, 0.33, 0.75] {
            var generator = SeededGenerator(seed: 11)
            let n = 3000
            let holding = (0..<n).filter { _ in
                RefinerTrainer.cropOrigin(target: target[...], size: size, crop: crop, foreground: share, using: &generator) == (0, 0)
            }.count
            // expected: share + (1 − share)/81; binomial sd at most 0.0092 for n = 3000, bound at 4 sd
            let expected = share + (1 - share) / 81
            #expect(abs(Double(holding) / Double(n) - expected) < 0.037, "share \(share): \(holding) of \(n)")
        }
        var g1 = SeededGenerator(seed: 4), g2 = SeededGenerator(seed: 4)
        for _ in 0..<50 {
            #expect(RefinerTrainer.cropOrigin(target: target[...], size: size, crop: crop, foreground: 1, using: &g1)
                    == RefinerTrainer.cropOrigin(target: target[...], size: size, crop: crop, using: &g2))
        }
        #expect(g1 == g2)
        var config = RefinerTrainingConfig(model: UNetLiteConfig(inputSize: 16, widths: [4, 8]), cropSize: 8, cropForeground: 0.33)
        #expect(throws: Never.self) { try config.validate() }
        for (crop, share) in [(8, 1.5), (8, -0.1), (nil, 0.5)] as [(Int?, Double)] {
            config.cropSize = crop
            config.cropForeground = share
            #expect(throws: WeakSupervisionError.self, "\(String(describing: crop)), \(share)") { try config.validate() }
        }
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
        var config = RefinerTrainingConfig(model: UNetLiteConfig(inputSize: 16, widths: [4, 8]), epochs: 2, batchSize: 2, seed: 5,
                                           negativeFraction: 0.5, cropSize: 8)
        func run(_ name: String, _ config: RefinerTrainingConfig, stopAt: Int? = nil, resume: Bool = false) throws -> (TrainingSummary, TrainingOutputs) {
            try trainRefinerCases(name, config, in: dir, stopAt: stopAt, resume: resume)
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
