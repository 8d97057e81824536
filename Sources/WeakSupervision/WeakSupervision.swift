// WeakSupervision: from slice-level labels to voxel masks. The non-neural stages of the
// method (method.md sections 5, 6 and 10): CAM thresholds, k-means, pseudo-masks, connected
// components and the baselines of the comparison table. This file holds the module's small
// internal helpers.
import Dispatch

/// Runs `body(i)` for `i` in `0 ..< iterations` concurrently and returns when all are done.
///
/// `body` may write through unsafe pointers to disjoint places; callers keep the result
/// independent of scheduling (fixed chunks, reductions in chunk order).
func parallelFor(_ iterations: Int, _ body: (Int) -> Void) {
    if iterations <= 0 { return }
    if iterations == 1 { body(0); return }
    withoutActuallyEscaping(body) { escapable in
        let box = UncheckedSendable(escapable)
        DispatchQueue.concurrentPerform(iterations: iterations) { box.value($0) }
    }
}

/// Carries a value the caller knows is used safely across threads.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
