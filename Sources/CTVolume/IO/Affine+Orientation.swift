extension Affine {
    /// The anatomical direction each voxel axis points to, as nibabel's `aff2axcodes` gives it:
    /// "RAS" when i runs to the Right, j to Anterior, k to Superior; "LPS" for DICOM-like
    /// order; "?" for an axis the affine collapses.
    ///
    /// Algorithm (nibabel `io_orientation`): divide each column of the 3 x 3 part by its
    /// length, replace that matrix by its closest orthogonal matrix (the polar factor
    /// `U Vᵀ` of its SVD `U S Vᵀ`, keeping singular values above `1e-10 * max`), then for
    /// each voxel axis in turn take the world axis with the largest absolute entry in its column,
    /// its sign giving R/L, A/P or S/I, and remove that world axis from later choices. Axes are
    /// visited most decided first (largest `max |column entry|`, ties in i, j, k order), as
    /// nibabel 5 does.
    public var axisCodes: String {
        var rs = [[Double]](repeating: [0, 0, 0], count: 3)
        for c in 0..<3 {
            var norm = 0.0
            for r in 0..<3 { norm += self[r, c] * self[r, c] }
            norm = norm.squareRoot()
            if norm == 0 { norm = 1 }
            for r in 0..<3 { rs[r][c] = self[r, c] / norm }
        }
        var rot = Affine.polarFactor(rs)
        let labels: [(negative: Character, positive: Character)] = [("L", "R"), ("P", "A"), ("I", "S")]
        var codes: [Character] = ["?", "?", "?"]
        let decided = (0..<3).map { c in (0..<3).map { rot[$0][c] * rot[$0][c] }.max()! }
        let order = (0..<3).sorted { decided[$0] > decided[$1] || (decided[$0] == decided[$1] && $0 < $1) }
        for inAxis in order {
            let column = (0..<3).map { rot[$0][inAxis] }
            guard (column.map(abs).max() ?? 0) > 1e-8 else { continue }
            var outAxis = 0
            for r in 1..<3 where abs(column[r]) > abs(column[outAxis]) { outAxis = r }
            codes[inAxis] = column[outAxis] < 0 ? labels[outAxis].negative : labels[outAxis].positive
            for c in 0..<3 { rot[outAxis][c] = 0 }
        }
        return String(codes)
    }

    /// The closest orthogonal matrix `U Vᵀ` to a 3 x 3 matrix `A = U S Vᵀ`, dropping singular
    /// directions with `s <= 1e-10 * max(s)`. `V` and `S²` come from a Jacobi eigen-decomposition
    /// of `AᵀA`; `u_k = A v_k / s_k`.
    static func polarFactor(_ a: [[Double]]) -> [[Double]] {
        // m = AᵀA (symmetric).
        var m = [[Double]](repeating: [0, 0, 0], count: 3)
        for i in 0..<3 { for j in 0..<3 { for r in 0..<3 { m[i][j] += a[r][i] * a[r][j] } } }
        var v: [[Double]] = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
        for _ in 0..<50 {
            var off = 0.0
            for i in 0..<3 { for j in 0..<3 where i != j { off += m[i][j] * m[i][j] } }
            if off < 1e-30 { break }
            for (p, q) in [(0, 1), (0, 2), (1, 2)] where m[p][q] != 0 {
                // Classic Jacobi rotation annihilating m[p][q].
                let theta = (m[q][q] - m[p][p]) / (2 * m[p][q])
                let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                let c = 1 / (t * t + 1).squareRoot(), s = t * c
                for k in 0..<3 {
                    let mkp = m[k][p], mkq = m[k][q]
                    m[k][p] = c * mkp - s * mkq
                    m[k][q] = s * mkp + c * mkq
                }
                for k in 0..<3 {
                    let mpk = m[p][k], mqk = m[q][k]
                    m[p][k] = c * mpk - s * mqk
                    m[q][k] = s * mpk + c * mqk
                }
                for k in 0..<3 {
                    let vkp = v[k][p], vkq = v[k][q]
                    v[k][p] = c * vkp - s * vkq
                    v[k][q] = s * vkp + c * vkq
                }
            }
        }
        let sing = (0..<3).map { max(m[$0][$0], 0).squareRoot() }
        let smax = sing.max() ?? 0
        var out = [[Double]](repeating: [0, 0, 0], count: 3)
        for k in 0..<3 where sing[k] > 1e-10 * smax && sing[k] > 0 {
            // u_k = A v_k / s_k; out += u_k v_kᵀ
            let u = (0..<3).map { r in (0..<3).reduce(0.0) { $0 + a[r][$1] * v[$1][k] } / sing[k] }
            for r in 0..<3 { for c in 0..<3 { out[r][c] += u[r] * v[c][k] } }
        }
        return out
    }
}
