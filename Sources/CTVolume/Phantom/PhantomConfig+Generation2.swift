/// A class of blood density: how often a lesion's blood has it, and its HU range.
public struct BloodDensityClass: Codable, Sendable, Hashable {
    /// Relative frequency (any non-negative weight; the classes are normalised).
    public var weight: Double
    /// HU of the class, drawn uniformly per lesion.
    public var hu: ClosedRange<Double>

    /// A class of weight `weight` and range `hu`.
    public init(weight: Double, hu: ClosedRange<Double>) {
        self.weight = weight
        self.hu = hu
    }
}

/// Blood as generation 2 draws it (``PhantomConfig/blood``). Sources of every range are in
/// Docs/phantom.md ("Generation 2").
public struct PhantomBlood: Codable, Sendable, Hashable {
    /// Hyperacute or anaemic blood (low haematocrit): 40 ... 55 HU.
    public var hyperacute = BloodDensityClass(weight: 0.15, hu: 40...55)
    /// Acute clotted blood: 55 ... 85 HU.
    public var acute = BloodDensityClass(weight: 0.65, hu: 55...85)
    /// Retracted clot: 80 ... 100 HU.
    public var retracted = BloodDensityClass(weight: 0.20, hu: 80...100)
    /// Standard deviation of the smooth texture inside a lesion (clot heterogeneity, swirl), HU.
    public var heterogeneitySD: ClosedRange<Double> = 2...7
    /// Length scale of that texture, mm.
    public var heterogeneityScaleMM: ClosedRange<Double> = 1.5...4
    /// Probability that a subdural or intraventricular lesion shows a fluid-fluid
    /// (haematocrit) level: denser cells in its dependent (posterior, supine) part.
    public var haematocritLevelProbability: Double = 0.25
    /// HU between the dependent and the upper part of a haematocrit level.
    public var haematocritContrastHU: ClosedRange<Double> = 15...35
    /// Share of subdurals that are subacute and isodense to the cortex (labelled as hemorrhage).
    public var subacuteSubduralShare: Double = 0.06
    /// HU of a subacute isodense subdural.
    public var subacuteHU: ClosedRange<Double> = 30...45
    /// Share of subdurals that are chronic and hypodense (labelled as hemorrhage).
    public var chronicSubduralShare: Double = 0.06
    /// HU of a chronic hypodense subdural.
    public var chronicHU: ClosedRange<Double> = 8...25
    /// Probability that a lesion is a tiny focus (a contusion or a thin subarachnoid trace)
    /// instead of a lesion of ``PhantomConfig/lesionVolumeML``.
    public var tinyFocusProbability: Double = 0.15
    /// Volume of a tiny focus, mL (log-uniform).
    public var tinyFocusML: ClosedRange<Double> = 0.02...0.5

    /// The defaults above (the realistic preset's).
    public init() {}

    enum CodingKeys: String, CodingKey {
        case hyperacute, acute, retracted, heterogeneitySD, heterogeneityScaleMM, haematocritLevelProbability
        case haematocritContrastHU, subacuteSubduralShare, subacuteHU, chronicSubduralShare, chronicHU
        case tinyFocusProbability, tinyFocusML
    }

    /// Decodes with every key optional (missing keys keep the defaults).
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&hyperacute, from: .hyperacute); try c.update(&acute, from: .acute); try c.update(&retracted, from: .retracted)
        try c.update(&heterogeneitySD, from: .heterogeneitySD); try c.update(&heterogeneityScaleMM, from: .heterogeneityScaleMM)
        try c.update(&haematocritLevelProbability, from: .haematocritLevelProbability)
        try c.update(&haematocritContrastHU, from: .haematocritContrastHU); try c.update(&subacuteSubduralShare, from: .subacuteSubduralShare)
        try c.update(&subacuteHU, from: .subacuteHU); try c.update(&chronicSubduralShare, from: .chronicSubduralShare); try c.update(&chronicHU, from: .chronicHU)
        try c.update(&tinyFocusProbability, from: .tinyFocusProbability); try c.update(&tinyFocusML, from: .tinyFocusML)
    }

    /// The density classes of fresh blood, in order.
    public var classes: [BloodDensityClass] { [hyperacute, acute, retracted] }
}

/// Anatomy that generation 2 adds (``PhantomConfig/anatomy``).
public struct PhantomAnatomy: Codable, Sendable, Hashable {
    /// Standard deviation of the smooth texture of grey and white matter, HU.
    public var parenchymaTextureSD: ClosedRange<Double> = 1...2.5
    /// Length scale of that texture, mm.
    public var parenchymaTextureScaleMM: ClosedRange<Double> = 3...10
    /// Relative amplitude of the inner table's fine irregularity (harmonics 6 to 16).
    public var innerTableIrregularity: ClosedRange<Double> = 0.002...0.006
    /// Probability of a head holder (a carbon-fibre cradle under the occiput, with a foam pad).
    public var headHolderProbability: Double = 0.7

    /// The defaults above (the realistic preset's).
    public init() {}

    enum CodingKeys: String, CodingKey {
        case parenchymaTextureSD, parenchymaTextureScaleMM, innerTableIrregularity, headHolderProbability
    }

    /// Decodes with every key optional (missing keys keep the defaults).
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&parenchymaTextureSD, from: .parenchymaTextureSD); try c.update(&parenchymaTextureScaleMM, from: .parenchymaTextureScaleMM)
        try c.update(&innerTableIrregularity, from: .innerTableIrregularity); try c.update(&headHolderProbability, from: .headHolderProbability)
    }
}

/// How generation 2 acquires and reconstructs a scan (``PhantomConfig/acquisition``).
public struct PhantomAcquisition: Codable, Sendable, Hashable {
    /// Reconstructed slice thicknesses, one drawn per case (repeat a value to weight it), mm.
    /// The slice spacing equals the thickness; the slice sensitivity profile is a trapezoid
    /// of full width at half maximum equal to the thickness.
    public var sliceThicknessMM: [Double] = [2.5, 3, 4, 5, 5, 5, 5, 7]
    /// Length of head covered by the stack, mm; the slice count is coverage / thickness,
    /// clamped to ``PhantomConfig/slices``.
    public var coverageMM: ClosedRange<Double> = 110...170
    /// Correlation of the noise, in pixels (the Gaussian sigma that colours white noise):
    /// small for a sharp reconstruction kernel (grainy noise), large for a soft one (blotchy).
    public var noiseCorrelationPixels: ClosedRange<Double> = 0.4...1.4
    /// Residual cupping: brightening of the brain towards the inner table, HU at the table.
    public var cuppingHU: ClosedRange<Double> = 0...8
    /// Voxel orders the files are stored in, one drawn per case (repeat a value to weight it):
    /// axis codes as ``Affine/axisCodes`` (`LAS`: i towards the patient's left, j anterior, k
    /// superior, dcm2niix's order). The slices stay axial (the third letter S or I); the first
    /// two may be swapped (`ALS`). The affine says the order, so every voxel keeps its place in
    /// the world; readers that go by the affine (``Reorientation``, ``DatasetCase``) see one head.
    public var storedOrientations: [String] = ["LAS", "LAS", "LAS", "LAS", "RAS", "LPS", "LPI", "ALS"]
    /// Share of cases scanned with the gantry tilted (default 0; the presets: 0.15 realistic,
    /// 0.3 randomized). 0 here, so that a configuration written before the tilt existed reads
    /// (and draws) as it did; the tilt keys are written only when they differ from these defaults.
    public var gantryTiltProbability: Double = 0
    /// The tilt of a tilted case, degrees, either sign with equal odds (default 10...25): the
    /// slice planes turn about the left-right axis while the table steps along the body axis,
    /// so the file's affine is sheared (its column direction has a superior component, its
    /// slice step none), as a tilted DICOM series gives. Not resampled, like a tilted series
    /// read by ``DICOMSeriesReader``.
    public var gantryTiltDegrees: ClosedRange<Double> = 10...25
    /// Share of cases in which the patient moved during the scan (default 0; the presets: 0.05
    /// realistic, 0.1 randomized). From a slice drawn uniformly after the first, a block of
    /// consecutive slices (to the end of the stack or earlier) shows the head displaced
    /// in-plane and turned: the slice-to-slice misregistration of a sequential scan
    /// (Barrett & Keat, RadioGraphics 2004). Scan, labels and masks move together. 0 here, so
    /// that a configuration written before motion existed draws as it did; the motion keys are
    /// written only when they differ from these defaults.
    public var motionProbability: Double = 0
    /// How far a moved head is displaced in-plane, mm, in a direction drawn uniformly (default 1...4).
    public var motionMM: ClosedRange<Double> = 1...4
    /// How far it turns in-plane, degrees, either sign (default 0.5...3).
    public var motionDegrees: ClosedRange<Double> = 0.5...3

    /// The defaults above (the realistic preset's, but for ``gantryTiltProbability`` and
    /// ``motionProbability``).
    public init() {}

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sliceThicknessMM, forKey: .sliceThicknessMM); try c.encode(coverageMM, forKey: .coverageMM)
        try c.encode(noiseCorrelationPixels, forKey: .noiseCorrelationPixels); try c.encode(cuppingHU, forKey: .cuppingHU)
        try c.encode(storedOrientations, forKey: .storedOrientations)
        let defaults = PhantomAcquisition()
        if gantryTiltProbability != defaults.gantryTiltProbability { try c.encode(gantryTiltProbability, forKey: .gantryTiltProbability) }
        if gantryTiltDegrees != defaults.gantryTiltDegrees { try c.encode(gantryTiltDegrees, forKey: .gantryTiltDegrees) }
        if motionProbability != defaults.motionProbability { try c.encode(motionProbability, forKey: .motionProbability) }
        if motionMM != defaults.motionMM { try c.encode(motionMM, forKey: .motionMM) }
        if motionDegrees != defaults.motionDegrees { try c.encode(motionDegrees, forKey: .motionDegrees) }
    }

    enum CodingKeys: String, CodingKey {
        case sliceThicknessMM, coverageMM, noiseCorrelationPixels, cuppingHU, storedOrientations
        case gantryTiltProbability, gantryTiltDegrees, motionProbability, motionMM, motionDegrees
    }

    /// Decodes with every key optional (missing keys keep the defaults).
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&sliceThicknessMM, from: .sliceThicknessMM); try c.update(&coverageMM, from: .coverageMM)
        try c.update(&noiseCorrelationPixels, from: .noiseCorrelationPixels); try c.update(&cuppingHU, from: .cuppingHU)
        try c.update(&storedOrientations, from: .storedOrientations)
        try c.update(&gantryTiltProbability, from: .gantryTiltProbability); try c.update(&gantryTiltDegrees, from: .gantryTiltDegrees)
        try c.update(&motionProbability, from: .motionProbability); try c.update(&motionMM, from: .motionMM)
        try c.update(&motionDegrees, from: .motionDegrees)
    }
}

extension PhantomConfig {
    /// Generation 1 exactly as it always was (``PhantomConfig/init()``): every lesion one HU
    /// in 55 ... 85, piecewise-constant anatomy, 5 mm slices.
    public static var v1: PhantomConfig { PhantomConfig() }

    /// Generation 2 with realistic ranges: blood from hyperacute to retracted with texture and
    /// haematocrit levels, textured parenchyma, partial volume at the inner table, a head
    /// holder, slices of 2.5 to 7 mm, noise of 2.5 to 6 HU at 5 mm (in generation 2
    /// ``PhantomConfig/noiseSD`` holds at 5 mm and grows as 1 / sqrt(thickness)) with varied
    /// texture, a gantry tilt in 15% of cases and patient motion in 5%. Meant for testing.
    public static var realistic: PhantomConfig {
        var c = PhantomConfig()
        c.generation = 2
        c.lesionVolumeML = 0.5...120
        c.noiseSD = 2.5...6
        c.pixelSpacingMM = 0.42...0.5
        c.slices = 16...64
        c.acquisition.gantryTiltProbability = 0.15
        c.acquisition.motionProbability = 0.05
        return c
    }

    /// Generation 2 with wider ranges than ``realistic`` (domain randomization), meant for
    /// training: blood from 35 to 105 HU, stronger textures and artefacts, slices of 1.25 to
    /// 10 mm, noise of 2 to 10 HU at 5 mm, larger tilts, more and larger motion.
    public static var randomized: PhantomConfig {
        var c = realistic
        c.blood.hyperacute = BloodDensityClass(weight: 0.25, hu: 35...55)
        c.blood.acute = BloodDensityClass(weight: 0.50, hu: 52...88)
        c.blood.retracted = BloodDensityClass(weight: 0.25, hu: 78...105)
        c.blood.heterogeneitySD = 1...10
        c.blood.haematocritLevelProbability = 0.35
        c.blood.subacuteSubduralShare = 0.08
        c.blood.chronicSubduralShare = 0.08
        c.blood.tinyFocusProbability = 0.2
        c.anatomy.parenchymaTextureSD = 0.5...4
        c.anatomy.innerTableIrregularity = 0.001...0.01
        c.acquisition.sliceThicknessMM = [1.25, 2, 2.5, 3, 4, 5, 5, 6, 7, 8, 10]
        c.acquisition.noiseCorrelationPixels = 0.3...2
        c.acquisition.cuppingHU = 0...15
        c.acquisition.storedOrientations = ["LAS", "LAS", "RAS", "LPS", "RPS", "LAI", "LPI", "ALS", "PRS", "ARI"]
        c.acquisition.gantryTiltProbability = 0.3
        c.acquisition.gantryTiltDegrees = 5...30
        c.acquisition.motionProbability = 0.1
        c.acquisition.motionMM = 1...6
        c.acquisition.motionDegrees = 0.5...5
        c.noiseSD = 2...10
        c.psfSigmaMM = 0.35...1.0
        c.pixelSpacingMM = 0.38...0.6
        c.beamHardening = 1.5
        c.maxRotationDegrees = 15
        c.maxTiltDegrees = 10
        c.maxShiftMM = 15
        c.slices = 12...96
        return c
    }

    /// The presets by name: `v1`, `realistic`, `randomized`.
    public static func preset(named name: String) -> PhantomConfig? {
        switch name {
        case "v1": return .v1
        case "realistic": return .realistic
        case "randomized": return .randomized
        default: return nil
        }
    }

    /// The preset names ``preset(named:)`` knows.
    public static let presetNames = ["v1", "realistic", "randomized"]

    /// Whether `code` is an orientation of three letters, one per anatomical axis, whose
    /// third axis is the axial one.
    static func isAxialOrientation(_ code: String) -> Bool {
        let c = Array(code)
        guard c.count == 3, let last = c.last, last == "S" || last == "I" else { return false }
        let axes = c.map { "LR".contains($0) ? 0 : "AP".contains($0) ? 1 : "SI".contains($0) ? 2 : -1 }
        return Set(axes) == [0, 1, 2]
    }

    /// Checks generation 2's parameters (called by ``validate()``).
    func validateGeneration2() throws {
        func bad(_ name: String, _ reason: String) -> CTVolumeError { .invalidParameter(name: name, reason: reason) }
        func range(_ name: String, _ r: ClosedRange<Double>, _ allowed: ClosedRange<Double>) throws {
            guard r.lowerBound.isFinite && r.upperBound.isFinite && allowed.contains(r.lowerBound) && allowed.contains(r.upperBound) else {
                throw bad(name, "\(r.lowerBound)...\(r.upperBound) must lie within \(allowed.lowerBound)...\(allowed.upperBound)")
            }
        }
        func probability(_ name: String, _ p: Double) throws {
            guard p.isFinite && p >= 0 && p <= 1 else { throw bad(name, "\(p) is outside 0...1") }
        }
        let classes = [("hyperacute", blood.hyperacute), ("acute", blood.acute), ("retracted", blood.retracted)]
        for (name, c) in classes {
            guard c.weight.isFinite && c.weight >= 0 else { throw bad("blood.\(name).weight", "\(c.weight) must be finite and non-negative") }
            try range("blood.\(name).hu", c.hu, -100...200)
        }
        guard classes.contains(where: { $0.1.weight > 0 }) else { throw bad("blood", "every density class has weight 0: no blood to draw") }
        try range("blood.heterogeneitySD", blood.heterogeneitySD, 0...50)
        try range("blood.heterogeneityScaleMM", blood.heterogeneityScaleMM, 0.5...50)
        try probability("blood.haematocritLevelProbability", blood.haematocritLevelProbability)
        try range("blood.haematocritContrastHU", blood.haematocritContrastHU, 0...100)
        try probability("blood.subacuteSubduralShare", blood.subacuteSubduralShare)
        try probability("blood.chronicSubduralShare", blood.chronicSubduralShare)
        guard blood.subacuteSubduralShare + blood.chronicSubduralShare <= 1 else {
            throw bad("blood", "subacute and chronic subdural shares add to more than 1")
        }
        try range("blood.subacuteHU", blood.subacuteHU, -100...200)
        try range("blood.chronicHU", blood.chronicHU, -100...200)
        try probability("blood.tinyFocusProbability", blood.tinyFocusProbability)
        try range("blood.tinyFocusML", blood.tinyFocusML, 0.001...5)
        guard blood.tinyFocusML.lowerBound > 0 else { throw bad("blood.tinyFocusML", "must be positive") }
        try range("anatomy.parenchymaTextureSD", anatomy.parenchymaTextureSD, 0...30)
        try range("anatomy.parenchymaTextureScaleMM", anatomy.parenchymaTextureScaleMM, 0.5...100)
        try range("anatomy.innerTableIrregularity", anatomy.innerTableIrregularity, 0...0.05)
        try probability("anatomy.headHolderProbability", anatomy.headHolderProbability)
        guard !acquisition.sliceThicknessMM.isEmpty,
              acquisition.sliceThicknessMM.allSatisfy({ $0.isFinite && $0 >= 0.5 && $0 <= 20 }) else {
            throw bad("acquisition.sliceThicknessMM", "\(acquisition.sliceThicknessMM) must be a non-empty list of thicknesses within 0.5...20 mm")
        }
        try range("acquisition.coverageMM", acquisition.coverageMM, 1...400)
        try range("acquisition.noiseCorrelationPixels", acquisition.noiseCorrelationPixels, 0...5)
        try range("acquisition.cuppingHU", acquisition.cuppingHU, -100...100)
        try probability("acquisition.gantryTiltProbability", acquisition.gantryTiltProbability)
        try range("acquisition.gantryTiltDegrees", acquisition.gantryTiltDegrees, 0...30)
        try probability("acquisition.motionProbability", acquisition.motionProbability)
        try range("acquisition.motionMM", acquisition.motionMM, 0...20)
        try range("acquisition.motionDegrees", acquisition.motionDegrees, 0...10)
        for code in acquisition.storedOrientations where !Self.isAxialOrientation(code) {
            throw bad("acquisition.storedOrientations", "\(code) is not a voxel order with axial slices (three letters, one of L/R, A/P, S/I each, the last S or I)")
        }
        guard !acquisition.storedOrientations.isEmpty else {
            throw bad("acquisition.storedOrientations", "the list is empty: give at least LAS")
        }
    }
}

extension KeyedDecodingContainer {
    /// Replaces `value` with the key's value when the key is present; a missing key keeps
    /// the default (the phantom's configurations need only name what they change).
    func update<T: Decodable>(_ value: inout T, from key: Key) throws {
        if let v = try decodeIfPresent(T.self, forKey: key) { value = v }
    }
}
