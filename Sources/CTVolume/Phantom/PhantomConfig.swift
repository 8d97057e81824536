/// The five hemorrhage subtypes of the INSTANCE 2022 challenge.
public enum HemorrhageSubtype: String, Codable, CaseIterable, Sendable, Hashable {
    /// Intraparenchymal: irregular blob inside the brain, with a low-density oedema rim.
    case intraparenchymal
    /// Subdural: thin crescent along the inner table, spanning many slices.
    case subdural
    /// Epidural: thick biconvex lens against the skull, of limited extent.
    case epidural
    /// Intraventricular: blood layering in the dependent (posterior) part of the ventricles.
    case intraventricular
    /// Subarachnoid: thin blood in the sulci and basal cisterns.
    case subarachnoid
}

/// Relative frequencies of the hemorrhage subtypes (any non-negative weights; they are normalised).
///
/// The default follows the rough mix of a hemorrhage CT cohort: intraparenchymal and
/// subdural most common, epidural rarest.
public struct SubtypeMix: Codable, Sendable, Hashable {
    /// Weight of intraparenchymal hemorrhage.
    public var intraparenchymal: Double
    /// Weight of subdural hemorrhage.
    public var subdural: Double
    /// Weight of epidural hemorrhage.
    public var epidural: Double
    /// Weight of intraventricular hemorrhage.
    public var intraventricular: Double
    /// Weight of subarachnoid hemorrhage.
    public var subarachnoid: Double

    /// - Parameters: weights per subtype; defaults 0.30, 0.25, 0.10, 0.15, 0.20.
    public init(intraparenchymal: Double = 0.30, subdural: Double = 0.25, epidural: Double = 0.10,
                intraventricular: Double = 0.15, subarachnoid: Double = 0.20) {
        self.intraparenchymal = intraparenchymal
        self.subdural = subdural
        self.epidural = epidural
        self.intraventricular = intraventricular
        self.subarachnoid = subarachnoid
    }

    /// Only `subtype` (weight 1, the others 0).
    public static func only(_ subtype: HemorrhageSubtype) -> SubtypeMix {
        var mix = SubtypeMix(intraparenchymal: 0, subdural: 0, epidural: 0, intraventricular: 0, subarachnoid: 0)
        mix[subtype] = 1
        return mix
    }

    /// The weight of one subtype.
    public subscript(subtype: HemorrhageSubtype) -> Double {
        get {
            switch subtype {
            case .intraparenchymal: return intraparenchymal
            case .subdural: return subdural
            case .epidural: return epidural
            case .intraventricular: return intraventricular
            case .subarachnoid: return subarachnoid
            }
        }
        set {
            switch subtype {
            case .intraparenchymal: intraparenchymal = newValue
            case .subdural: subdural = newValue
            case .epidural: epidural = newValue
            case .intraventricular: intraventricular = newValue
            case .subarachnoid: subarachnoid = newValue
            }
        }
    }

    /// Sum of the weights.
    public var total: Double { HemorrhageSubtype.allCases.reduce(0) { $0 + self[$1] } }
}

/// Every parameter of the synthetic head-CT phantom, with defaults that mimic INSTANCE 2022.
///
/// Ranges are sampled uniformly per case (log-uniformly for lesion volumes). In-plane spacing
/// is given for a 512 matrix and scaled by `512 / size`, so a 128 or 256 phantom covers the
/// same field of view. `validate()` refuses impossible values with a message.
///
///     var config = PhantomConfig.default
///     config.size = 256
///     config.positiveFraction = 1
///     let c = try Phantom.generate(caseIndex: 0, seed: 7, config: config)
public struct PhantomConfig: Codable, Sendable, Hashable {
    /// In-plane matrix (x = y = size). Default 512; 16 ... 2048 accepted.
    public var size: Int = 512
    /// Number of axial slices per case, sampled per case. Default 20 ... 40 (INSTANCE-like).
    /// The whole head needs about 30 slices of 5 mm; a shorter stack is centred on the brain
    /// and misses the vertex and the skull base, as short clinical stacks do.
    public var slices: ClosedRange<Int> = 20...40
    /// Slice thickness and spacing in mm. Default 5.
    public var sliceThicknessMM: Double = 5
    /// In-plane pixel spacing in mm at a 512 matrix (scaled by 512 / size). Default 0.40 ... 0.49.
    public var pixelSpacingMM: ClosedRange<Double> = 0.40...0.49
    /// Fraction of cases with at least one hemorrhage. Default 0.6.
    public var positiveFraction: Double = 0.6
    /// Number of lesions in a positive case. Default 1 ... 3.
    public var lesionsPerPositiveCase: ClosedRange<Int> = 1...3
    /// Target volume of one lesion in mL (log-uniform). Default 0.5 ... 90. Thin subtypes
    /// (subarachnoid, intraventricular) may come out smaller than asked; the measured volume
    /// is reported in ``LesionSummary``.
    public var lesionVolumeML: ClosedRange<Double> = 0.5...90
    /// Subtype frequencies.
    public var subtypes: SubtypeMix = SubtypeMix()
    /// Standard deviation of the image noise in HU, sampled per case. Default 3 ... 10. In
    /// generation 2 it holds at 5 mm slices and grows as 1 / sqrt(thickness).
    public var noiseSD: ClosedRange<Double> = 3...10
    /// Standard deviation of the Gaussian point-spread function in mm. Default 0.45 ... 0.75.
    public var psfSigmaMM: ClosedRange<Double> = 0.45...0.75
    /// Scale of the beam-hardening artefacts near the skull base (streaks, dark bands, and the
    /// brightening of brain next to bone). 0 disables them. Default 1.
    public var beamHardening: Double = 1
    /// Largest in-plane shift of the head from the centre of the field, mm. Default 10.
    public var maxShiftMM: Double = 10
    /// Largest in-plane rotation of the head, degrees. Default 10.
    public var maxRotationDegrees: Double = 10
    /// Largest tilt of the head out of the axial plane (roll and pitch, each), degrees. Default 6.
    public var maxTiltDegrees: Double = 6
    /// Sub-slices averaged into each slice (partial volume across the slice thickness). Default 5 (1 mm at 5 mm slices).
    public var subSlices: Int = 5
    /// The phantom's generation: 1 (default, frozen: the same seed gives the same bytes as
    /// ever) or 2, which adds ``blood``, ``anatomy`` and ``acquisition`` (see ``realistic``
    /// and ``randomized``). Generation 2 ignores ``sliceThicknessMM`` and ``subSlices``:
    /// ``PhantomAcquisition/sliceThicknessMM`` and the slice profile take their place.
    public var generation: Int = 1
    /// Generation 2: how blood looks (ignored by generation 1).
    public var blood = PhantomBlood()
    /// Generation 2: texture and extra anatomy (ignored by generation 1).
    public var anatomy = PhantomAnatomy()
    /// Generation 2: slices, noise texture and cupping (ignored by generation 1).
    public var acquisition = PhantomAcquisition()

    /// The defaults above (generation 1; ``v1``).
    public init() {}

    enum CodingKeys: String, CodingKey {
        case size, slices, sliceThicknessMM, pixelSpacingMM, positiveFraction, lesionsPerPositiveCase, lesionVolumeML
        case subtypes, noiseSD, psfSigmaMM, beamHardening, maxShiftMM, maxRotationDegrees, maxTiltDegrees, subSlices
        case generation, blood, anatomy, acquisition
    }

    /// Encodes every parameter; a generation 1 configuration writes exactly the keys it always
    /// wrote (no generation, blood, anatomy or acquisition), so that the files and keys of
    /// runs made before generation 2 stay the same.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(size, forKey: .size); try c.encode(slices, forKey: .slices)
        try c.encode(sliceThicknessMM, forKey: .sliceThicknessMM); try c.encode(pixelSpacingMM, forKey: .pixelSpacingMM)
        try c.encode(positiveFraction, forKey: .positiveFraction); try c.encode(lesionsPerPositiveCase, forKey: .lesionsPerPositiveCase)
        try c.encode(lesionVolumeML, forKey: .lesionVolumeML); try c.encode(subtypes, forKey: .subtypes)
        try c.encode(noiseSD, forKey: .noiseSD); try c.encode(psfSigmaMM, forKey: .psfSigmaMM)
        try c.encode(beamHardening, forKey: .beamHardening); try c.encode(maxShiftMM, forKey: .maxShiftMM)
        try c.encode(maxRotationDegrees, forKey: .maxRotationDegrees); try c.encode(maxTiltDegrees, forKey: .maxTiltDegrees)
        try c.encode(subSlices, forKey: .subSlices)
        guard generation != 1 else { return }
        try c.encode(generation, forKey: .generation); try c.encode(blood, forKey: .blood)
        try c.encode(anatomy, forKey: .anatomy); try c.encode(acquisition, forKey: .acquisition)
    }

    /// Decodes a configuration in which any key may be missing: missing keys keep their
    /// defaults, so a JSON file need only name what it changes (`{"size": 256}`).
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&size, from: .size); try c.update(&slices, from: .slices); try c.update(&sliceThicknessMM, from: .sliceThicknessMM)
        try c.update(&pixelSpacingMM, from: .pixelSpacingMM); try c.update(&positiveFraction, from: .positiveFraction)
        try c.update(&lesionsPerPositiveCase, from: .lesionsPerPositiveCase); try c.update(&lesionVolumeML, from: .lesionVolumeML)
        try c.update(&subtypes, from: .subtypes); try c.update(&noiseSD, from: .noiseSD); try c.update(&psfSigmaMM, from: .psfSigmaMM)
        try c.update(&beamHardening, from: .beamHardening); try c.update(&maxShiftMM, from: .maxShiftMM)
        try c.update(&maxRotationDegrees, from: .maxRotationDegrees); try c.update(&maxTiltDegrees, from: .maxTiltDegrees)
        try c.update(&subSlices, from: .subSlices); try c.update(&generation, from: .generation); try c.update(&blood, from: .blood)
        try c.update(&anatomy, from: .anatomy); try c.update(&acquisition, from: .acquisition)
    }

    /// The INSTANCE-like default: 512 x 512 x 20..40, 60% positive.
    public static let `default` = PhantomConfig()

    /// A quick variant for tests and smoke runs: 128 x 128 (1.6 to 2 mm pixels), 24 ... 32 slices.
    public static var quick: PhantomConfig {
        var c = PhantomConfig()
        c.size = 128
        c.slices = 24...32
        return c
    }

    /// In-plane spacing range actually used at this `size`.
    public var effectivePixelSpacingMM: ClosedRange<Double> {
        let f = 512 / Double(size)
        return (pixelSpacingMM.lowerBound * f)...(pixelSpacingMM.upperBound * f)
    }

    /// Throws ``CTVolumeError/invalidParameter(name:reason:)`` for a value the generator cannot honour.
    public func validate() throws {
        func bad(_ name: String, _ reason: String) -> CTVolumeError { .invalidParameter(name: name, reason: reason) }
        guard size >= 16 && size <= 2048 else { throw bad("size", "\(size) is not an in-plane matrix the phantom can draw (16 to 2048)") }
        guard slices.lowerBound >= 1 && slices.upperBound <= 512 else {
            throw bad("slices", "\(slices.lowerBound)...\(slices.upperBound) must lie within 1...512")
        }
        guard sliceThicknessMM.isFinite && sliceThicknessMM >= 0.5 && sliceThicknessMM <= 20 else {
            throw bad("sliceThicknessMM", "\(sliceThicknessMM) mm is outside 0.5...20")
        }
        guard pixelSpacingMM.lowerBound.isFinite && pixelSpacingMM.upperBound.isFinite
            && pixelSpacingMM.lowerBound >= 0.2 && pixelSpacingMM.upperBound <= 1.0 else {
            throw bad("pixelSpacingMM", "\(pixelSpacingMM) mm (at 512) is outside 0.2...1.0: the head would not fit or would be a dot")
        }
        guard positiveFraction.isFinite && positiveFraction >= 0 && positiveFraction <= 1 else {
            throw bad("positiveFraction", "\(positiveFraction) is outside 0...1")
        }
        guard lesionsPerPositiveCase.lowerBound >= 1 && lesionsPerPositiveCase.upperBound <= 20 else {
            throw bad("lesionsPerPositiveCase", "\(lesionsPerPositiveCase.lowerBound)...\(lesionsPerPositiveCase.upperBound) must lie within 1...20 (a positive case has at least one lesion)")
        }
        guard lesionVolumeML.lowerBound.isFinite && lesionVolumeML.upperBound.isFinite
            && lesionVolumeML.lowerBound > 0 && lesionVolumeML.upperBound <= 300 else {
            throw bad("lesionVolumeML", "\(lesionVolumeML) mL must be positive and at most 300")
        }
        for s in HemorrhageSubtype.allCases where !(subtypes[s].isFinite && subtypes[s] >= 0) {
            throw bad("subtypes.\(s.rawValue)", "weight \(subtypes[s]) must be finite and non-negative")
        }
        guard subtypes.total > 0 else { throw bad("subtypes", "all weights are zero: no subtype to draw") }
        guard noiseSD.lowerBound.isFinite && noiseSD.upperBound.isFinite && noiseSD.lowerBound >= 0 && noiseSD.upperBound <= 200 else {
            throw bad("noiseSD", "\(noiseSD) HU must lie within 0...200")
        }
        guard psfSigmaMM.lowerBound.isFinite && psfSigmaMM.upperBound.isFinite && psfSigmaMM.lowerBound >= 0 && psfSigmaMM.upperBound <= 5 else {
            throw bad("psfSigmaMM", "\(psfSigmaMM) mm must lie within 0...5")
        }
        guard beamHardening.isFinite && beamHardening >= 0 && beamHardening <= 10 else {
            throw bad("beamHardening", "\(beamHardening) must lie within 0...10")
        }
        guard maxShiftMM.isFinite && maxShiftMM >= 0 && maxShiftMM <= 40 else {
            throw bad("maxShiftMM", "\(maxShiftMM) mm must lie within 0...40 (the head must stay in the field)")
        }
        guard maxRotationDegrees.isFinite && maxRotationDegrees >= 0 && maxRotationDegrees <= 45 else {
            throw bad("maxRotationDegrees", "\(maxRotationDegrees) must lie within 0...45")
        }
        guard maxTiltDegrees.isFinite && maxTiltDegrees >= 0 && maxTiltDegrees <= 20 else {
            throw bad("maxTiltDegrees", "\(maxTiltDegrees) must lie within 0...20")
        }
        guard subSlices >= 1 && subSlices <= 20 else { throw bad("subSlices", "\(subSlices) must lie within 1...20") }
        guard generation == 1 || generation == 2 else { throw bad("generation", "\(generation) is not a phantom generation (1 or 2)") }
        if generation == 2 { try validateGeneration2() }
        // generation 1 neither draws nor saves these: a value set here would be lost silently
        if generation == 1 && (blood != PhantomBlood() || anatomy != PhantomAnatomy() || acquisition != PhantomAcquisition()) {
            throw bad("generation", "1 ignores blood, anatomy and acquisition, which are set here; use generation 2 (or a generation 2 preset) for them")
        }
    }
}
