import Foundation

extension PipelineConfig {
    /// One setting of the configuration as it enters a stage's key: its path (`group.property`,
    /// or the group's name when the whole group is one setting) and its JSON (sorted keys), or
    /// nil when the setting's value leaves it out of the key.
    struct KeyedSetting {
        let property: String
        /// Other settings (paths) this one's JSON holds: re-keying the same stages, but only
        /// while this setting is in the key (its JSON not nil).
        var alsoReads: [String] = []
        /// Whether a configuration's stages read this setting at all (nil: always); a setting
        /// that acts only through another's value (`refiner.laterRounds` without a later round)
        /// is then listed by ``PipelineConfig/settings(readBy:in:)`` only when it acts.
        var readIf: ((PipelineConfig) -> Bool)? = nil
        let json: (PipelineConfig, JSONEncoder) -> String?

        static func text<T: Encodable>(_ value: T, _ encoder: JSONEncoder) -> String {
            (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
        }

        /// Always in the key; a nil optional is written `null`.
        static func always<T: Encodable>(_ property: String, _ value: @escaping (PipelineConfig) -> T) -> KeyedSetting {
            KeyedSetting(property: property) { c, e in text(value(c), e) }
        }

        /// In the key only when not nil: a setting whose absence is the rule of runs made before
        /// it existed, so that their keys stay as they were recorded.
        static func unlessNil<T: Encodable>(_ property: String, _ value: @escaping (PipelineConfig) -> T?) -> KeyedSetting {
            KeyedSetting(property: property) { c, e in value(c).map { text($0, e) } }
        }

        /// In the key only when it differs from `rule`, the value that runs made before the
        /// setting existed behaved by (written nil then, and left out of their keys).
        static func unless<T: Encodable & Equatable>(_ property: String, equalTo rule: T, _ value: @escaping (PipelineConfig) -> T?) -> KeyedSetting {
            KeyedSetting(property: property) { c, e in value(c).flatMap { $0 == rule ? nil : text($0, e) } }
        }
    }

    /// A named part of the stage keys: the settings it concatenates, and the stages that read it.
    struct KeyPart {
        let name: String
        let stages: Set<PipelineStage>
        let settings: [KeyedSetting]
    }

    /// Every setting of the configuration, assigned to the stages that read it: the single
    /// table ``Pipeline/configKey(_:)`` derives each stage's key from. A stage's key holds the
    /// parts of the stage and of every stage it depends on, so a changed setting invalidates its
    /// stage and all that follow from it. A new setting must be added here (a test compares this
    /// table with the stored properties of the configuration's groups), or it would change no
    /// key and a run would reuse artefacts made without it. The part names, their order and the
    /// rules for leaving a setting out are those of the keys runs have recorded since schema
    /// version 1, whatever the saved layout; a part whose settings are all left out is left out.
    static var keyParts: [KeyPart] { [
        KeyPart(name: "data", stages: [.data], settings: [.always("data") { $0.data }]),
        KeyPart(name: "classifier", stages: [.classifier], settings: [
            .always("classifier.training") { $0.classifier.training }, .always("classifier.patience") { $0.classifier.patience },
            .unless("classifier.minimumEpochs", equalTo: 0) { $0.classifier.minimumEpochs },
            // the slice calls re-key the gated rows' choice and the comparison; the refiner's
            // targets stay the CAM classifier's, but a stage's key holds every stage before it
            .unlessNil("classifier.sliceCalls") { $0.classifier.sliceCalls }]),
        KeyPart(name: "cam", stages: [.cams], settings: [.always("cam") { $0.cam }]),
        KeyPart(name: "pseudoMasks", stages: [.pseudoMasks], settings: [.always("pseudoMasks") { $0.pseudoMasks }]),
        KeyPart(name: "refiner", stages: [.refiner, .upperBound], settings: [
            .always("refiner.training") { $0.refiner.training }, .always("refiner.upperBound") { $0.refiner.upperBound },
            .always("refiner.componentSizes.candidates") { $0.refiner.componentSizes?.candidates },
            .unless("refiner.componentSizes.criterion", equalTo: .slices) { $0.refiner.componentSizes?.criterion },
            .unlessNil("refiner.componentSizes.tolerance") { $0.refiner.componentSizes?.tolerance },
            // labelled: a bare number after the optional tolerance could read as another tolerance
            .unlessNil("refiner.componentSizes.supportThreshold") { $0.refiner.componentSizes?.supportThreshold.map { "supportThreshold=\($0)" } }]),
        // the gated row's size choice reads the classifier's probabilities (stage cams, on which
        // the refiner depends anyway); the upper bound has no gated row
        KeyPart(name: "gate", stages: [.refiner], settings: [.unlessNil("refiner.classifierGate") { $0.refiner.classifierGate }]),
        // a restart changes the networks only when one collapsed; keys of runs without it stay
        KeyPart(name: "restarts", stages: [.refiner, .upperBound], settings: [
            .unless("refiner.restartsOnCollapse", equalTo: 0) { $0.refiner.restartsOnCollapse }]),
        // an ensemble trains more networks in both refiner stages; one network, the rule before
        // the setting existed, leaves the part out
        KeyPart(name: "members", stages: [.refiner, .upperBound], settings: [
            .unless("refiner.members", equalTo: 1) { $0.refiner.members }]),
        // self-training: rounds after the first train on the previous round's pipeline row, so
        // the refiner then also reads the refiner rows' post-processing (RefinerPostProcessing,
        // the one value refinerRow reads it from); one round, the rule before it existed,
        // leaves the part out
        KeyPart(name: "rounds", stages: [.refiner], settings: [
            KeyedSetting(property: "refiner.rounds", alsoReads: RefinerPostProcessing.settingPaths) { c, e in
                c.refiner.rounds == 1 ? nil : KeyedSetting.text(RoundsKey(rounds: c.refiner.rounds, postProcessing: c.comparison.postProcessing), e)
            },
            KeyedSetting(property: "refiner.laterRounds", readIf: { $0.refiner.rounds > 1 }, json: { c, e in
                c.refiner.laterRounds.map { KeyedSetting.text($0, e) }
            })]),
        KeyPart(name: "comparison", stages: [.comparison], settings: [
            .always("comparison.tolerance") { $0.comparison.tolerance }, .always("comparison.montageCases") { $0.comparison.montageCases },
            .unlessNil("comparison.growth") { $0.comparison.growth }, .unlessNil("comparison.boneRim") { $0.comparison.boneRim },
            .unlessNil("comparison.contrast") { $0.comparison.contrast },
            .unlessNil("comparison.thinSlices") { $0.comparison.thinSlices },
            .unlessNil("comparison.headSpans") { $0.comparison.headSpans }]),
    ] }

    /// The self-training part of the refiner's key: the rounds, and beside them in one JSON
    /// object every field of the post-processing that makes each later round's targets (so a
    /// step added to ``RefinerPostProcessing`` enters the key by itself).
    private struct RoundsKey: Encodable {
        var rounds: Int
        var postProcessing: RefinerPostProcessing

        private enum CodingKeys: String, CodingKey { case rounds }

        func encode(to encoder: any Encoder) throws {
            try postProcessing.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(rounds, forKey: .rounds)
        }
    }

    /// The settings (by path: `data`, `cam` and `pseudoMasks` as whole groups, the others'
    /// properties as `group.property`, e.g. `refiner.classifierGate`) whose change makes `stage`
    /// run again: its own and those of every stage it reads, in key order.
    ///
    /// Without a configuration, each setting is listed under the stages that own it; every
    /// setting is owned by at least one stage. With `config`, the list is exact for that
    /// configuration: with ``PipelineConfig/RefinerSettings/rounds`` above 1 the refiner also
    /// reads the refiner rows' post-processing (`comparison.growth`, `comparison.boneRim`,
    /// `comparison.contrast`: they make the later rounds' targets), listed after
    /// `refiner.rounds`, through which they enter its key; and `refiner.laterRounds` is read
    /// only then.
    public static func settings(readBy stage: PipelineStage, in config: PipelineConfig? = nil) -> [String] {
        let stages = Set(stage.dependencies + [stage])
        let encoder = JSONEncoder()
        var paths: [String] = []
        for part in keyParts where !part.stages.isDisjoint(with: stages) {
            for setting in part.settings {
                if let config, let readIf = setting.readIf, !readIf(config) { continue }
                // a setting another one's JSON already holds is listed once, where it first acts
                if !paths.contains(setting.property) { paths.append(setting.property) }
                if let config, setting.json(config, encoder) != nil {
                    paths += setting.alsoReads.filter { !paths.contains($0) }
                }
            }
        }
        return paths
    }

    /// The JSON of the settings `stage` and the stages it reads depend on (``keyParts``).
    func stageKey(_ stage: PipelineStage) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var parts: [String: String] = [:]
        let stages = Set(stage.dependencies + [stage])
        for part in Self.keyParts where !part.stages.isDisjoint(with: stages) {
            // a setting this configuration does not read (readIf false) leaves the key alone
            let text = part.settings.filter { $0.readIf?(self) ?? true }.compactMap { $0.json(self, encoder) }.joined()
            if !text.isEmpty { parts[part.name] = text }
        }
        return (try? encoder.encode(parts)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
    }
}

/// What the comparison applies to every refiner row after its gate and component filter, in
/// this order: growth into the blood range, the bone-rim filter, the contrast filter
/// (``Pipeline/refinerRow``). It is the one value the row reads them from, and with
/// ``PipelineConfig/RefinerSettings/rounds`` above 1 it makes the later rounds' targets and is
/// written whole into the refiner stage's key, so that a step added here re-keys that stage
/// without a second list to keep in step.
struct RefinerPostProcessing: Encodable {
    var growth: IntensityGrowth.Settings?
    var boneRim: BoneRimFiltered.Settings?
    var contrast: ContrastFiltered.Settings?

    /// Every step named, none defaulted: a step added as a property must be given here, so
    /// that ``PipelineConfig/ComparisonSettings/postProcessing`` cannot leave it out unnoticed.
    init(growth: IntensityGrowth.Settings?, boneRim: BoneRimFiltered.Settings?, contrast: ContrastFiltered.Settings?) {
        self.growth = growth
        self.boneRim = boneRim
        self.contrast = contrast
    }

    /// The configuration paths of its fields (`comparison.growth`, ...): the properties of
    /// ``PipelineConfig/ComparisonSettings`` of the same names.
    static var settingPaths: [String] {
        Mirror(reflecting: PipelineConfig.ComparisonSettings().postProcessing).children.map { "comparison.\($0.label!)" }
    }
}

extension PipelineConfig.ComparisonSettings {
    /// The refiner rows' post-processing (``RefinerPostProcessing``).
    var postProcessing: RefinerPostProcessing {
        RefinerPostProcessing(growth: growth, boneRim: boneRim, contrast: contrast)
    }
}
