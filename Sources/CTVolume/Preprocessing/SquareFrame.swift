import Foundation

/// The square a slice of `height x width` sits in before it is resampled to the networks'
/// `S x S`, so that a slice that is not square keeps its shape instead of being stretched.
///
/// The side is `max(height, width)`. The slice sits in the middle: `top = (side - height) / 2`
/// rows and `left = (side - width) / 2` columns of padding before it (integer division, so an
/// odd margin puts its extra row or column after the slice). Scans pad with air
/// (``Preprocessing/air``, -1000 HU) and masks with 0; maps come back by resizing to
/// `side x side` and cutting the slice's rectangle out (``crop(_:)``).
///
/// A square slice is its own frame (``isSquare``): padding and cropping are identities, so
/// square scans give the values they gave before frames existed, bit for bit.
///
///     let frame = SquareFrame(height: 192, width: 256)     // side 256, top 32, left 0
///     let padded = frame.pad(slice, fill: Preprocessing.air)  // 256 x 256
///     let back = frame.crop(padded)                         // == slice
///
/// `ichnets.square_frame`, `pad_to_square` and `crop_from_square` in
/// scripts/reference/ichnets.py are the same arithmetic.
public struct SquareFrame: Sendable, Hashable {
    /// The slice's rows (its `y` extent) and columns (its `x` extent).
    public let height: Int, width: Int

    /// The frame of a `height x width` slice.
    /// - Precondition: both positive.
    public init(height: Int, width: Int) {
        precondition(height > 0 && width > 0, "SquareFrame: sizes must be positive (\(height)x\(width))")
        self.height = height
        self.width = width
    }

    /// The frame of `shape`'s axial slices (`shape.y` rows, `shape.x` columns).
    public init(_ shape: GridShape) { self.init(height: shape.y, width: shape.x) }

    /// The square's side, `max(height, width)`.
    public var side: Int { max(height, width) }
    /// Rows of padding above the slice.
    public var top: Int { (side - height) / 2 }
    /// Columns of padding left of the slice.
    public var left: Int { (side - width) / 2 }
    /// Whether the slice is square already (no padding).
    public var isSquare: Bool { height == width }

    /// Writes one `height x width` image (row-major) into `output` (`side * side` values) in the
    /// middle of a square filled with `fill`.
    public func pad(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, fill: Float) {
        let s = side, t = top, l = left
        output.update(repeating: fill, count: s * s)
        for r in 0..<height {
            (output + (t + r) * s + l).update(from: input + r * width, count: width)
        }
    }

    /// One `height x width` image (row-major) padded to `side x side` with `fill`.
    public func pad<C: Collection>(_ image: C, fill: Float) -> [Float] where C.Element == Float {
        let input = Array(image)
        precondition(input.count == height * width, "SquareFrame.pad: \(input.count) values for a \(height)x\(width) image")
        var out = [Float](repeating: fill, count: side * side)
        input.withUnsafeBufferPointer { ib in
            out.withUnsafeMutableBufferPointer { ob in pad(ib.baseAddress!, into: ob.baseAddress!, fill: fill) }
        }
        return out
    }

    /// The slice's `height x width` rectangle cut out of one `side x side` image at `input`,
    /// written row-major to `output`.
    public func crop(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        let s = side, t = top, l = left
        for r in 0..<height {
            (output + r * width).update(from: input + (t + r) * s + l, count: width)
        }
    }

    /// The slice's `height x width` rectangle of one `side x side` image (row-major).
    public func crop<C: Collection>(_ image: C) -> [Float] where C.Element == Float {
        let input = Array(image)
        precondition(input.count == side * side, "SquareFrame.crop: \(input.count) values for a \(side)x\(side) image")
        var out = [Float](repeating: 0, count: height * width)
        input.withUnsafeBufferPointer { ib in
            out.withUnsafeMutableBufferPointer { ob in crop(ib.baseAddress!, into: ob.baseAddress!) }
        }
        return out
    }
}
