import CCBLAS

/// Keeps large tensor buffers in the heap so that freed activations and gradients are reused
/// instead of being returned to the kernel and faulted in again, page by page, at the next step.
///
/// glibc serves allocations above its mmap threshold (at most 32 MB by its dynamic rule; a
/// UNetLite activation of 8 x 16 x 256 x 256 floats is 33.5 MB) with a fresh `mmap` and unmaps
/// them on `free`: every training step then pays a page fault and a page clearing per 4 KB of
/// every activation and gradient (12 % of the UNetLite training profile; Docs/neuralcore.md). Applied once, when
/// the first ``Tensor`` is created: `M_MMAP_THRESHOLD` 1 GB (only larger blocks are mapped),
/// `M_TRIM_THRESHOLD` 1 GB (free memory at the top of the heap is kept up to that size) and
/// `M_TOP_PAD` 64 MB (the heap grows in steps of that much). Peak memory is unchanged up to
/// fragmentation (a few percent measured); memory freed stays owned by the process for reuse.
/// No effect on other C libraries.
enum AllocatorTuning {
    /// `true` once the settings are applied (evaluated once).
    static let applied: Bool = {
        #if canImport(Glibc)
        _ = mallopt(M_MMAP_THRESHOLD, 1 << 30)
        _ = mallopt(M_TRIM_THRESHOLD, 1 << 30)
        _ = mallopt(M_TOP_PAD, 64 << 20)
        return true
        #else
        return false
        #endif
    }()
}
