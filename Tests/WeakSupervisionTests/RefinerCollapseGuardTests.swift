import Foundation
import Testing
import WeakSupervision

@Suite("The refiner stage's guard against a collapsed network")
struct RefinerCollapseGuardTests {
    /// A training summary with this validation score (Dice), as a trainer writes it.
    static func summary(score: Double?, stopped: Bool = false) throws -> TrainingSummary {
        if let score, score.isNaN {
            var s = try summary(score: 0, stopped: stopped)
            s.bestScore = .nan
            return s
        }
        var object: [String: Any] = ["kind": "refiner", "epochsCompleted": 3, "epochs": 3, "globalStep": 900, "scoreName": "dice",
                                     "history": [], "trainCases": ["a"], "validationCases": ["b"], "modelPath": "m", "resumePath": "r",
                                     "stopped": stopped, "bestEpoch": 3]
        if let score { object["bestScore"] = score }
        return try JSONDecoder().decode(TrainingSummary.self, from: JSONSerialization.data(withJSONObject: object))
    }

    @Test("a collapsed network is trained again with restart seeds until one outlines something or the restarts run out")
    func restartsOnCollapse() throws {
        // restart seeds lie far from the neighbouring seeds replicates use
        let (r1, r2) = (RefinerStage.restartSeed(10, restart: 1), RefinerStage.restartSeed(10, restart: 2))
        #expect(r1 == 10 &+ 0x9E37_79B9_7F4A_7C15 && r2 == 10 &+ 2 &* 0x9E37_79B9_7F4A_7C15)
        for seed: UInt64 in 0..<64 {
            for restart in 1...3 { #expect(!(0..<1000).contains(RefinerStage.restartSeed(seed, restart: restart))) }
        }
        // scores by seed: 10 and its first restart collapse (0 and exactly the limit), the second outlines
        let scores: [UInt64: Double] = [10: 0, r1: RefinerStage.collapsedDice, r2: 0.3]
        var seeds: [UInt64] = [], notes: [String] = []
        let (kept, restarts) = try RefinerStage.trainGuarded(seed: 10, restarts: 2, note: { notes.append($0) }) { seed in
            seeds.append(seed)
            return try Self.summary(score: scores[seed]!)
        }
        #expect(seeds == [10, r1, r2] && restarts == 2 && kept.bestScore == 0.3)
        #expect(notes.count == 2 && notes[0].contains("seed \(r1)") && notes[1].contains("seed \(r2)"))
        // at most `restarts` more: the last collapsed training is what is kept
        seeds = []
        let (last, used) = try RefinerStage.trainGuarded(seed: 10, restarts: 1) { seed in seeds.append(seed); return try Self.summary(score: scores[seed]!) }
        #expect(seeds == [10, r1] && used == 1 && last.bestScore == RefinerStage.collapsedDice)
        // none allowed (the default of a configuration): one training, whatever it scores
        seeds = []
        _ = try RefinerStage.trainGuarded(seed: 10, restarts: 0) { seed in seeds.append(seed); return try Self.summary(score: 0) }
        #expect(seeds == [10])
    }

    @Test("a healthy, stopped, unvalidated or undefined score is never restarted; a training error is passed on")
    func noRestart() throws {
        for (score, stopped) in [(0.02, false), (0.0, true), (nil, false), (Double.nan, false)] as [(Double?, Bool)] {
            var calls = 0
            let (_, restarts) = try RefinerStage.trainGuarded(seed: 1, restarts: 2) { _ in calls += 1; return try Self.summary(score: score, stopped: stopped) }
            #expect(calls == 1 && restarts == 0, "score \(String(describing: score)), stopped \(stopped)")
        }
        struct Failed: Error {}
        #expect(throws: Failed.self) { try RefinerStage.trainGuarded(seed: 1, restarts: 2) { _ in throw Failed() } }
    }

    @Test("the stage summary records restarts only when there were any, and reads them back")
    func summaryRecordsRestarts() {
        let plain = RefinerStage.Summary(epochs: 3, bestEpoch: 3, validationDice: 0.2)
        #expect(plain.values["restarts"] == nil && RefinerStage.Summary(values: plain.values) == plain)
        let restarted = RefinerStage.Summary(epochs: 3, bestEpoch: 3, validationDice: 0.2, restarts: 1)
        #expect(restarted.values["restarts"] == 1 && RefinerStage.Summary(values: restarted.values) == restarted && restarted != plain)
    }
}
