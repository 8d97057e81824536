import Foundation
import CTVolume
import NeuralCore
import Testing
import WeakSupervision
import TestSupport

/// Data-parallel training on sharded data: a rank preprocesses the cases at positions K, K + N,
/// ... of each list and keeps outlines (labels, targets) of the others. The MPI run itself is
/// `DistributedTrainingTests` (`--shard-data`); here the preparation and the checks that run
/// before any collective.
@Suite("Sharded training data: outlines and the ranks that hold the cases")
struct ShardedDataTests {
    /// A rank of a run that never reaches a collective: the checks before training throw first.
    final class RankWithoutTransport: Communicator, @unchecked Sendable {
        let rank: Int, size: Int
        init(rank: Int, size: Int) { self.rank = rank; self.size = size }
        func sum(_ values: inout [Double]) { Issue.record("no collective expected") }
        func sum(_ values: inout [Float]) { Issue.record("no collective expected") }
        func maximum(_ values: inout [Int64]) { Issue.record("no collective expected") }
        func gather(_ values: [Double]) -> [[Double]] { Issue.record("no collective expected"); return [values] }
        func broadcast(_ bytes: inout [UInt8], from root: Int) { Issue.record("no collective expected") }
        func barrier() { Issue.record("no collective expected") }
    }

    @Test("prepare(shard:) preprocesses the shard's positions of each list; the other cases keep their labels and targets")
    func preparesItsShard() throws {
        let t = TemporaryFolder(prefix: "ichct-shard-data")
        defer { t.cleanup() }
        var phantom = PhantomConfig.v1
        phantom.size = 32
        phantom.slices = 4...4
        try Phantom.writeDataset(to: t.url, cases: 6, seed: 5, config: phantom)
        let dataset = try Dataset(root: t.url)

        let classifier = ClassifierTrainer(config: TrainingConfig(model: ResNetLSTMConfig(inputSize: 16, width: 4, blocks: [1, 1], hidden: 4),
                                                                  validationFraction: 0.34))
        let whole = try classifier.prepare(dataset: dataset)
        let shard = try classifier.prepare(dataset: dataset, shard: Shard(index: 1, count: 2))
        #expect(whole.training.count == 4 && whole.validation.count == 2)
        for (full, part) in [(whole.training, shard.training), (whole.validation, shard.validation)] {
            #expect(full.map(\.name) == part.map(\.name))
            for (k, (f, p)) in zip(full, part).enumerated() {
                #expect(f.holdsSlices)
                #expect(p.labels == f.labels)
                #expect(p.holdsSlices == (k % 2 == 1), "position \(k)")
                #expect(p.holdsSlices ? p.slices == f.slices : p.slices.isEmpty)
            }
        }

        let refiner = RefinerTrainer(config: RefinerTrainingConfig(model: UNetLiteConfig(inputSize: 16, widths: [4, 8]), validationFraction: 0.34))
        let masks = t.url.appendingPathComponent("label")
        let all = try refiner.prepare(dataset: dataset, masks: masks)
        let mine = try refiner.prepare(dataset: dataset, masks: masks, shard: Shard(index: 0, count: 2))
        for (f, p) in zip(all.training + all.validation, mine.training + mine.validation) {
            #expect(p.masks != nil && p.masks == f.masks && p.labels == f.labels)
        }
        #expect(mine.training.enumerated().allSatisfy { $0.element.holdsSlices == ($0.offset % 2 == 0) })
        #expect(mine.validation.enumerated().allSatisfy { $0.element.holdsSlices == ($0.offset % 2 == 0) })
    }

    @Test("training on outlines needs the ranks that hold the cases, each rank its own shard")
    func outlinesNeedTheirRanks() throws {
        let t = TemporaryFolder(prefix: "ichct-shard-check")
        defer { t.cleanup() }
        let size = 16, stride = 3 * size * size
        func held(_ name: String) -> PreparedCase {
            PreparedCase(name: name, size: size, channels: 3, slices: [Float](repeating: 0.5, count: 4 * stride), labels: [0, 1, 1, 0])
        }
        func outline(_ name: String) -> PreparedCase { PreparedCase(outlineNamed: name, size: size, channels: 3, labels: [1, 1, 0, 0]) }
        #expect(held("a").holdsSlices && !outline("b").holdsSlices)
        let trainer = ClassifierTrainer(config: TrainingConfig(model: ResNetLSTMConfig(inputSize: size, width: 4, blocks: [1, 1], hidden: 4),
                                                               epochs: 1, sequenceLength: 4, stepsPerEpoch: 1))
        func attempt(_ training: [PreparedCase], rank: Int?, _ expected: String) {
            let outputs = TrainingOutputs(model: t.file("m\(rank ?? -1).safetensors"))
            let communicator = rank.map { RankWithoutTransport(rank: $0, size: 2) }
            do {
                _ = try trainer.train(training: training, validation: [], outputs: outputs, overwrite: true, communicator: communicator)
                Issue.record("training \(training.map(\.name)) on rank \(rank.map(String.init) ?? "none") was not refused")
            } catch {
                #expect("\(error)".contains(expected), "\(error)")
            }
        }
        // one process cannot train on an outline
        attempt([held("a"), outline("b")], rank: nil, "case b is an outline")
        // rank 1 of 2 holds positions 1, 3, ...: holding position 0 (or not 1) is refused, naming the case
        attempt([held("a"), outline("b")], rank: 1, "training case a (position 0) is held on rank 1 of 2")
        attempt([outline("a"), outline("b")], rank: 1, "training case b (position 1) is an outline on rank 1 of 2")
    }
}
