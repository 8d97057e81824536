extension Volume {
    /// The same scan stored in another voxel order, every voxel at the world point it had: stored
    /// axis `s` runs along this volume's axis `order[s]`, backwards where `reversed[s]`. What a
    /// scanner or converter may write for one scan (LPS, i and j swapped, head to foot, ...); used
    /// to test that a tool does not depend on the stored order. ``Reorientation`` undoes it.
    ///
    /// The affine (qform and sform alike) becomes `A Q`, where `Q` sends a stored index to this
    /// volume's index: `Q[order[s], s] = ±1`, offset `m_s - 1` on reversed axes of length `m_s`.
    ///
    /// - Precondition: `order` is a permutation of 0, 1, 2 and `reversed` has three entries.
    public func storedInAxisOrder(_ order: [Int], reversed: [Bool]) -> Volume<Voxel> {
        precondition(order.sorted() == [0, 1, 2] && reversed.count == 3, "storedInAxisOrder: \(order), \(reversed)")
        let n = [shape.x, shape.y, shape.z]
        let m = order.map { n[$0] }
        let stored = GridShape(m[0], m[1], m[2])
        // Stored axis a walks the source axis order[a], backwards when reversed[a]: one start
        // offset and one step per stored axis, so the copy is three strided loops.
        let sourceStride = [1, shape.x, shape.x * shape.y]
        var start = 0, step = [0, 0, 0]
        for a in 0..<3 {
            let st = sourceStride[order[a]]
            if reversed[a] { start += (m[a] - 1) * st; step[a] = -st } else { step[a] = st }
        }
        let steps = (step[0], step[1], step[2]), counts = (m[0], m[1], m[2])
        // The common voxel types take a copy specialized for them: called from another module,
        // this generic method would otherwise move every voxel through value witnesses.
        let voxels: [Voxel]
        if Voxel.self == UInt8.self {
            voxels = unsafeBitCast(Self.stridedCopy(unsafeBitCast(self.voxels, to: [UInt8].self), start: start, steps: steps, counts: counts), to: [Voxel].self)
        } else if Voxel.self == Float.self {
            voxels = unsafeBitCast(Self.stridedCopy(unsafeBitCast(self.voxels, to: [Float].self), start: start, steps: steps, counts: counts), to: [Voxel].self)
        } else if Voxel.self == Int16.self {
            voxels = unsafeBitCast(Self.stridedCopy(unsafeBitCast(self.voxels, to: [Int16].self), start: start, steps: steps, counts: counts), to: [Voxel].self)
        } else {
            voxels = Self.stridedCopy(self.voxels, start: start, steps: steps, counts: counts)
        }
        func moved(_ a: Affine) -> Affine {
            var rows = [Double](repeating: 0, count: 16)
            rows[15] = 1
            for r in 0..<3 {
                var offset = a[r, 3]
                for c in 0..<3 {
                    rows[r * 4 + c] = a[r, order[c]] * (reversed[c] ? -1 : 1)
                    if reversed[c] { offset += a[r, order[c]] * Double(m[c] - 1) }
                }
                rows[r * 4 + 3] = offset
            }
            return Affine(rowMajor: rows)
        }
        let s = [geometry.spacing.x, geometry.spacing.y, geometry.spacing.z]
        let g = Geometry(spacing: SIMD3(s[order[0]], s[order[1]], s[order[2]]), qformCode: geometry.qformCode, qform: moved(geometry.qform),
                         sformCode: geometry.sformCode, sform: moved(geometry.sform))
        return Volume(shape: stored, voxels: voxels, geometry: g)
    }

    /// `counts.2` planes of `counts.1` rows of `counts.0` elements of `source`, from `start`,
    /// stepping `steps.0` along a row, `steps.1` between rows and `steps.2` between planes.
    private static func stridedCopy<T>(_ source: [T], start: Int, steps: (Int, Int, Int), counts: (Int, Int, Int)) -> [T] {
        source.withUnsafeBufferPointer { source in
            [T](unsafeUninitializedCapacity: counts.0 * counts.1 * counts.2) { out, count in
                var v = 0, plane = start
                for _ in 0..<counts.2 {
                    var row = plane
                    for _ in 0..<counts.1 {
                        var index = row
                        for _ in 0..<counts.0 {
                            (out.baseAddress! + v).initialize(to: source[index])
                            v += 1
                            index += steps.0
                        }
                        row += steps.1
                    }
                    plane += steps.2
                }
                count = v
            }
        }
    }
}
