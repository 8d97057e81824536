import Dispatch
import Foundation

/// Runs `work(i)` for every `i` in `0 ..< count`, `workers` indices at a time in parallel, and
/// hands each chunk's results to `deliver` in index order before the next chunk starts: per-item
/// work such as drawing a case and writing its gzip file runs on every core, while what follows
/// it (tables, manifests, progress) sees the items in order, whatever the scheduling.
///
/// Every item of a chunk runs to its end; then its results are delivered in index order up
/// to the first error (of `work` or of `deliver`), which is thrown. Items of later chunks do
/// not start.
///
/// - Parameters:
///   - count: items (0 or fewer does nothing).
///   - workers: items run at once (default ``defaultChunkWorkers``: the active processors, at most 4); values below 1 count as 1.
///   - work: called from several threads at once, for disjoint indices; must not share mutable state.
///   - deliver: called on the calling thread, in index order.
package func forEachInOrderedChunks<T>(count: Int, workers: Int = defaultChunkWorkers, work: (Int) throws -> T,
                                       deliver: (Int, T) throws -> Void) throws {
    let width = max(1, workers)
    var start = 0
    while start < count {
        let n = min(width, count - start), base = start
        let slots = SharedBuffer<Result<T, Error>?>(count: n, repeating: nil)
        withoutActuallyEscaping(work) { escapable in
            let box = UncheckedSendable(escapable)   // the items touch disjoint state
            if n == 1 {
                slots.pointer[0] = Result { try box.value(base) }
            } else {
                DispatchQueue.concurrentPerform(iterations: n) { j in slots.pointer[j] = Result { try box.value(base + j) } }
            }
        }
        for j in 0..<n { try deliver(base + j, try slots.pointer[j]!.get()) }
        start += n
    }
}

/// Items ``forEachInOrderedChunks(count:workers:work:deliver:)`` runs at once by default: the
/// active processors, at most 4 (reading and writing gzip is serial per file, so more would
/// mostly hold more cases in memory).
package var defaultChunkWorkers: Int { max(1, min(ProcessInfo.processInfo.activeProcessorCount, 4)) }
