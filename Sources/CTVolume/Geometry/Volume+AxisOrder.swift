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
        var indices = [Int](repeating: 0, count: stored.count)
        var v = 0
        for k in 0..<m[2] {
            for j in 0..<m[1] {
                for i in 0..<m[0] {
                    let s = [i, j, k]
                    var l = [0, 0, 0]
                    for a in 0..<3 { l[order[a]] = reversed[a] ? m[a] - 1 - s[a] : s[a] }
                    indices[v] = shape.index(l[0], l[1], l[2])
                    v += 1
                }
            }
        }
        let voxels = indices.map { self.voxels[$0] }
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
}
