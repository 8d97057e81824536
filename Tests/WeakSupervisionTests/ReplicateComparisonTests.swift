import CTVolume
import Foundation
import Metrics
import Testing
import WeakSupervision

/// Three positive cases (a 2 x 2 bleed of 4 voxels each) and two negative ones, 8 x 8 x 2 at
/// 1 x 1 x 2 mm (a voxel is 0.002 mL); tables of one row "m" whose masks are built per case.
private struct Arms {
    let geometry = Geometry(spacing: SIMD3(1, 1, 2))
    let shape = GridShape(8, 8, 2)
    let positives = ["a", "b", "c"], negatives = ["n1", "n2"]
    var cases: [ComparisonCase] = []
    var truth: [String: MaskVolume] = [:]

    init() {
        for name in positives + negatives {
            var t = MaskVolume(shape: shape, repeating: 0, geometry: geometry)
            if positives.contains(name) { for (i, j) in [(3, 3), (4, 3), (3, 4), (4, 4)] { t.voxels[shape.index(i, j, 1)] = 1 } }
            truth[name] = t
            cases.append(ComparisonCase(input: SegmentationCase(name: name, scan: ScanVolume(shape: shape, repeating: 30, geometry: geometry),
                                                                intracranial: MaskVolume(shape: shape, repeating: 1, geometry: geometry)),
                                        truth: t))
        }
    }

    /// `hits[name]` of the 4 bleed voxels found (Dice 2k / (4 + k)), `extra[name]` false voxels on a negative case.
    func table(_ hits: [String: Int], extra: [String: Int] = [:], cases: [ComparisonCase]? = nil) throws -> ComparisonTable {
        var masks: [String: MaskVolume] = [:]
        for name in positives + negatives {
            var m = MaskVolume(shape: shape, repeating: 0, geometry: geometry)
            let bleed = [(3, 3), (4, 3), (3, 4), (4, 4)].map { shape.index($0.0, $0.1, 1) }
            for v in bleed.prefix(hits[name] ?? 0) { m.voxels[v] = 1 }
            for v in 0..<(extra[name] ?? 0) { m.voxels[v] = 1 }   // slice 0, away from the bleed
            masks[name] = m
        }
        return try MethodComparison.run(methods: [Stored(name: "m", masks: masks)], cases: cases ?? self.cases, tolerance: 1)
    }
}

private func dice(_ k: Int) -> Double { 2 * Double(k) / Double(4 + k) }

@Suite struct ReplicateComparisonTests {
    @Test("each case averaged over an arm's replicates, then paired: the difference, its interval, mL per negative case and clean cases")
    func averagesThenPairs() throws {
        let f = Arms()
        // base: one replicate finds everything, the other nothing (per case 0.5); 3 false voxels on n1 in one
        let base = [try f.table(["a": 4, "b": 4, "c": 4], extra: ["n1": 3]), try f.table([:])]
        // arm: both replicates find everything (per case 1): every case's difference is +0.5
        let arm = [try f.table(["a": 4, "b": 4, "c": 4]), try f.table(["a": 4, "b": 4, "c": 4])]
        let settings = BootstrapSettings(resamples: 500, seed: 3)
        let c = try ReplicateComparison(base: base, arm: arm, bootstrap: settings)
        #expect(c.caseNames == ["a", "b", "c", "n1", "n2"] && c.positiveCases == 3 && c.negativeCases == 2)
        #expect(c.replicates == (2, 2))
        let row = try #require(c["m"])
        #expect(row.base.dicePerReplicate == [1, 0] && row.base.dice == 0.5 && row.arm.dice == 1)
        #expect(row.dice.difference.estimate == 0.5 && row.dice.difference.lower == 0.5 && row.dice.difference.upper == 0.5)
        #expect(row.dice.difference.count == 3 && row.dice.difference.resamples == 500)
        // n1: 3 voxels of 0.002 mL in one of two replicates, 0.003 mL on average; n2 empty
        #expect(abs(row.base.millilitresPerNegativeCase - 0.0015) < 1e-12 && row.arm.millilitresPerNegativeCase == 0)
        #expect(row.base.cleanNegativeCases == 1 && row.arm.cleanNegativeCases == 2)
        let ml = try #require(row.millilitres)
        #expect(abs(ml.difference.estimate + 0.0015) < 1e-12 && ml.difference.count == 2)
        #expect(row.isNonInferior(diceMargin: 0.02, millilitreMargin: 1))
        // the arm's two tables score every case alike: one training counted twice, flagged by name
        #expect(c.identicalReplicates == [["arm table 1", "arm table 2"]])
        #expect(c.text().contains("warning: arm table 1 and arm table 2 score every case of every row identically"))
        let named = try ReplicateComparison(base: base, arm: arm, bootstrap: settings, sources: ["b1.json", "b2.json", "r2.json", "r3.json"])
        #expect(named.identicalReplicates == [["r2.json", "r3.json"]])
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        #expect(try decoder.decode(ReplicateComparison.self, from: try named.jsonData()).identicalReplicates == [["r2.json", "r3.json"]])

        // Arms swapped: the same difference with its sign turned, and the guard fails on Dice.
        let swapped = try #require(try ReplicateComparison(base: arm, arm: base, bootstrap: settings)["m"])
        #expect(swapped.dice.difference.estimate == -0.5 && !swapped.isNonInferior(diceMargin: 0.02, millilitreMargin: 1))
        // The guard's false-blood margin: +0.0015 mL against a margin of 0.001 fails, of 0.01 passes.
        let same = try #require(try ReplicateComparison(base: [arm[0]], arm: [base[0]], bootstrap: settings)["m"])
        #expect(same.dice.difference.estimate == 0 && same.millilitres?.difference.estimate == 0.003)
        #expect(!same.isNonInferior(diceMargin: 0.02, millilitreMargin: 0.001) && same.isNonInferior(diceMargin: 0.02, millilitreMargin: 0.01))
    }

    @Test("unequal per-case differences: the estimate is their mean, computed by hand; the interval holds it")
    func handComputedDifference() throws {
        let f = Arms()
        let base = [try f.table(["a": 4, "b": 2, "c": 0]), try f.table(["a": 4, "b": 0, "c": 0]), try f.table(["a": 2, "b": 2, "c": 0])]
        let arm = [try f.table(["a": 4, "b": 4, "c": 2]), try f.table(["a": 2, "b": 4, "c": 4])]
        let row = try #require(try ReplicateComparison(base: base, arm: arm, bootstrap: BootstrapSettings(resamples: 2000, seed: 1))["m"])
        let baseCase = [(dice(4) * 2 + dice(2)) / 3, (dice(2) * 2 + dice(0)) / 3, 0]
        let armCase = [(dice(4) + dice(2)) / 2, dice(4), (dice(2) + dice(4)) / 2]
        let want = zip(armCase, baseCase).map { $0 - $1 }.reduce(0, +) / 3
        #expect(abs(row.dice.difference.estimate - want) < 1e-12)
        #expect(abs(row.base.dice - baseCase.reduce(0, +) / 3) < 1e-12 && abs(row.arm.dice - armCase.reduce(0, +) / 3) < 1e-12)
        #expect(row.dice.difference.lower < want && want < row.dice.difference.upper)
        // the per-replicate means are the tables' own
        #expect(row.arm.dicePerReplicate == arm.map { $0["m"]!.meanDice })
        // the text names both arms' replicate counts and the difference
        let comparison = try ReplicateComparison(base: base, arm: arm, bootstrap: BootstrapSettings(resamples: 2000, seed: 1))
        let text = comparison.text()
        #expect(text.contains("base Dice (3)") && text.contains("arm Dice (2)") && text.contains(String(format: "%+.3f", want)))
        // JSON reads back to the same numbers
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let back = try decoder.decode(ReplicateComparison.self, from: try comparison.jsonData())
        #expect(back["m"]?.dice == row.dice && back["m"]?.base == row.base && back.caseNames == comparison.caseNames)
        // distinct replicates raise no warning
        #expect(comparison.identicalReplicates == nil && back.identicalReplicates == nil && !text.contains("warning"))
    }

    @Test("tables on other cases, a missing row, an empty arm and other references are refused, naming the table")
    func refusals() throws {
        let f = Arms()
        let t = try f.table(["a": 4])
        #expect(throws: WeakSupervisionError.emptyInput(what: "the other arm's comparison tables")) { try ReplicateComparison(base: [t], arm: []) }
        #expect(throws: WeakSupervisionError.emptyInput(what: "the base arm's comparison tables")) { try ReplicateComparison(base: [], arm: [t]) }
        let fewer = try f.table(["a": 4], cases: Array(f.cases.prefix(4)))
        do {
            _ = try ReplicateComparison(base: [t], arm: [t, fewer])
            Issue.record("tables on other cases were accepted")
        } catch WeakSupervisionError.invalidParameter(let name, let reason) {
            #expect(name == "arm table 2" && reason.contains("missing n2"))
        }
        do {
            _ = try ReplicateComparison(base: [t], arm: [t], methods: ["m", "other"])
            Issue.record("a missing row was accepted")
        } catch WeakSupervisionError.invalidParameter(let name, let reason) {
            #expect(name == "base table 1" && reason.contains("'other'"))
        }
        // with sources, errors name them
        do {
            _ = try ReplicateComparison(base: [t], arm: [t, fewer], sources: ["b.json", "a1.json", "a2.json"])
            Issue.record("tables on other cases were accepted")
        } catch WeakSupervisionError.invalidParameter(let name, let reason) {
            #expect(name == "a2.json" && reason.contains("b.json"))
        }
        #expect(throws: WeakSupervisionError.self) { try ReplicateComparison(base: [t], arm: [t], sources: ["only one"]) }
        // same names, but case b is negative in the second table's reference
        var cases = f.cases
        cases[1].truth = MaskVolume(shape: f.shape, repeating: 0, geometry: f.geometry)
        let relabelled = try f.table(["a": 4], cases: cases)
        do {
            _ = try ReplicateComparison(base: [t], arm: [relabelled])
            Issue.record("another reference was accepted")
        } catch WeakSupervisionError.invalidParameter(let name, _) {
            #expect(name == "arm table 1")
        }
    }
}
