import Foundation
import Testing
import WeakSupervision

extension Double {
    /// Equal, or both NaN.
    func sameOrBothNaN(_ other: Double) -> Bool { self == other || (isNaN && other.isNaN) }
}

@Suite("Stages as types: runners and typed summaries")
struct PipelineStageRunnerTests {
    @Test("every stage has its runner, which names it; only the training stages run on every rank; a runner's settings are the key table's")
    func runnersMatchStages() {
        #expect(PipelineStage.allCases.map(\.runner.stage) == PipelineStage.allCases)
        #expect(PipelineStage.allCases.filter(\.runner.runsOnEveryRank) == [.classifier, .refiner, .upperBound])
        for stage in PipelineStage.allCases {
            #expect(stage.runner.settings == PipelineConfig.settings(readBy: stage))
            #expect(!stage.runner.artefacts.isEmpty)
        }
        #expect(RefinerStage.pipeline.stage == .refiner && RefinerStage.upperBound.stage == .upperBound)
        #expect(RefinerStage(target: .trueMasks).stage == .upperBound)
    }

    @Test("each summary reads back from its record's numbers as the same value, NaN included, under the names records have used")
    func summariesRoundTrip() {
        let data = DataStage.Summary(cases: 540, train: 300, validation: 40, test: 200)
        #expect(DataStage.Summary(values: data.values) == data)
        #expect(data.values == ["cases": 540, "train": 300, "validation": 40, "test": 200])
        let classifier = ClassifierStage.Summary(epochs: 24, bestEpoch: 19, validationAUC: .nan, earlyStopped: true)
        #expect(ClassifierStage.Summary(values: classifier.values) == classifier)
        #expect(classifier.values["earlyStopped"] == 1 && classifier.values["bestEpoch"] == 19)
        let cams = CAMStage.Summary(cases: 540, validationAUC: 0.86)
        #expect(CAMStage.Summary(values: cams.values) == cams && cams != CAMStage.Summary(cases: 540, validationAUC: 0.85))
        let pseudo = PseudoMaskStage.Summary(cases: 340, voxelsPerCase: 1234.5, trainingDice: .nan)
        #expect(PseudoMaskStage.Summary(values: pseudo.values) == pseudo)
        let refiner = RefinerStage.Summary(epochs: 3, bestEpoch: 3, validationDice: 0.61, minimumComponentML: 0.5, gatedMinimumComponentML: 0.02)
        #expect(RefinerStage.Summary(values: refiner.values) == refiner)
        #expect(refiner.values["minimumComponentML.gated"] == 0.02)
        let plain = RefinerStage.Summary(epochs: 3, bestEpoch: 3, validationDice: .nan)
        #expect(plain.values.count == 3 && RefinerStage.Summary(values: plain.values) == plain)
        // rounds: recorded only above 1, read back; a missing or non-finite number reads 1
        let twoRounds = RefinerStage.Summary(epochs: 3, bestEpoch: 3, validationDice: 0.4, rounds: 2)
        #expect(twoRounds.values["rounds"] == 2 && RefinerStage.Summary(values: twoRounds.values) == twoRounds)
        #expect(plain.rounds == 1 && RefinerStage.Summary(values: ["rounds": .nan]).rounds == 1)
        let comparison = ComparisonStage.Summary(cases: 200, auc: 0.861, dice: ["pipeline": 0.568, "pipeline-gated": .nan],
                                                 falsePositiveVoxels: ["pipeline": 12.5, "pipeline-gated": 0])
        #expect(comparison.values["dice.pipeline"] == 0.568 && comparison.values["fp.pipeline-gated"] == 0)
        #expect(ComparisonStage.Summary(values: comparison.values) == comparison)
    }

    @Test("a record written before a number existed reads it as NaN, 0, false or nil")
    func missingNumbers() {
        let c = ClassifierStage.Summary(values: ["epochs": 24, "bestEpoch": 24])
        #expect(c.epochs == 24 && c.validationAUC.isNaN && !c.earlyStopped)
        let r = RefinerStage.Summary(values: ["validationDice": 0.5])
        #expect(r.epochs == 0 && r.minimumComponentML == nil && r.gatedMinimumComponentML == nil && r.validationDice == 0.5 && r.rounds == 1)
        #expect(DataStage.Summary(values: ["cases": .nan]).cases == 0)
    }
}
