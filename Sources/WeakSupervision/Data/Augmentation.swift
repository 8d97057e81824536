import Foundation
import NeuralCore

/// Random, seeded changes to training images: flips, a small rotation and shift, an optional
/// zoom, and an intensity jitter. The same draw is applied to every slice of a sequence (and to its
/// mask), since contiguous slices move together.
///
/// Geometric part, for an S × S image with centre c = (S − 1)/2, output pixel (row r, column q):
///
///     (u, v)   = ((q − c − dx) / z, (r − c − dy) / z)             undo the shift and the zoom z
///     (x', y') = (cos θ u + sin θ v + c, −sin θ u + cos θ v + c)   undo the rotation by θ
///     x        = S − 1 − x' when flipped left-right, else x'       (y likewise, up-down)
///     out(r, q) = bilinear sample of the input at (x, y), 0 outside
///
/// A zoom z > 1 shows the content larger (a head spanning more of the matrix, a smaller field of
/// view), z < 1 smaller. Intensity part (images only, not masks): `a · value + b`. Every draw
/// consumes exactly seven uniform numbers whatever is enabled, so changing one option does not
/// reshuffle the rest; a zoom (``maxZoom`` > 0) takes an eighth, after them, so every draw
/// without zoom is the one it was before zoom existed.
public struct Augmentation: Codable, Sendable, Equatable {
    /// Probability of a left-right flip (default 0.5).
    public var horizontalFlip: Double
    /// Probability of an up-down flip (default 0).
    public var verticalFlip: Double
    /// Maximum rotation in degrees, θ uniform in ±this (default 10).
    public var maxRotationDegrees: Double
    /// Maximum shift as a fraction of S, dx and dy uniform in ±this·S (default 0.06).
    public var maxShift: Double
    /// Intensity scale a uniform in 1 ± this (default 0.1).
    public var intensityScale: Double
    /// Intensity offset b uniform in ±this (default 0.05).
    public var intensityShift: Double
    /// Maximum zoom: z log-uniform in `1 / (1 + this) ... 1 + this` (default 0, no zoom; 0.25
    /// spans heads a fifth smaller to a quarter larger in the matrix).
    public var maxZoom: Double

    /// An augmentation; every default as documented on the properties.
    public init(horizontalFlip: Double = 0.5, verticalFlip: Double = 0, maxRotationDegrees: Double = 10,
                maxShift: Double = 0.06, intensityScale: Double = 0.1, intensityShift: Double = 0.05, maxZoom: Double = 0) {
        self.horizontalFlip = horizontalFlip
        self.verticalFlip = verticalFlip
        self.maxRotationDegrees = maxRotationDegrees
        self.maxShift = maxShift
        self.intensityScale = intensityScale
        self.intensityShift = intensityShift
        self.maxZoom = maxZoom
    }

    private enum CodingKeys: String, CodingKey {
        case horizontalFlip, verticalFlip, maxRotationDegrees, maxShift, intensityScale, intensityShift, maxZoom
    }

    /// Decodes every field; `maxZoom` may be missing (0), so configurations written before it
    /// existed read as they did.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(horizontalFlip: try c.decode(Double.self, forKey: .horizontalFlip),
                  verticalFlip: try c.decode(Double.self, forKey: .verticalFlip),
                  maxRotationDegrees: try c.decode(Double.self, forKey: .maxRotationDegrees),
                  maxShift: try c.decode(Double.self, forKey: .maxShift),
                  intensityScale: try c.decode(Double.self, forKey: .intensityScale),
                  intensityShift: try c.decode(Double.self, forKey: .intensityShift),
                  maxZoom: try c.decodeIfPresent(Double.self, forKey: .maxZoom) ?? 0)
    }

    /// Encodes every field, `maxZoom` only when it is not 0, so a configuration without zoom is
    /// written as it was before zoom existed.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(horizontalFlip, forKey: .horizontalFlip)
        try c.encode(verticalFlip, forKey: .verticalFlip)
        try c.encode(maxRotationDegrees, forKey: .maxRotationDegrees)
        try c.encode(maxShift, forKey: .maxShift)
        try c.encode(intensityScale, forKey: .intensityScale)
        try c.encode(intensityShift, forKey: .intensityShift)
        if maxZoom != 0 { try c.encode(maxZoom, forKey: .maxZoom) }
    }

    /// No augmentation at all (every draw is the identity).
    public static let none = Augmentation(horizontalFlip: 0, verticalFlip: 0, maxRotationDegrees: 0, maxShift: 0,
                                          intensityScale: 0, intensityShift: 0)

    /// Flips and shifts only (the refiner's default: no rotation, no intensity change).
    public static let flipsAndShifts = Augmentation(horizontalFlip: 0.5, verticalFlip: 0, maxRotationDegrees: 0, maxShift: 0.06,
                                                    intensityScale: 0, intensityShift: 0)

    /// Throws for a probability outside 0...1 or a negative range.
    public func validate() throws {
        for (name, p) in [("horizontalFlip", horizontalFlip), ("verticalFlip", verticalFlip)] where !(0...1).contains(p) {
            throw WeakSupervisionError.invalidParameter(name: "augmentation.\(name)", reason: "\(p) is not a probability")
        }
        for (name, r) in [("maxRotationDegrees", maxRotationDegrees), ("maxShift", maxShift), ("intensityScale", intensityScale),
                          ("intensityShift", intensityShift), ("maxZoom", maxZoom)] where !(r >= 0 && r.isFinite) {
            throw WeakSupervisionError.invalidParameter(name: "augmentation.\(name)", reason: "\(r) must be finite and ≥ 0")
        }
    }

    /// One random transform (seven uniform draws from `generator`, each `(next() >> 11) · 2⁻⁵³`,
    /// and an eighth for the zoom when ``maxZoom`` > 0: `z = (1 + maxZoom)^(2u − 1)`).
    public func draw(size: Int, using generator: inout some RandomNumberGenerator) -> AugmentationDraw {
        var u = [Double](repeating: 0, count: 7)
        for i in 0..<7 { u[i] = Double(generator.next() >> 11) * 0x1p-53 }
        var zoom = 1.0
        if maxZoom > 0 {
            let u7 = Double(generator.next() >> 11) * 0x1p-53
            zoom = Foundation.exp((2 * u7 - 1) * Foundation.log(1 + maxZoom))
        }
        return AugmentationDraw(
            flipX: u[0] < horizontalFlip, flipY: u[1] < verticalFlip,
            angle: (2 * u[2] - 1) * maxRotationDegrees * .pi / 180, zoom: zoom,
            shiftX: (2 * u[3] - 1) * maxShift * Double(size), shiftY: (2 * u[4] - 1) * maxShift * Double(size),
            scale: 1 + (2 * u[5] - 1) * intensityScale,
            offset: (2 * u[6] - 1) * intensityShift)
    }
}

/// One drawn transform (see ``Augmentation``).
public struct AugmentationDraw: Sendable, Equatable {
    /// Left-right flip. - flipY: up-down flip.
    public var flipX: Bool, flipY: Bool
    /// θ in radians.
    public var angle: Double
    /// dx, dy in pixels.
    public var shiftX: Double, shiftY: Double
    /// a, b of the intensity jitter.
    public var scale: Double, offset: Double
    /// z: the content shown z times larger about the centre (1: no zoom).
    public var zoom: Double

    /// A transform.
    public init(flipX: Bool = false, flipY: Bool = false, angle: Double = 0, zoom: Double = 1, shiftX: Double = 0, shiftY: Double = 0,
                scale: Double = 1, offset: Double = 0) {
        self.zoom = zoom
        self.flipX = flipX
        self.flipY = flipY
        self.angle = angle
        self.shiftX = shiftX
        self.shiftY = shiftY
        self.scale = scale
        self.offset = offset
    }

    /// Whether the geometric part moves nothing.
    public var isGeometricIdentity: Bool { !flipX && !flipY && angle == 0 && zoom == 1 && shiftX == 0 && shiftY == 0 }

    /// Applies the transform to `planes` consecutive S × S images, in place.
    ///
    /// - Parameters:
    ///   - values: `planes · S · S` values. - size: S.
    ///   - intensity: apply `a · value + b` (images) or not (masks).
    public func apply(to values: inout ArraySlice<Float>, size s: Int, intensity: Bool) {
        let plane = s * s
        precondition(values.count % plane == 0, "AugmentationDraw: values are not whole \(s)x\(s) planes")
        if !isGeometricIdentity {
            // Each output pixel's four source pixels and bilinear weights (index -1 / weight 0
            // outside the image), computed once and shared by every plane.
            let c = Double(s - 1) / 2
            let (cosA, sinA) = (cos(angle), sin(angle))
            var taps = [Int](repeating: -1, count: 4 * plane)
            var weights = [Float](repeating: 0, count: 4 * plane)
            for r in 0..<s {
                for q in 0..<s {
                    var u = Double(q) - c - shiftX, v = Double(r) - c - shiftY
                    if zoom != 1 { u /= zoom; v /= zoom }
                    var x = cosA * u + sinA * v + c, y = -sinA * u + cosA * v + c
                    if flipX { x = Double(s - 1) - x }
                    if flipY { y = Double(s - 1) - y }
                    let x0 = Int(x.rounded(.down)), y0 = Int(y.rounded(.down))
                    let fx = Float(x - Double(x0)), fy = Float(y - Double(y0))
                    let o = 4 * (r * s + q)
                    // the four corners, without an array per pixel (it was most of the draw's time)
                    for n in 0..<4 {
                        let i = x0 + (n & 1), j = y0 + (n >> 1)
                        let w = (n & 1 == 0 ? 1 - fx : fx) * (n >> 1 == 0 ? 1 - fy : fy)
                        if w != 0 && i >= 0 && i < s && j >= 0 && j < s {
                            taps[o + n] = j * s + i
                            weights[o + n] = w
                        }
                    }
                }
            }
            var source = [Float](repeating: 0, count: plane)
            values.withUnsafeMutableBufferPointer { buffer in
                taps.withUnsafeBufferPointer { tb in
                    weights.withUnsafeBufferPointer { wb in
                        source.withUnsafeMutableBufferPointer { src in
                            for p in 0..<(buffer.count / plane) {
                                let image = buffer.baseAddress! + p * plane
                                src.baseAddress!.update(from: image, count: plane)
                                for i in 0..<plane {
                                    var acc: Float = 0
                                    for n in 0..<4 where tb[4 * i + n] >= 0 { acc += wb[4 * i + n] * src[tb[4 * i + n]] }
                                    image[i] = acc
                                }
                            }
                        }
                    }
                }
            }
        }
        if intensity && (scale != 1 || offset != 0) {
            let (a, b) = (Float(scale), Float(offset))
            values.withUnsafeMutableBufferPointer { buffer in
                for i in 0..<buffer.count { buffer[i] = a * buffer[i] + b }
            }
        }
    }
}

extension Tensor {
    /// A batch of square slices, (..., S, S), flipped left-right: the training augmentation's
    /// own flip (``AugmentationDraw/flipX``), exact at whole pixels. The test-time flip of
    /// ``UNetLite/segment(_:intracranial:threshold:batchSize:flipAveraging:)`` and
    /// ``ResNetLSTM/classify(_:chunkSize:flipAveraging:)``.
    func mirroredLeftRight() -> Tensor {
        precondition(shape.count >= 2 && shape[shape.count - 2] == shape[shape.count - 1], "mirroredLeftRight: slices of \(shape) are not square")
        var flipped = data[...]
        AugmentationDraw(flipX: true).apply(to: &flipped, size: shape[shape.count - 1], intensity: false)
        return Tensor(shape: shape, data: Array(flipped))
    }
}
