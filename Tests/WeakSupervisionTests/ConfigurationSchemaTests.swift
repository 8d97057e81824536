import Foundation
import Testing
import WeakSupervision
import TestSupport

@Suite("The saved configuration's schema and its migration")
struct ConfigurationSchemaTests {
    /// The saved form of a configuration as a JSON object.
    static func object(_ config: PipelineConfig) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(config)) as? [String: Any])
    }

    static func decode(_ object: [String: Any]) throws -> PipelineConfig {
        try JSONDecoder().decode(PipelineConfig.self, from: try JSONSerialization.data(withJSONObject: object))
    }

    /// The full preset in the layout of schema 1, as runs up to 2026-12-05 saved it: the
    /// training configurations as `classifier` and `refiner`, every other setting flat.
    static func versionOne(_ c: PipelineConfig) throws -> [String: Any] {
        var o = try object(c)
        let classifier = try #require(o["classifier"] as? [String: Any]), refiner = try #require(o["refiner"] as? [String: Any])
        let comparison = try #require(o["comparison"] as? [String: Any])
        o["schemaVersion"] = nil
        o["comparison"] = nil
        o["classifier"] = classifier["training"]
        o["classifierPatience"] = classifier["patience"]
        o["classifierMinimumEpochs"] = classifier["minimumEpochs"]
        o["refiner"] = refiner["training"]
        o["upperBound"] = refiner["upperBound"]
        o["classifierGate"] = refiner["classifierGate"]
        if let sizes = refiner["componentSizes"] as? [String: Any] {
            o["componentFilter"] = sizes["candidates"]
            o["componentCriterion"] = sizes["criterion"]
            o["componentTolerance"] = sizes["tolerance"]
        }
        for key in ["growth", "boneRim", "tolerance", "montageCases"] { o[key] = comparison[key] }
        return o
    }

    @Test("the saved form is schema 2, one group per stage, and reads back equal")
    func writesVersionTwo() throws {
        for preset in [PipelineConfig.full, .quick, PipelineConfig()] {
            let o = try Self.object(preset)
            #expect(o["schemaVersion"] as? Int == PipelineConfig.schemaVersion && PipelineConfig.schemaVersion == 2)
            #expect(Set(o.keys) == ["schemaVersion", "data", "classifier", "cam", "pseudoMasks", "refiner", "comparison"])
            #expect(try Self.decode(o) == preset)
        }
    }

    @Test("pseudoMasks.positiveSlices: absent unless set (old keys stay), read back, and a new key for the pseudo-masks and refiner only")
    func positiveSlicesSetting() throws {
        let folder = TemporaryFolder(prefix: "ichct-positive-slices")
        defer { folder.cleanup() }
        var config = PipelineConfig.full
        let before = try Self.object(config)
        #expect((before["pseudoMasks"] as? [String: Any])?["positiveSlices"] == nil)
        let old = try Pipeline(config: config, output: folder.url)
        config.pseudoMasks.positiveSlices = .labels
        var o = try Self.object(config)
        #expect((o["pseudoMasks"] as? [String: Any])?["positiveSlices"] as? String == "labels")
        #expect(try Self.decode(o) == config)
        let new = try Pipeline(config: config, output: folder.url, overwrite: true)
        for stage in PipelineStage.allCases {
            let reads = stage.dependencies.contains(.pseudoMasks) || stage == .pseudoMasks
            #expect((old.configKey(stage) != new.configKey(stage)) == reads, "\(stage)")
        }
        var group = try #require(o["pseudoMasks"] as? [String: Any])
        group["positiveSlices"] = "oracle"
        o["pseudoMasks"] = group
        #expect(throws: DecodingError.self) { try Self.decode(o) }
    }

    @Test("a schema-1 configuration migrates to the same settings, and keeps every stage key")
    func migratesVersionOne() throws {
        var full = PipelineConfig.full
        full.classifier.patience = 4
        full.classifier.minimumEpochs = 6
        full.refiner.restartsOnCollapse = 0   // schema 1 had no restarts: its runs never restarted
        full.refiner.componentSizes?.supportThreshold = nil   // nor a support
        full.comparison.contrast = nil   // nor a contrast filter
        full.comparison.boneRim?.distance = .inPlane   // nor a slab distance
        full.classifier.sliceCalls = nil   // nor a slice-call classifier
        full.comparison.thinSlices = nil   // nor a rule for thin slices
        full.comparison.headSpans = nil   // nor one for head spans
        let old = try Self.versionOne(full)
        #expect(old["componentFilter"] != nil && old["classifierGate"] as? Double == 0.5 && old["schemaVersion"] == nil)
        let migrated = try Self.decode(old)
        #expect(migrated == full)
        let folder = TemporaryFolder(prefix: "ichct-schema")
        defer { folder.cleanup() }
        let a = try Pipeline(config: full, output: folder.url), b = try Pipeline(config: migrated, output: folder.url)
        for stage in PipelineStage.allCases { #expect(a.configKey(stage) == b.configKey(stage)) }
    }

    @Test("a schema-1 configuration from before the later fields takes the rules of its time, and keys without them")
    func migratesOlderRules() throws {
        var old = try Self.versionOne(.full)
        for key in ["componentCriterion", "componentTolerance", "classifierGate", "growth", "boneRim", "classifierMinimumEpochs"] {
            old[key] = nil
        }
        var training = try #require(old["classifier"] as? [String: Any])
        #expect(training["selection"] as? String == "best")
        training["selection"] = nil
        old["classifier"] = training
        let migrated = try Self.decode(old)
        #expect(migrated.classifier.training.selection == nil)   // TrainingConfig's own rule: nil keeps the best
        let sizes = try #require(migrated.refiner.componentSizes)
        #expect(sizes.criterion == .slices && sizes.tolerance == nil && sizes.candidates == ComponentSizeSelection.defaultCandidates)
        #expect(migrated.refiner.classifierGate == nil && migrated.comparison.growth == nil && migrated.comparison.boneRim == nil)
        #expect(migrated.classifier.minimumEpochs == 0)
        try migrated.validate()
        // the rule written out leaves the keys as such a run recorded them: no criterion, no
        // tolerance, no gate, no minimum epochs in them
        let folder = TemporaryFolder(prefix: "ichct-schema")
        defer { folder.cleanup() }
        let pipeline = try Pipeline(config: migrated, output: folder.url)
        let parts = try #require(try JSONSerialization.jsonObject(with: Data(pipeline.configKey(.refiner).utf8)) as? [String: String])
        #expect(parts["gate"] == nil && parts["refiner"]?.hasSuffix("true[0,0.01,0.02,0.05,0.1,0.2,0.5,1]") == true)
        let classifierParts = try #require(try JSONSerialization.jsonObject(with: Data(pipeline.configKey(.classifier).utf8)) as? [String: String])
        #expect(classifierParts["classifier"]?.hasSuffix("}null") == true)   // patience written null, minimum epochs left out
        // an empty candidate list meant no filter: it migrates to none
        old["componentFilter"] = [Double]()
        #expect(try Self.decode(old).refiner.componentSizes == nil)
        old["componentFilter"] = nil
        #expect(try Self.decode(old).refiner.componentSizes == nil)
    }

    @Test("a configuration of a later schema, or of schema 2 with a group missing, is refused by name")
    func refusesUnknownVersions() throws {
        var o = try Self.object(.full)
        o["schemaVersion"] = 3
        do {
            _ = try Self.decode(o)
            Issue.record("schema 3 decoded")
        } catch let error as DecodingError {
            #expect("\(error)".contains("schema version 3"))
        }
        o["schemaVersion"] = 2
        o["comparison"] = nil
        do {
            _ = try Self.decode(o)
            Issue.record("a missing group decoded")
        } catch let error as DecodingError {
            #expect("\(error)".contains("comparison"))
        }
    }

    @Test("the configuration's checks name the setting by its path")
    func checksNameTheirPath() throws {
        var c = PipelineConfig.full
        c.refiner.componentSizes?.candidates = [0, -1]
        #expect(throws: WeakSupervisionError.invalidParameter(name: "refiner.componentSizes.candidates", reason: "-1.0 is not a volume in mL (finite, ≥ 0)")) { try c.validate() }
        c = .full
        c.classifier.minimumEpochs = -1
        #expect(throws: (any Error).self) { try c.validate() }
        c = .full
        c.comparison.montageCases = -1
        #expect(throws: (any Error).self) { try c.validate() }
        c = .full
        c.refiner.classifierGate = 1
        #expect(throws: (any Error).self) { try c.validate() }
        for bad: Float in [0, -0.5, 0.5, 1.01, .nan] {
            c = .full
            c.refiner.componentSizes?.supportThreshold = bad
            #expect(throws: WeakSupervisionError.self) { try c.validate() }
            do { try c.validate() } catch { #expect("\(error)".contains("refiner.componentSizes.supportThreshold")) }
        }
        c = .full
        c.refiner.restartsOnCollapse = -1
        #expect(throws: WeakSupervisionError.invalidParameter(name: "refiner.restartsOnCollapse", reason: "-1 must be at least 0")) { try c.validate() }
        // 0 is not written, so older runs' files read the same; any other count reads back
        c.refiner.restartsOnCollapse = 0
        #expect(!String(decoding: try JSONEncoder().encode(c), as: UTF8.self).contains("restartsOnCollapse"))
        #expect(try JSONDecoder().decode(PipelineConfig.self, from: try JSONEncoder().encode(PipelineConfig.full)).refiner.restartsOnCollapse == 2)
        c = .full
        c.refiner.componentSizes?.supportThreshold = 1
        try c.validate()
        // set, it is saved and read back; unset, the saved file has no such key (older runs read the same)
        let saved = String(decoding: try JSONEncoder().encode(c), as: UTF8.self)
        var withoutSupport = PipelineConfig.full
        withoutSupport.refiner.componentSizes?.supportThreshold = nil
        let unset = String(decoding: try JSONEncoder().encode(withoutSupport), as: UTF8.self)
        #expect(saved.contains("supportThreshold") && !unset.contains("supportThreshold"))
        #expect(try JSONDecoder().decode(PipelineConfig.self, from: Data(saved.utf8)) == c)
    }
}
