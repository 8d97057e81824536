import Foundation

/// The saved form of a configuration (`OUT/config.json`, `ichctl demo --config FILE`), with its
/// schema version.
///
/// - Version 2 (written today): `{"schemaVersion": 2, "data", "classifier", "cam",
///   "pseudoMasks", "refiner", "comparison"}`, one group per stage (``PipelineConfig``).
/// - Version 1 (no `schemaVersion`; runs made up to 2026-12-05): the same `data`, `cam` and
///   `pseudoMasks`, `classifier` and `refiner` holding the training configurations alone, and the
///   rest flat beside them: `classifierPatience`, `classifierMinimumEpochs`, `upperBound`,
///   `componentFilter`, `componentCriterion`, `componentTolerance`, `classifierGate`, `growth`,
///   `boneRim`, `tolerance`, `montageCases`. Fields added after the first runs were optional,
///   nil meaning "the rule of the runs before it". The migration writes those rules out:
///   no `classifierMinimumEpochs` → 0, no `componentCriterion` → `.slices`, no or an empty
///   `componentFilter` → no component filter (``PipelineConfig/RefinerSettings/componentSizes``
///   nil). Every other field keeps its value and meaning.
///
/// A migrated configuration gives every stage the key its run recorded (the stage keys are
/// written from the settings' values, not from the saved layout; tested on the saved
/// configurations of two full-demo runs), so a version-1 run is reused as it stands. Two
/// hand-made version-1 files are the exceptions (no preset wrote either): an empty
/// `componentFilter` list, and `componentCriterion` written out as `"slices"`; both mean what
/// their migrated values mean, but their refiner stages get new keys and run again.
extension PipelineConfig {
    private enum CodingKeys: String, CodingKey {
        case schemaVersion, data, classifier, cam, pseudoMasks, refiner, comparison
    }

    /// Reads version 2, or version 1 and migrates it (see the extension's documentation).
    /// - Throws: `DecodingError` for a malformed file or a schema version newer than
    ///   ``schemaVersion`` (written by a later ichct).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let version = try c.decodeIfPresent(Int.self, forKey: .schemaVersion) ?? 1
        switch version {
        case 1:
            self = try VersionOne(from: decoder).migrated()
        case Self.schemaVersion:
            self.init(data: try c.decode(DataSettings.self, forKey: .data),
                      classifier: try c.decode(ClassifierSettings.self, forKey: .classifier),
                      cam: try c.decode(CAMSettings.self, forKey: .cam),
                      pseudoMasks: try c.decode(PseudoMaskSettings.self, forKey: .pseudoMasks),
                      refiner: try c.decode(RefinerSettings.self, forKey: .refiner),
                      comparison: try c.decode(ComparisonSettings.self, forKey: .comparison))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .schemaVersion, in: c,
                debugDescription: "schema version \(version): this ichct reads versions 1 to \(Self.schemaVersion) (a configuration written by a later ichct?)")
        }
    }

    /// Writes the current version, ``schemaVersion``.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.schemaVersion, forKey: .schemaVersion)
        try c.encode(data, forKey: .data)
        try c.encode(classifier, forKey: .classifier)
        try c.encode(cam, forKey: .cam)
        try c.encode(pseudoMasks, forKey: .pseudoMasks)
        try c.encode(refiner, forKey: .refiner)
        try c.encode(comparison, forKey: .comparison)
    }

    /// The layout of schema version 1, read only to be migrated.
    private struct VersionOne: Decodable {
        var data: DataSettings
        var classifier: TrainingConfig
        var classifierPatience: Int?
        var classifierMinimumEpochs: Int?
        var cam: CAMSettings
        var pseudoMasks: PseudoMaskSettings
        var refiner: RefinerTrainingConfig
        var upperBound: Bool
        var componentFilter: [Double]?
        var componentCriterion: ComponentSizeSelection.Criterion?
        var componentTolerance: Double?
        var classifierGate: Float?
        var growth: IntensityGrowth.Settings?
        var boneRim: BoneRimFiltered.Settings?
        var tolerance: Double
        var montageCases: Int

        func migrated() -> PipelineConfig {
            let sizes = componentFilter.flatMap { $0.isEmpty ? nil : $0 }.map {
                ComponentSizeSettings(candidates: $0, criterion: componentCriterion ?? .slices, tolerance: componentTolerance)
            }
            return PipelineConfig(
                data: data,
                classifier: ClassifierSettings(training: classifier, patience: classifierPatience, minimumEpochs: classifierMinimumEpochs ?? 0),
                cam: cam, pseudoMasks: pseudoMasks,
                refiner: RefinerSettings(training: refiner, upperBound: upperBound, componentSizes: sizes, classifierGate: classifierGate),
                comparison: ComparisonSettings(growth: growth, boneRim: boneRim, tolerance: tolerance, montageCases: montageCases))
        }
    }
}
