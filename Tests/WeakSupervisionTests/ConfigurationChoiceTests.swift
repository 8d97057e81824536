import CTVolume
import Foundation
import Testing
import WeakSupervision
import TestSupport

@Suite("Typed configuration choices")
struct ConfigurationChoiceTests {
    @Test("thresholds and features parse from their text forms and write them back")
    func textForms() throws {
        let thresholds: [(String, ThresholdChoice, String)] = [("otsu", .otsu, "otsu"), (" OTSU ", .otsu, "otsu"), ("p90", .percentile(90), "p90"),
                                                               ("p99.5", .percentile(99.5), "p99.5"), ("0.3", .fixed(0.3), "0.3"), ("0.30", .fixed(0.3), "0.3")]
        for (text, choice, canonical) in thresholds {
            #expect(try ThresholdChoice(parsing: text) == choice, "\(text)")
            #expect(choice.description == canonical)
        }
        let features: [(String, FeatureChoice, String)] = [("hu", .hu, "hu"), ("smoothed:1", .smoothedHU(sigmaMM: 1), "smoothed:1"),
                                                           ("smoothed:1.5", .smoothedHU(sigmaMM: 1.5), "smoothed:1.5"),
                                                           ("depth:1", .depthCorrectedHU(sigmaMM: 1), "depth:1"), ("DEPTH:0", .depthCorrectedHU(sigmaMM: 0), "depth:0")]
        for (text, choice, canonical) in features {
            #expect(try FeatureChoice(parsing: text) == choice, "\(text)")
            #expect(choice.description == canonical)
        }
        #expect(try ThresholdChoice.percentile(90).threshold() is PercentileThreshold)
        #expect(try ThresholdChoice.otsu.threshold() is OtsuThreshold)
        if case .smoothedHU(let s) = FeatureChoice.smoothedHU(sigmaMM: 2).feature { #expect(s == 2) } else { Issue.record("not smoothed") }
        if case .depthCorrectedHU(let s) = FeatureChoice.depthCorrectedHU(sigmaMM: 1).feature { #expect(s == 1) } else { Issue.record("not depth-corrected") }
    }

    @Test("text that names no threshold, feature, optimizer or schedule is refused when parsed or decoded, naming it")
    func refusals() throws {
        for bad in ["p101", "pp", "nan", "inf", "", "0.3x"] {
            #expect(throws: WeakSupervisionError.self, "\(bad)") { try ThresholdChoice(parsing: bad) }
        }
        for bad in ["smoothed:0", "smoothed:-1", "smoothed:", "hounsfield", "depth:-1", "depth:", "depth:inf"] {
            #expect(throws: WeakSupervisionError.self, "\(bad)") { try FeatureChoice(parsing: bad) }
        }
        var json = String(decoding: try JSONEncoder().encode(PipelineConfig.full), as: UTF8.self)
        json = json.replacingOccurrences(of: "\"threshold\":\"0.3\"", with: "\"threshold\":\"bogus\"")
        do {
            _ = try JSONDecoder().decode(PipelineConfig.self, from: Data(json.utf8))
            Issue.record("a bogus threshold decoded")
        } catch let error as DecodingError {
            #expect("\(error)".contains("bogus"))
        }
        let optimizer = String(decoding: try JSONEncoder().encode(OptimizerSettings()), as: UTF8.self)
            .replacingOccurrences(of: "\"adam\"", with: "\"adamx\"")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(OptimizerSettings.self, from: Data(optimizer.utf8)) }
    }

    /// Every setting of a configuration by path, found by reflection: `data`, `cam` and
    /// `pseudoMasks` whole, every other group's stored properties as `group.property`, and the
    /// component-size settings' own (`refiner.componentSizes.candidates`, ...).
    static func settingPaths() -> [String] {
        var paths: [String] = []
        for group in Mirror(reflecting: PipelineConfig.full).children {
            let name = group.label!
            if ["data", "cam", "pseudoMasks"].contains(name) { paths.append(name); continue }
            for property in Mirror(reflecting: group.value).children {
                let path = "\(name).\(property.label!)"
                if path == "refiner.componentSizes" {
                    paths += Mirror(reflecting: PipelineConfig.ComponentSizeSettings()).children.map { "\(path).\($0.label!)" }
                } else {
                    paths.append(path)
                }
            }
        }
        return paths
    }

    @Test("every stored setting of the configuration belongs to a stage key, once; changing it re-keys exactly the stages that read it")
    func everySettingIsKeyed() throws {
        let properties = Self.settingPaths()
        #expect(properties.count == 25 && properties.contains("comparison.thinSlices") && properties.contains("comparison.headSpans") && properties.contains("classifier.sliceCalls") && properties.contains("refiner.members") && properties.contains("refiner.rounds") && properties.contains("refiner.laterRounds") && properties.contains("refiner.componentSizes.criterion") && properties.contains("comparison.boneRim")
                && properties.contains("comparison.contrast"))
        let keyed = PipelineConfig.settings(readBy: .comparison)   // the comparison reads every stage
        #expect(Set(keyed) == Set(properties) && keyed.count == properties.count)
        #expect(PipelineConfig.settings(readBy: .data) == ["data"])
        #expect(!PipelineConfig.settings(readBy: .upperBound).contains("refiner.classifierGate"))
        #expect(PipelineConfig.settings(readBy: .refiner).contains("refiner.classifierGate"))
        // a change of one setting changes the keys of the stages that read it, and no other:
        // for the full preset, and for it with two rounds (where the refiner also reads the
        // post-processing and laterRounds)
        let folder = TemporaryFolder(prefix: "ichct-stage-keys")
        defer { folder.cleanup() }
        var twoRounds = PipelineConfig.full
        twoRounds.refiner.rounds = 2
        #expect(PipelineConfig.settings(readBy: .refiner, in: .full) == PipelineConfig.settings(readBy: .refiner).filter { $0 != "refiner.laterRounds" })
        let dependent = ["comparison.growth", "comparison.boneRim", "comparison.contrast", "refiner.laterRounds"]
        #expect(Set(dependent).isSubset(of: PipelineConfig.settings(readBy: .refiner, in: twoRounds)))
        #expect(Set(dependent).isDisjoint(with: PipelineConfig.settings(readBy: .upperBound, in: twoRounds)))
        for stage in PipelineStage.allCases {   // each setting once, whichever part first reads it
            let list = PipelineConfig.settings(readBy: stage, in: twoRounds)
            #expect(Set(list).count == list.count, "\(stage)")
            #expect(stage.runner.settings(in: twoRounds) == list)
        }
        for base in [PipelineConfig.full, twoRounds] {
            var changes: [(String, PipelineConfig)] = []
            func changed(_ name: String, _ edit: (inout PipelineConfig) -> Void) { var c = base; edit(&c); changes.append((name, c)) }
            changed("data") { $0.data.phantomSeed += 1 }
            changed("classifier.training") { $0.classifier.training.epochs += 1 }
            changed("classifier.patience") { $0.classifier.patience = 3 }
            changed("classifier.minimumEpochs") { $0.classifier.minimumEpochs = 2 }
            changed("classifier.sliceCalls") { $0.classifier.sliceCalls = $0.classifier.sliceCalls == nil ? .init() : nil }
            changed("cam") { $0.cam.layer = "layer2" }
            changed("pseudoMasks") { $0.pseudoMasks.k = 5 }
            changed("refiner.training") { $0.refiner.training.epochs += 1 }
            changed("refiner.upperBound") { $0.refiner.upperBound = false }
            changed("refiner.componentSizes.candidates") { $0.refiner.componentSizes?.candidates = [0, 1] }
            changed("refiner.componentSizes.criterion") { $0.refiner.componentSizes?.criterion = .cases }
            changed("refiner.componentSizes.tolerance") { $0.refiner.componentSizes?.tolerance = 0.02 }
            changed("refiner.componentSizes.supportThreshold") { $0.refiner.componentSizes?.supportThreshold = 0.9 }
            changed("refiner.classifierGate") { $0.refiner.classifierGate = 0.6 }
            changed("refiner.restartsOnCollapse") { $0.refiner.restartsOnCollapse = 3 }
            changed("refiner.rounds") { $0.refiner.rounds += 1 }
            changed("refiner.laterRounds") { $0.refiner.laterRounds = .init() }
            changed("refiner.members") { $0.refiner.members = 2 }
            changed("comparison.growth") { $0.comparison.growth = nil }
            changed("comparison.boneRim") { $0.comparison.boneRim = .init(rimMM: 3) }
            changed("comparison.contrast") { $0.comparison.contrast = .init(minimumContrastHU: 10) }
            changed("comparison.thinSlices") { $0.comparison.thinSlices = $0.comparison.thinSlices == nil ? try? SlabRule(thinnerThanMM: 1, slabMM: 4) : nil }
            changed("comparison.headSpans") { $0.comparison.headSpans = $0.comparison.headSpans == nil ? try? HeadSpanRule(least: 0.5, most: 0.9) : nil }
            changed("comparison.tolerance") { $0.comparison.tolerance = 3 }
            changed("comparison.montageCases") { $0.comparison.montageCases = 1 }
            #expect(Set(changes.map(\.0)) == Set(properties))
            let before = try Pipeline(config: base, output: folder.url, overwrite: true)
            for (name, config) in changes {
                let after = try Pipeline(config: config, output: folder.url, overwrite: true)
                for stage in PipelineStage.allCases {
                    let reads = PipelineConfig.settings(readBy: stage, in: base).contains(name)
                    #expect((before.configKey(stage) != after.configKey(stage)) == reads, "\(name) and stage \(stage.rawValue), \(base.refiner.rounds) round(s)")
                }
            }
        }
        // two settings of one part written the same way must not give one key
        var toleranceOnly = PipelineConfig.full, supportOnly = PipelineConfig.full
        toleranceOnly.refiner.componentSizes?.tolerance = 0.9
        supportOnly.refiner.componentSizes?.tolerance = nil
        supportOnly.refiner.componentSizes?.supportThreshold = 0.9
        let keyFolder = TemporaryFolder(prefix: "ichct-stage-keys-parts")
        defer { keyFolder.cleanup() }
        #expect(try Pipeline(config: toleranceOnly, output: keyFolder.url).configKey(.refiner)
                    != Pipeline(config: supportOnly, output: keyFolder.url, overwrite: true).configKey(.refiner))
    }

    @Test("a finished two-round run's config.json (schema 2) gives every stage the key it recorded, the refiner's with the post-processing")
    func savedRoundsRunKeepsItsKeys() throws {
        let url = try #require(Bundle.module.url(forResource: "rounds-demo-2026-12-07", withExtension: "json", subdirectory: "Fixtures/config"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let config = try JSONDecoder().decode(PipelineConfig.self, from: try JSONSerialization.data(withJSONObject: try #require(object["config"])))
        #expect(config.refiner.rounds == 2 && config.refiner.laterRounds == nil)
        let keys = try #require(object["configKeys"] as? [String: String])
        #expect(keys.count == 6 && keys["comparison"] == nil)
        let folder = TemporaryFolder(prefix: "ichct-rounds-config-keys")
        defer { folder.cleanup() }
        let pipeline = try Pipeline(config: config, output: folder.url)
        for (stage, key) in keys {
            #expect(pipeline.configKey(try #require(PipelineStage(rawValue: stage))) == key, "\(stage)")
        }
        #expect(try #require(keys["refiner"]).contains("\\\"rounds\\\":2") && keys["refiner"]!.contains("minimumContrastHU"))
    }

    @Test("a finished full-demo run's config.json (schema 1) decodes to the current types and gives every stage the key it recorded",
          arguments: ["full-demo-2026-12-04", "randomized-demo-2026-12-05"])
    func savedRunKeepsItsKeys(fixture: String) throws {
        let url = try #require(Bundle.module.url(forResource: fixture, withExtension: "json", subdirectory: "Fixtures/config"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let configObject = try #require(object["config"] as? [String: Any])
        #expect(configObject["schemaVersion"] == nil && configObject["componentFilter"] != nil)
        let config = try JSONDecoder().decode(PipelineConfig.self, from: try JSONSerialization.data(withJSONObject: configObject))
        #expect(config.pseudoMasks.threshold == .fixed(0.3) && config.pseudoMasks.features == [.smoothedHU(sigmaMM: 1)])
        #expect(config.classifier.training.optimizer.kind == .adam && config.classifier.training.optimizer.schedule == .cosine)
        let keys = try #require(object["configKeys"] as? [String: String])
        #expect(keys.count == PipelineStage.allCases.count)
        let folder = TemporaryFolder(prefix: "ichct-config-keys")
        defer { folder.cleanup() }
        let pipeline = try Pipeline(config: config, output: folder.url)
        for stage in PipelineStage.allCases {
            #expect(pipeline.configKey(stage) == keys[stage.rawValue], "\(stage.rawValue)")
        }
        // written again, it is schema 2 and reads back equal, with the same keys
        let again = try JSONDecoder().decode(PipelineConfig.self, from: try JSONEncoder().encode(config))
        #expect(again == config)
        let reread = try Pipeline(config: again, output: folder.url)
        for stage in PipelineStage.allCases { #expect(reread.configKey(stage) == keys[stage.rawValue]) }
    }
}
