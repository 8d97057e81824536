import Foundation

/// The intracranial mask of method.md section 2.3: the brain inside the inner table of the
/// skull, without scalp or bone, grown a little into the inner table so that hemorrhage
/// blurred by the bone next to it stays in.
///
/// Algorithm (per axial slice, then across slices); every length is in millimetres of the
/// scan's in-plane spacing unless it says pixels:
///
/// 1. **Bone**: voxels with `HU >= boneThreshold` (default 250). No smoothing: noise of a few
///    HU cannot cross 250, while a smoothing filter would move the inner table inward and
///    erase thin bone. A slice with less than `minimumBoneArea` of bone has no skull: its
///    mask is empty (slices above or below the head, or outside it).
/// 2. **Closed skull**: bone closed (dilation then erosion, exact Euclidean disks) with the
///    first radius of `closingRadii` (default 2, 4, 8, 16 mm) that works (see 5). Closing
///    bridges gaps narrower than about twice the radius: sutures, foramina, an open ring
///    at the skull base, bone too thin to reach the threshold.
/// 3. **Filled skull** = the closed bone plus every region it encloses (holes not connected
///    to the image border). This is the head inside the outer table: no scalp.
/// 4. **Interior** = filled skull minus closed bone, minus voxels below `minimumTissue`
///    HU (air in sinuses); components smaller than `minimumComponentArea` are dropped;
///    holes in what remains are filled (calcifications, small bone islands in the brain).
/// 5. If the interior is smaller than `minimumInteriorArea`, the next closing radius is
///    tried (a gap was too wide to bridge, so the fill leaked out); the largest interior
///    over the radii tried is kept.
/// 6. **3-D consistency**: of the interiors of all slices, only the largest 6-connected
///    3-D component is kept (`keepLargestComponent`): remote regions that happen to be
///    enclosed by bone (the spinal canal, an orbit) drop out.
/// 7. **Rim growth**: the interior is dilated by `rimGrowth` pixels (a disk, default 2)
///    but never beyond the filled skull of its slice. The bone threshold cuts the
///    partial-volume rim of the inner table and with it the hemorrhage touching it; growing
///    two pixels recovers that rim while the outer table and the scalp stay out. A PyTorch
///    prototype measured: 90% of hemorrhage kept without growth, 100% with two pixels.
///
/// Cost: a few exact distance transforms per slice, `O(x * y)` each; slices run in parallel.
public enum IntracranialMask {
    /// The knobs of ``IntracranialMask``, with their defaults.
    public struct Parameters: Hashable, Sendable, Codable {
        /// HU at or above which a voxel is bone. Default 250.
        public var boneThreshold: Float
        /// HU below which an enclosed voxel is air, not brain. Default -200.
        public var minimumTissue: Float
        /// Closing radii in mm, tried in order until the interior is large enough.
        /// Default [2, 4, 8, 16].
        public var closingRadii: [Double]
        /// Least bone area (mm^2) for a slice to count as holding a skull. Default 100.
        public var minimumBoneArea: Double
        /// Interior area (mm^2) at which a closing radius is accepted. Default 500.
        public var minimumInteriorArea: Double
        /// Per-slice interior components smaller than this (mm^2) are dropped. Default 25.
        public var minimumComponentArea: Double
        /// Keep only the largest 3-D 6-connected component. Default true.
        public var keepLargestComponent: Bool
        /// Growth into the inner table, in pixels (disk radius), bounded by the outer
        /// table. Default 2.
        public var rimGrowth: Double

        public init(boneThreshold: Float = 250, minimumTissue: Float = -200,
                    closingRadii: [Double] = [2, 4, 8, 16], minimumBoneArea: Double = 100,
                    minimumInteriorArea: Double = 500, minimumComponentArea: Double = 25,
                    keepLargestComponent: Bool = true, rimGrowth: Double = 2) {
            self.boneThreshold = boneThreshold
            self.minimumTissue = minimumTissue
            self.closingRadii = closingRadii
            self.minimumBoneArea = minimumBoneArea
            self.minimumInteriorArea = minimumInteriorArea
            self.minimumComponentArea = minimumComponentArea
            self.keepLargestComponent = keepLargestComponent
            self.rimGrowth = rimGrowth
        }

        /// Throws ``CTVolumeError/invalidParameter(name:reason:)`` for a value out of range.
        public func validate() throws {
            func bad(_ name: String, _ reason: String) -> CTVolumeError { .invalidParameter(name: name, reason: reason) }
            guard boneThreshold.isFinite, minimumTissue.isFinite, minimumTissue < boneThreshold else {
                throw bad("boneThreshold/minimumTissue", "need finite values with minimumTissue < boneThreshold")
            }
            guard !closingRadii.isEmpty, closingRadii.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                throw bad("closingRadii", "need at least one finite radius >= 0 mm")
            }
            for (name, v) in [("minimumBoneArea", minimumBoneArea), ("minimumInteriorArea", minimumInteriorArea),
                              ("minimumComponentArea", minimumComponentArea), ("rimGrowth", rimGrowth)] where !(v.isFinite && v >= 0) {
                throw bad(name, "\(v) is not a finite value >= 0")
            }
        }
    }

    /// The intracranial mask of `scan` (1 inside, 0 outside), on its grid and geometry.
    ///
    /// - Parameters:
    ///   - scan: a head CT in HU.
    ///   - parameters: see ``Parameters``; the defaults suit 0.4 to 1 mm in-plane spacing.
    /// - Throws: ``CTVolumeError/invalidParameter(name:reason:)`` for bad parameters.
    public static func compute(_ scan: ScanVolume, parameters: Parameters = Parameters()) throws -> MaskVolume {
        try parameters.validate()
        let shape = scan.shape
        let sx = scan.geometry.spacing.x > 0 ? scan.geometry.spacing.x : 1
        let sy = scan.geometry.spacing.y > 0 ? scan.geometry.spacing.y : 1
        let n = shape.sliceCount
        var interior = [Bool](repeating: false, count: shape.count)
        var filled = [Bool](repeating: false, count: shape.count)
        interior.withUnsafeMutableBufferPointer { ib in
            filled.withUnsafeMutableBufferPointer { fb in
                let out = UnsafeSendable((ib, fb))
                scan.voxels.withUnsafeBufferPointer { hu in
                    let huShared = UnsafeSendable(hu)
                    DispatchQueue.concurrentPerform(iterations: shape.z) { k in
                        let slice = UnsafeBufferPointer(rebasing: huShared.value[(k * n)..<((k + 1) * n)])
                        let (inside, head) = sliceInterior(slice, width: shape.x, height: shape.y, sx: sx, sy: sy, parameters)
                        for p in 0..<n {
                            out.value.0[k * n + p] = inside.pixels[p]
                            out.value.1[k * n + p] = head.pixels[p]
                        }
                    }
                }
            }
        }
        if parameters.keepLargestComponent { keepLargestComponent(&interior, shape: shape) }
        var mask = [UInt8](repeating: 0, count: shape.count)
        mask.withUnsafeMutableBufferPointer { mb in
            let out = UnsafeSendable(mb)
            interior.withUnsafeBufferPointer { ib in filled.withUnsafeBufferPointer { fb in
                let inputs = UnsafeSendable((ib, fb))
                DispatchQueue.concurrentPerform(iterations: shape.z) { k in
                    let range = (k * n)..<((k + 1) * n)
                    let inside = BinaryImage(width: shape.x, height: shape.y, pixels: Array(inputs.value.0[range]))
                    guard inside.pixels.contains(true) else { return }
                    let grown = parameters.rimGrowth > 0 ? inside.dilated(radius: parameters.rimGrowth) : inside
                    for p in 0..<n where grown.pixels[p] && inputs.value.1[k * n + p] { out.value[k * n + p] = 1 }
                }
            } }
        }
        return MaskVolume(shape: shape, voxels: mask, geometry: scan.geometry)
    }

    /// Steps 1 to 5 on one slice: the interior (before growth) and the filled skull.
    static func sliceInterior(_ hu: UnsafeBufferPointer<Float>, width: Int, height: Int, sx: Double, sy: Double,
                              _ p: Parameters) -> (interior: BinaryImage, filled: BinaryImage) {
        let empty = BinaryImage(width: width, height: height)
        let pixelArea = sx * sy
        let bone = BinaryImage(width: width, height: height, pixels: hu.map { $0 >= p.boneThreshold })
        guard Double(bone.count) * pixelArea >= p.minimumBoneArea else { return (empty, empty) }
        let tissue = BinaryImage(width: width, height: height, pixels: hu.map { $0 >= p.minimumTissue })
        let minComponent = Int((p.minimumComponentArea / pixelArea).rounded(.up))
        var best = (interior: empty, filled: empty, area: 0)
        for radius in p.closingRadii {
            let closedBone = radius > 0 ? bone.closed(radius: radius, spacingX: sx, spacingY: sy) : bone
            let filled = closedBone.holesFilled()
            let inside = (filled & !closedBone & tissue).removingComponents(smallerThan: max(minComponent, 1)).holesFilled()
            let area = inside.count
            if area > best.area { best = (inside, filled, area) }
            if Double(area) * pixelArea >= p.minimumInteriorArea { break }
        }
        return (best.interior, best.filled)
    }

    /// Keeps the largest 6-connected 3-D component of `mask` (NIfTI order on `shape`).
    static func keepLargestComponent(_ mask: inout [Bool], shape: GridShape) {
        var label = [Int32](repeating: 0, count: mask.count)
        var bestLabel: Int32 = 0, bestSize = 0, next: Int32 = 0
        var stack = [Int]()
        let sx = 1, sy = shape.x, sz = shape.sliceCount
        for start in 0..<mask.count where mask[start] && label[start] == 0 {
            next += 1
            label[start] = next
            stack.append(start)
            var size = 0
            while let p = stack.popLast() {
                size += 1
                let i = p % shape.x, j = (p / shape.x) % shape.y, k = p / sz
                func visit(_ q: Int) { if mask[q] && label[q] == 0 { label[q] = next; stack.append(q) } }
                if i > 0 { visit(p - sx) }
                if i < shape.x - 1 { visit(p + sx) }
                if j > 0 { visit(p - sy) }
                if j < shape.y - 1 { visit(p + sy) }
                if k > 0 { visit(p - sz) }
                if k < shape.z - 1 { visit(p + sz) }
            }
            if size > bestSize { bestSize = size; bestLabel = next }
        }
        for p in 0..<mask.count { mask[p] = mask[p] && label[p] == bestLabel }
    }
}
