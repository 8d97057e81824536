/// A prediction and a truth cropped to the bounding box of both: every measure of this module
/// is decided inside that box (outside it both masks are background), so the masks are
/// scanned once and everything after works on the box only.
struct MaskPair: Sendable {
    /// The crop of the prediction, NIfTI order.
    let prediction: [Bool]
    /// The crop of the truth, NIfTI order.
    let truth: [Bool]
    /// The crop's grid (zero voxels when both masks are empty).
    let shape: MaskShape
    /// Whether each mask has any foreground.
    let predictionEmpty: Bool
    let truthEmpty: Bool
    /// Voxels of the whole grid.
    let totalCount: Int
    /// The truth's spacing (mm), used by every distance.
    let spacing: SIMD3<Double>

    init(prediction: BinaryMask, truth: BinaryMask) {
        precondition(prediction.shape == truth.shape,
                     "Metrics: prediction \(prediction.shape) and truth \(truth.shape) lie on different grids")
        let predBox = prediction.boundingBox
        let truthBox = truth.boundingBox
        predictionEmpty = predBox == nil
        truthEmpty = truthBox == nil
        totalCount = truth.shape.count
        spacing = truth.spacing
        if let box = predBox.map({ b in truthBox.map { b.union($0) } ?? b }) ?? truthBox {
            (self.prediction, shape) = prediction.cropped(to: box)
            (self.truth, _) = truth.cropped(to: box)
        } else {
            self.prediction = []
            self.truth = []
            shape = MaskShape(0, 0, 0)
        }
    }

    var bothEmpty: Bool { predictionEmpty && truthEmpty }
}

/// Whether any of `count` bytes from `p` is non-zero, eight at a time.
@inline(__always)
func anyNonZero(_ p: UnsafeRawPointer, _ count: Int) -> Bool {
    var i = 0
    while i + 32 <= count {
        let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self) | p.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)
            | p.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self) | p.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)
        if w != 0 { return true }
        i += 32
    }
    while i + 8 <= count {
        if p.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return true }
        i += 8
    }
    while i < count {
        if p.load(fromByteOffset: i, as: UInt8.self) != 0 { return true }
        i += 1
    }
    return false
}
