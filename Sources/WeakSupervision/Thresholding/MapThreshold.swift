/// A rule that turns one slice's class activation map into a binary region.
///
/// The map is a row-major `y x x` image of Float values (a CAM, normalised to 0...1 per slice),
/// the region of interest (ROI) is the same slice of the intracranial mask (a pixel > 0 is
/// inside). Only values inside the ROI take part, and only pixels inside the ROI can be in the
/// region.
///
/// A conforming type supplies ``cutoff(for:)``; the default ``region(map:within:)`` then keeps
///
///     region[p] = 1  when  roi[p] > 0  and  map[p] > cutoff(values of map inside roi)
///
/// (strictly greater, as scikit-image's `image > threshold_otsu(image)`). When the ROI is
/// empty, the region is empty and `cutoff` is not called. A type with a rule that is not a
/// single cutoff (largest component, hysteresis, ...) implements `region` itself as well.
///
/// A user's own threshold is a few lines:
///
///     struct MeanThreshold: MapThreshold {
///         func cutoff(for values: [Float]) -> Float {
///             values.reduce(0, +) / Float(values.count)
///         }
///     }
///
/// Built in: ``FixedThreshold``, ``OtsuThreshold``, ``PercentileThreshold``.
public protocol MapThreshold: Sendable {
    /// The cutoff for these map values (the values inside the ROI, never empty, all finite,
    /// in no particular order); a pixel is kept when its value is strictly greater.
    func cutoff(for values: [Float]) throws -> Float

    /// The binary region of one slice: 1 where kept, 0 elsewhere; `map.count` values.
    ///
    /// - Parameters:
    ///   - map: the slice's map, row-major `y x x`.
    ///   - roi: the slice's region of interest, same count; > 0 is inside.
    /// - Throws: ``WeakSupervisionError/shapeMismatch(what:expected:got:)`` when the counts
    ///   differ, ``WeakSupervisionError/nonFiniteValues(what:count:)`` when a value inside the
    ///   ROI is NaN or infinite.
    func region(map: ArraySlice<Float>, within roi: ArraySlice<UInt8>) throws -> [UInt8]
}

extension MapThreshold {
    /// Default: ROI pixels whose value is strictly greater than ``cutoff(for:)`` of the ROI values.
    public func region(map: ArraySlice<Float>, within roi: ArraySlice<UInt8>) throws -> [UInt8] {
        let values = try insideValues(map: map, roi: roi)
        var out = [UInt8](repeating: 0, count: map.count)
        if values.isEmpty { return out }
        let t = try cutoff(for: values)
        for (o, (m, r)) in zip(map, roi).enumerated() where r > 0 && m > t { out[o] = 1 }
        return out
    }

    /// ``region(map:within:)`` for whole arrays.
    public func region(map: [Float], within roi: [UInt8]) throws -> [UInt8] {
        try region(map: map[...], within: roi[...])
    }
}

/// The map values inside the ROI, checked for matching counts and finiteness.
func insideValues(map: ArraySlice<Float>, roi: ArraySlice<UInt8>) throws -> [Float] {
    guard map.count == roi.count else {
        throw WeakSupervisionError.shapeMismatch(
            what: "map and region of interest", expected: "\(map.count) pixels", got: "\(roi.count)")
    }
    var values: [Float] = []
    values.reserveCapacity(map.count)
    var bad = 0
    for (m, r) in zip(map, roi) where r > 0 {
        if m.isFinite { values.append(m) } else { bad += 1 }
    }
    if bad > 0 { throw WeakSupervisionError.nonFiniteValues(what: "map inside the region of interest", count: bad) }
    return values
}

/// A constant cutoff: keep pixels whose value is greater than `value`.
///
/// The project's prototype used 0.3 on max-normalised Grad-CAM maps (Docs/method.md#7-the-pytorch-prototype-behind-the-defaults).
/// Any value is accepted: `-infinity` keeps the whole ROI, a value >= the map's maximum or NaN
/// keeps nothing.
public struct FixedThreshold: MapThreshold, Hashable {
    /// The cutoff; a pixel with value > `value` is kept.
    public var value: Float

    /// - Parameter value: the cutoff (for maps in 0...1, usually 0.2 to 0.5).
    public init(_ value: Float) {
        self.value = value
    }

    /// ``value``, whatever the values.
    public func cutoff(for values: [Float]) -> Float { value }
}
