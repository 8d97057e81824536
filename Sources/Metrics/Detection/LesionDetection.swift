import ImageCore

/// Lesion-level detection in one case, as the ICH detection literature reports it: each
/// connected 3-D component of the truth is a lesion, found when the prediction covers at least
/// a stated share of its voxels; each predicted component that touches no true voxel is a
/// false-positive component.
///
///     let d = LesionDetection(prediction: p, truth: t)                 // 10 %, 26-connected
///     print(d.detectedLesions, "of", d.truthLesions, "found;", d.falsePositiveComponents, "false components")
///
/// Where the lesions are known one by one (a phantom's drawn lesions, an instance
/// segmentation), ``init(prediction:lesionLabels:spacing:settings:)`` takes each non-zero label
/// as one lesion instead, however many components it falls into.
///
/// Empty masks: no true lesion gives ``sensitivity`` NaN (nothing to find); an empty
/// prediction finds nothing and has no false-positive component.
public struct LesionDetection: Hashable, Sendable, Codable {
    /// What a true lesion is.
    public enum LesionSource: String, Hashable, Sendable, Codable, CaseIterable {
        /// A connected 3-D component of the truth (``Settings/connectivity``).
        case components
        /// The voxels of one non-zero value of an instance map.
        case labels
    }

    /// Which neighbours join voxels into one component (`scipy.ndimage.generate_binary_structure(3, k)`).
    public enum Connectivity: Int, Hashable, Sendable, Codable, CaseIterable {
        /// Faces (k = 1).
        case six = 6
        /// Faces and edges (k = 2).
        case eighteen = 18
        /// Faces, edges and corners (k = 3).
        case twentySix = 26
    }

    /// The detection rule.
    public struct Settings: Hashable, Sendable, Codable {
        /// A true lesion counts as found when the prediction covers at least this share of its
        /// voxels, and at least one voxel (so 0 means "any overlap"). Default 0.1.
        public var minimumCoverage: Double
        /// Component connectivity for lesions and predicted components alike (default 26).
        public var connectivity: Connectivity

        /// Settings; see the properties for the defaults.
        public init(minimumCoverage: Double = 0.1, connectivity: Connectivity = .twentySix) {
            self.minimumCoverage = minimumCoverage
            self.connectivity = connectivity
        }

        /// - Throws: ``MetricsError/invalidParameter(name:reason:)`` for a share outside 0...1.
        public func validate() throws {
            guard minimumCoverage >= 0 && minimumCoverage <= 1 else {
                throw MetricsError.invalidParameter(name: "minimumCoverage", reason: "\(minimumCoverage) is not a share in 0...1")
            }
        }
    }

    /// Number of true lesions (3-D components of the truth, or the labels of a lesion map).
    public var truthLesions: Int { lesionVolumesML.count }
    /// Volume of each true lesion in mL: components in label order (first voxel in storage
    /// order first); a lesion map's labels in increasing value.
    public var lesionVolumesML: [Double]
    /// Whether each true lesion was found, in the same order.
    public var lesionFound: [Bool]
    /// Number of 3-D components of the prediction.
    public var predictedComponents: Int
    /// Predicted components that touch no true voxel.
    public var falsePositiveComponents: Int
    /// The rule used.
    public var settings: Settings
    /// What the true lesions were (``LesionSource/components`` in records written before it existed).
    public var lesionSource: LesionSource

    /// True lesions found.
    public var detectedLesions: Int { lesionFound.filter { $0 }.count }
    /// `detectedLesions / truthLesions`; NaN without true lesions.
    public var sensitivity: Double { truthLesions == 0 ? .nan : Double(detectedLesions) / Double(truthLesions) }

    /// Detection of `prediction`'s components against `truth`'s.
    /// - Precondition: both masks have the same shape; `settings` are valid.
    public init(prediction: BinaryMask, truth: BinaryMask, settings: Settings = Settings()) {
        precondition(prediction.shape == truth.shape, "LesionDetection: prediction \(prediction.shape) against truth \(truth.shape)")
        precondition(settings.minimumCoverage >= 0 && settings.minimumCoverage <= 1, "LesionDetection: coverage \(settings.minimumCoverage)")
        self.settings = settings
        lesionSource = .components
        // Both masks are background outside the bounding box of both, and cropping keeps the
        // storage order, so components and their numbering are those of the whole grid.
        let pair = MaskPair(prediction: prediction, truth: truth)
        let s = pair.shape, t = pair.truth, p = pair.prediction
        let offsets = Self.backwardOffsets(settings.connectivity)
        let lesions = ComponentLabelling.label(nx: s.x, ny: s.y, nz: s.z, backward: offsets) { t[$0] }
        let components = ComponentLabelling.label(nx: s.x, ny: s.y, nz: s.z, backward: offsets) { p[$0] }
        var covered = [Int](repeating: 0, count: lesions.sizes.count)
        var touches = [Bool](repeating: false, count: components.sizes.count)
        for v in 0..<s.count where p[v] {
            if t[v] {
                covered[Int(lesions.labels[v]) - 1] += 1
                touches[Int(components.labels[v]) - 1] = true
            }
        }
        let voxelML = truth.voxelVolumeML
        lesionVolumesML = lesions.sizes.map { Double($0) * voxelML }
        lesionFound = zip(covered, lesions.sizes).map { c, n in c > 0 && Double(c) >= settings.minimumCoverage * Double(n) }
        predictedComponents = components.sizes.count
        falsePositiveComponents = touches.filter { !$0 }.count
    }

    /// The backward neighbour offsets of a connectivity.
    static func backwardOffsets(_ connectivity: Connectivity) -> [(Int, Int, Int)] {
        switch connectivity {
        case .six: ComponentLabelling.backwardOffsets(maximumManhattan: 1)
        case .eighteen: ComponentLabelling.backwardOffsets(maximumManhattan: 2)
        case .twentySix: ComponentLabelling.backwardOffsets(maximumManhattan: 3)
        }
    }
}

extension LesionDetection {
    /// Detection of `prediction`'s components against lesions given one by one: every non-zero
    /// value of `lesionLabels` that occurs is one true lesion (in increasing value), found when
    /// the prediction covers the stated share of its voxels; a predicted component that touches
    /// no labelled voxel is a false-positive component. ``Settings/connectivity`` applies to the
    /// predicted components only.
    ///
    /// - Parameters:
    ///   - prediction: the predicted mask.
    ///   - lesionLabels: one value per voxel of `prediction`'s grid, NIfTI order; 0 is background.
    ///   - settings: the rule.
    /// - Precondition: `lesionLabels.count == prediction.shape.count`; `settings` are valid.
    @inlinable
    public init<Label: BinaryInteger>(prediction: BinaryMask, lesionLabels: [Label], settings: Settings = Settings()) {
        precondition(lesionLabels.count == prediction.shape.count,
                     "LesionDetection: \(lesionLabels.count) lesion labels for a \(prediction.shape) grid")
        // Inlined, so that this scan over every voxel is specialized for the caller's label
        // type; the rest works on the labelled voxels alone.
        var voxels: [Int] = [], labels: [Int] = []
        lesionLabels.withUnsafeBufferPointer { map in
            for v in 0..<map.count where map[v] != 0 {
                voxels.append(v)
                labels.append(Int(map[v]))
            }
        }
        self.init(prediction: prediction, labelledVoxels: voxels, labels: labels, settings: settings)
    }

    /// ``init(prediction:lesionLabels:settings:)`` from the labelled voxels (storage indices,
    /// ascending) and their non-zero labels.
    @usableFromInline
    init(prediction: BinaryMask, labelledVoxels: [Int], labels: [Int], settings: Settings) {
        precondition(settings.minimumCoverage >= 0 && settings.minimumCoverage <= 1, "LesionDetection: coverage \(settings.minimumCoverage)")
        self.settings = settings
        lesionSource = .labels
        // The predicted components inside the bounding box of both masks (their numbering is
        // that of the whole grid, as with components); one that holds no labelled voxel is a
        // false positive.
        var labelled = [Bool](repeating: false, count: prediction.shape.count)
        for v in labelledVoxels { labelled[v] = true }
        let pair = MaskPair(prediction: prediction, truth: BinaryMask(shape: prediction.shape, spacing: prediction.spacing,
                                                                     voxels: labelled, voxelVolumeML: prediction.voxelVolumeML))
        let s = pair.shape, t = pair.truth, p = pair.prediction
        let components = ComponentLabelling.label(nx: s.x, ny: s.y, nz: s.z, backward: Self.backwardOffsets(settings.connectivity)) { p[$0] }
        var touches = [Bool](repeating: false, count: components.sizes.count)
        for v in 0..<s.count where p[v] && t[v] { touches[Int(components.labels[v]) - 1] = true }
        predictedComponents = components.sizes.count
        falsePositiveComponents = touches.filter { !$0 }.count
        // every label that occurs is one lesion, in increasing value
        var size: [Int: Int] = [:], covered: [Int: Int] = [:]
        for (v, key) in zip(labelledVoxels, labels) {
            size[key, default: 0] += 1
            if prediction.voxels[v] { covered[key, default: 0] += 1 }
        }
        let keys = size.keys.sorted()
        let voxelML = prediction.voxelVolumeML
        lesionVolumesML = keys.map { Double(size[$0]!) * voxelML }
        lesionFound = keys.map { key in
            let c = covered[key] ?? 0
            return c > 0 && Double(c) >= settings.minimumCoverage * Double(size[key]!)
        }
    }

    private enum CodingKeys: String, CodingKey {
        case lesionVolumesML, lesionFound, predictedComponents, falsePositiveComponents, settings, lesionSource
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        lesionVolumesML = try c.decode([Double].self, forKey: .lesionVolumesML)
        lesionFound = try c.decode([Bool].self, forKey: .lesionFound)
        predictedComponents = try c.decode(Int.self, forKey: .predictedComponents)
        falsePositiveComponents = try c.decode(Int.self, forKey: .falsePositiveComponents)
        settings = try c.decode(Settings.self, forKey: .settings)
        lesionSource = try c.decodeIfPresent(LesionSource.self, forKey: .lesionSource) ?? .components
    }
}

/// Lesion detection pooled over cases: every true lesion of every case counts once.
public struct LesionDetectionSummary: Hashable, Sendable, Codable {
    /// Cases pooled.
    public var cases: Int
    /// True lesions over all cases.
    public var lesions: Int
    /// Of those, found.
    public var detected: Int
    /// `detected / lesions`; NaN without lesions.
    public var sensitivity: Double
    /// False-positive components over all cases divided by the number of cases (scans).
    public var falsePositiveComponentsPerCase: Double
    /// Lesions and found lesions by lesion volume (the strata of ``VolumeStrata``).
    public var byVolume: [Stratum]
    /// Cases whose lesions came from an instance map (``LesionDetection/LesionSource/labels``);
    /// the others' lesions are connected components. 0 in summaries written before it existed.
    public var casesWithLabelledLesions: Int

    /// One lesion-volume stratum.
    public struct Stratum: Hashable, Sendable, Codable {
        /// Its label, e.g. `< 5 mL`.
        public var label: String
        /// True lesions in it.
        public var lesions: Int
        /// Of those, found.
        public var detected: Int
        /// `detected / lesions`; NaN without lesions.
        public var sensitivity: Double
    }

    /// Pools per-case detections.
    public init(_ detections: [LesionDetection], strata: VolumeStrata = VolumeStrata()) {
        cases = detections.count
        lesions = detections.reduce(0) { $0 + $1.truthLesions }
        detected = detections.reduce(0) { $0 + $1.detectedLesions }
        sensitivity = lesions == 0 ? .nan : Double(detected) / Double(lesions)
        casesWithLabelledLesions = detections.filter { $0.lesionSource == .labels }.count
        let fp = detections.reduce(0) { $0 + $1.falsePositiveComponents }
        falsePositiveComponentsPerCase = cases == 0 ? .nan : Double(fp) / Double(cases)
        var n = [Int](repeating: 0, count: strata.labels.count), found = n
        for d in detections {
            for (volume, f) in zip(d.lesionVolumesML, d.lesionFound) {
                let i = strata.index(of: volume)
                n[i] += 1
                if f { found[i] += 1 }
            }
        }
        byVolume = strata.labels.indices.map { i in
            Stratum(label: strata.labels[i], lesions: n[i], detected: found[i],
                    sensitivity: n[i] == 0 ? .nan : Double(found[i]) / Double(n[i]))
        }
    }
}

extension LesionDetectionSummary {
    /// What a true lesion was in these cases, in words: `26-connected components of the truth`,
    /// `one per label of the cases' lesion maps`, or, when only some cases had a map, `one per
    /// label of the lesion map in N of M cases, elsewhere ...`.
    public func lesionDefinition(connectivity: LesionDetection.Connectivity) -> String {
        let components = "\(connectivity.rawValue)-connected components of the truth"
        if casesWithLabelledLesions == 0 { return components }
        if casesWithLabelledLesions == cases { return "one per label of the cases' lesion maps (a phantom's drawn lesions, however many pieces each)" }
        return "one per label of the lesion map in \(casesWithLabelledLesions) of \(cases) cases, elsewhere " + components
    }

    private enum CodingKeys: String, CodingKey {
        case cases, lesions, detected, sensitivity, falsePositiveComponentsPerCase, byVolume, casesWithLabelledLesions
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cases = try c.decode(Int.self, forKey: .cases)
        lesions = try c.decode(Int.self, forKey: .lesions)
        detected = try c.decode(Int.self, forKey: .detected)
        sensitivity = try c.decode(Double.self, forKey: .sensitivity)
        falsePositiveComponentsPerCase = try c.decode(Double.self, forKey: .falsePositiveComponentsPerCase)
        byVolume = try c.decode([Stratum].self, forKey: .byVolume)
        casesWithLabelledLesions = try c.decodeIfPresent(Int.self, forKey: .casesWithLabelledLesions) ?? 0
    }
}
