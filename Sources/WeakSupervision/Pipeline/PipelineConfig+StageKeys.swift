import Foundation

extension PipelineConfig {
    /// One setting of the configuration as it enters a stage's key: its property name and its
    /// JSON (sorted keys), or nil when a nil value leaves it out of the key.
    struct KeyedSetting {
        /// The stored property of ``PipelineConfig``.
        let property: String
        let json: (PipelineConfig, JSONEncoder) -> String?

        /// Always in the key; a nil optional is written `null`.
        static func always<T: Encodable>(_ property: String, _ path: KeyPath<PipelineConfig, T>) -> KeyedSetting {
            KeyedSetting(property: property) { c, e in (try? e.encode(c[keyPath: path])).map { String(decoding: $0, as: UTF8.self) } ?? "?" }
        }

        /// In the key only when set, so that runs made before the setting existed keep their keys.
        static func unlessNil<T: Encodable>(_ property: String, _ path: KeyPath<PipelineConfig, T?>) -> KeyedSetting {
            KeyedSetting(property: property) { c, e in
                c[keyPath: path].map { (try? e.encode($0)).map { String(decoding: $0, as: UTF8.self) } ?? "?" }
            }
        }
    }

    /// A named part of the stage keys: the settings it concatenates, and the stages that read it.
    struct KeyPart {
        let name: String
        let stages: Set<PipelineStage>
        let settings: [KeyedSetting]
    }

    /// Every stored property of the configuration, assigned to the stages that read it: the
    /// single table ``Pipeline/configKey(_:)`` derives each stage's key from. A stage's key holds
    /// the parts of the stage and of every stage it depends on, so a changed setting invalidates
    /// its stage and all that follow from it. A new property must be added here (a test compares
    /// this table with the type's stored properties), or it would change no key and a run would
    /// reuse artefacts made without it. The part names and the order within a part are those of
    /// the keys runs have recorded; a part whose settings are all left out is left out.
    static var keyParts: [KeyPart] { [
        KeyPart(name: "data", stages: [.data], settings: [.always("data", \.data)]),
        KeyPart(name: "classifier", stages: [.classifier], settings: [
            .always("classifier", \.classifier), .always("classifierPatience", \.classifierPatience),
            .unlessNil("classifierMinimumEpochs", \.classifierMinimumEpochs)]),
        KeyPart(name: "cam", stages: [.cams], settings: [.always("cam", \.cam)]),
        KeyPart(name: "pseudoMasks", stages: [.pseudoMasks], settings: [.always("pseudoMasks", \.pseudoMasks)]),
        KeyPart(name: "refiner", stages: [.refiner, .upperBound], settings: [
            .always("refiner", \.refiner), .always("upperBound", \.upperBound), .always("componentFilter", \.componentFilter),
            .unlessNil("componentCriterion", \.componentCriterion), .unlessNil("componentTolerance", \.componentTolerance)]),
        // the gated row's size choice reads the classifier's probabilities (stage cams, on which
        // the refiner depends anyway); the upper bound has no gated row
        KeyPart(name: "gate", stages: [.refiner], settings: [.unlessNil("classifierGate", \.classifierGate)]),
        KeyPart(name: "comparison", stages: [.comparison], settings: [
            .always("tolerance", \.tolerance), .always("montageCases", \.montageCases), .unlessNil("growth", \.growth),
            .unlessNil("boneRim", \.boneRim)]),
    ] }

    /// The settings (stored properties of the configuration, by name) whose change makes
    /// `stage` run again: its own and those of every stage it reads, in key order. Every stored
    /// property is read by at least one stage.
    public static func settings(readBy stage: PipelineStage) -> [String] {
        let stages = Set(stage.dependencies + [stage])
        return keyParts.filter { !$0.stages.isDisjoint(with: stages) }.flatMap { $0.settings.map(\.property) }
    }

    /// The JSON of the settings `stage` and the stages it reads depend on (``keyParts``).
    func stageKey(_ stage: PipelineStage) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var parts: [String: String] = [:]
        let stages = Set(stage.dependencies + [stage])
        for part in Self.keyParts where !part.stages.isDisjoint(with: stages) {
            let text = part.settings.compactMap { $0.json(self, encoder) }.joined()
            if !text.isEmpty { parts[part.name] = text }
        }
        return (try? encoder.encode(parts)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
    }
}
