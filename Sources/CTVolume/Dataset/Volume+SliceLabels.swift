extension Volume where Voxel == UInt8 {
    /// Weak, image-level labels: 1 for each axial slice `k` holding any voxel > 0, else 0.
    ///
    /// `labels[k] = max over (i, j) of [mask(i, j, k) > 0]`, exactly `ichnets.slice_labels`.
    /// Complexity: O(voxels), stopping early in each positive slice.
    public var sliceLabels: [Float] {
        let n = shape.sliceCount
        return voxels.withUnsafeBufferPointer { v in
            (0..<shape.z).map { k in
                v[(k * n)..<((k + 1) * n)].contains { $0 > 0 } ? 1 : 0
            }
        }
    }
}
