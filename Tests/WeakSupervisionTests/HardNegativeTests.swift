import Foundation
import CTVolume
import NeuralCore
import Testing
@testable import WeakSupervision
import TestSupport

@Suite("Refiner training with hard negatives")
struct HardNegativeTests {
    @Test("hard negatives: the most-called candidates first, ties in draw order, none without a call, the count kept")
    func selection() {
        let drawn = [10, 11, 12, 13, 14]
        let candidates = [20, 12, 21, 22, 23]
        let called: [[Int]] = [[1, 2], [5, 6, 7], [], [9, 8], [3]]
        let (negatives, hard) = RefinerTrainer.withHardNegatives(drawn: drawn, candidates: candidates, called: called, wanted: 3)
        // 12 (3 pixels), then 20 and 22 (2 each, 20 drawn first); 23 (1 pixel) is past `wanted`, 21 called nothing
        #expect(hard.map(\.item) == [12, 20, 22])
        #expect(hard.map(\.pixels) == [[5, 6, 7], [1, 2], [9, 8]])
        // 12 was drawn at random too: it is not taken twice, and two random ones fill the count
        #expect(negatives == [12, 20, 22, 10, 11])
        let few = RefinerTrainer.withHardNegatives(drawn: drawn, candidates: candidates, called: called, wanted: 10)
        #expect(few.hard.map(\.item) == [12, 20, 22, 23])
        #expect(few.negatives == [12, 20, 22, 23, 10])
        let none = RefinerTrainer.withHardNegatives(drawn: drawn, candidates: [30, 31], called: [[], []], wanted: 2)
        #expect(none.hard.isEmpty && none.negatives == drawn)
        #expect(RefinerTrainer.withHardNegatives(drawn: drawn, candidates: candidates, called: called, wanted: 0).negatives == drawn)
    }

    @Test("a hard negative's crop anchor marks its called pixels where the draw moves the slice")
    func anchor() {
        let size = 16, called = [3 * size + 2, 10 * size + 12]
        let plain = RefinerTrainer.calledPlane(called, size: size, draw: nil)
        #expect(plain.indices.filter { plain[$0] > 0 }.map { $0 - plain.startIndex } == called)
        // mirrored left-right: column x goes to 15 − x, as the slice's own pixels do
        let flip = AugmentationDraw(flipX: true)
        let moved = RefinerTrainer.calledPlane(called, size: size, draw: flip)
        var slice = [Float](repeating: 0, count: size * size)[...]
        for p in called { slice[p] = 1 }
        flip.apply(to: &slice, size: size, intensity: false)
        #expect(Array(moved) == Array(slice))
        #expect(moved[3 * size + 13] == 1 && moved[10 * size + 3] == 1 && moved.reduce(0, +) == 2)
        var generator = SeededGenerator(seed: 1)
        for _ in 0..<50 {
            let (y0, x0) = RefinerTrainer.cropOrigin(target: moved, size: size, crop: 4, using: &generator)
            let holds = [(3, 13), (10, 3)].contains { (y0..<(y0 + 4)).contains($0.0) && (x0..<(x0 + 4)).contains($0.1) }
            #expect(holds, "crop at \(y0), \(x0)")
        }
    }

    @Test("called pixels: logit > 0 of each slice in eval mode, batch by batch, the model left training")
    func calledPixels() throws {
        let (a, b, _) = refinerCases()
        let model = UNetLite(config: UNetLiteConfig(inputSize: 16, widths: [4, 8]), seed: 2)
        // the head's bias at minus the median logit, so that about half the pixels are called
        model.eval()
        let before = withoutGradients { model(Tensor(shape: [1, 3, 16, 16], data: Array(a.slice(1)))) }.data.sorted()
        model.head.bias!.data = [model.head.bias!.data[0] - before[128]]
        model.train()
        // 18 items: two batches (16 and 2)
        let items = (0..<18).map { i in i % 2 == 0 ? (0, i % 6) : (1, i % 5) }
        let got = RefinerTrainer.calledPixels(of: items, in: [a, b], model: model, context: 0)
        #expect(model.isTraining)
        model.eval()
        func expected(_ part: ArraySlice<(Int, Int)>) -> [[Int]] {
            let x = part.flatMap { [a, b][$0.0].slice($0.1) }
            let logits = withoutGradients { model(Tensor(shape: [part.count, 3, 16, 16], data: x)) }.data
            return (0..<part.count).map { k in (0..<256).filter { logits[k * 256 + $0] > 0 } }
        }
        #expect(got == expected(items[0..<16]) + expected(items[16..<18]))
        #expect(got.contains { !$0.isEmpty } && got.contains { $0.count < 256 })   // the case is not vacuous
    }

    @Test("training with hard negatives: seeded, mined from the second epoch, not the plain run, resumes at an epoch's end only")
    func training() throws {
        let folder = TemporaryFolder(prefix: "ichct-hard"), dir = folder.url
        defer { folder.cleanup() }
        let plain = RefinerTrainingConfig(model: UNetLiteConfig(inputSize: 16, widths: [4, 8]), epochs: 3, batchSize: 2, seed: 5,
                                          negativeFraction: 0.5, cropSize: 8)
        var config = plain
        config.hardNegatives = .init(share: 1, pool: 6)
        func run(_ name: String, _ config: RefinerTrainingConfig, stopAt: Int? = nil, resume: Bool = false) throws -> (TrainingSummary, TrainingOutputs) {
            try trainRefinerCases(name, config, in: dir, stopAt: stopAt, resume: resume)
        }
        let (first, one) = try run("one", config), (_, two) = try run("two", config)
        #expect(try tensors(one.resume) == tensors(two.resume))
        let counts = first.history.map(\.hardNegatives)
        #expect(counts[0] == nil)
        #expect(counts[1].map { $0 > 0 } == true, "\(counts)")   // the untrained-looking network calls something on an empty slice
        let (base, baseOut) = try run("plain", plain)
        #expect(base.history.allSatisfy { $0.hardNegatives == nil })
        #expect(try tensors(baseOut.resume, prefix: "model.") != tensors(one.resume, prefix: "model."))

        let perEpoch = first.history[0].globalStep
        let (stopped, _) = try run("split", config, stopAt: perEpoch)
        #expect(stopped.stopped && stopped.epochsCompleted == 1)
        let (rest, split) = try run("split", config, resume: true)
        #expect(rest.history == first.history)
        #expect(try tensors(split.resume) == tensors(one.resume))

        _ = try run("inside", config, stopAt: perEpoch + 1)
        #expect {
            try run("inside", config, resume: true)
        } throws: { error in
            "\(error)".contains("within an epoch")
        }
    }

    @Test("hard-negative settings: share in (0, 1], pool at least 1, not on several ranks, absent from the JSON when off")
    func settings() throws {
        var config = RefinerTrainingConfig(model: UNetLiteConfig(inputSize: 16, widths: [4, 8]))
        for (share, pool) in [(0.0, 10), (1.5, 10), (-0.1, 10), (0.5, 0)] {
            config.hardNegatives = .init(share: share, pool: pool)
            #expect(throws: WeakSupervisionError.self, "\(share), \(pool)") { try config.validate() }
        }
        config.hardNegatives = .init(share: 0.5, pool: 800)
        try config.validate()
        let json = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        #expect(json.contains("\"hardNegatives\""))
        #expect(try JSONDecoder().decode(RefinerTrainingConfig.self, from: Data(json.utf8)) == config)
        config.hardNegatives = nil
        #expect(!String(decoding: try JSONEncoder().encode(config), as: UTF8.self).contains("hardNegatives"))

        let folder = TemporaryFolder(prefix: "ichct-hard-ranks")
        defer { folder.cleanup() }
        let (a, b, v) = refinerCases()
        config.hardNegatives = .init()
        #expect {
            try RefinerTrainer(config: config).train(training: [a, b], validation: [v],
                                                     outputs: TrainingOutputs(model: folder.url.appendingPathComponent("m.safetensors")),
                                                     communicator: ShardedDataTests.RankWithoutTransport(rank: 0, size: 2))
        } throws: { error in
            "\(error)".contains("hardNegatives") && "\(error)".contains("2 ranks")
        }
        // a missing field takes its default
        #expect(try JSONDecoder().decode(RefinerTrainingConfig.HardNegatives.self, from: Data("{}".utf8)) == .init())
        #expect(try JSONDecoder().decode(RefinerTrainingConfig.HardNegatives.self, from: Data(#"{"share": 0.25}"#.utf8)) == .init(share: 0.25, pool: 800))
    }

    @Test("the crop anchor: a sample's target and share, or a hard negative's called pixels with every crop on them")
    func cropAnchor() {
        var target = [Float](repeating: 0, count: 64)[...]
        target[9] = 1
        let plain = RefinerTrainer.cropAnchor(target: target, called: nil, draw: nil, size: 8, foreground: 0.33)
        #expect(plain.anchor == target && plain.share == 0.33)
        let hard = RefinerTrainer.cropAnchor(target: target, called: [20, 41], draw: AugmentationDraw(flipX: true), size: 8, foreground: 0.33)
        #expect(hard.share == nil)
        #expect(hard.anchor == RefinerTrainer.calledPlane([20, 41], size: 8, draw: AugmentationDraw(flipX: true)))
        #expect(hard.anchor.indices.filter { hard.anchor[$0] > 0 }.map { $0 - hard.anchor.startIndex } == [2 * 8 + 3, 5 * 8 + 6])
    }
}
