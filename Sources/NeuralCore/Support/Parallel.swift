import Dispatch
import Foundation
import ImageCore

/// A pointer that may be captured by the worker closures of ``Parallel``.
///
/// Each worker writes a disjoint part of the buffer, which is what makes the
/// `@unchecked Sendable` promise true.
@usableFromInline
struct SharedPointer<Element>: @unchecked Sendable {
    @usableFromInline let base: UnsafeMutablePointer<Element>
    @inlinable init(_ base: UnsafeMutablePointer<Element>) { self.base = base }
    @inlinable init(_ base: UnsafePointer<Element>) { self.base = UnsafeMutablePointer(mutating: base) }
}

/// Thread settings of NeuralCore: the worker count of its parallel loops and matrix products.
public enum Threading {
    nonisolated(unsafe) private static var workers = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// The number of threads NeuralCore's loops use (default: the active processor count).
    public static var threadCount: Int { workers }

    /// Sets the thread count of NeuralCore's parallel loops, matrix products included (OpenBLAS
    /// itself stays single-threaded; NeuralCore splits large products over its workers).
    ///
    /// - Parameter count: threads, at least 1. Call it once at start-up, not while tensors are computed.
    public static func setThreadCount(_ count: Int) {
        precondition(count >= 1, "thread count must be at least 1")
        workers = count
    }
}

/// Chunked parallel loops: one closure call per chunk, never per element.
@usableFromInline
enum Parallel {
    /// Calls `body` on disjoint sub-ranges covering `0..<count`, in parallel when
    /// `count * costPerItem` exceeds `grain` (about 32 K simple float operations).
    @inlinable
    static func ranges(_ count: Int, costPerItem: Int = 1, grain: Int = 1 << 15, _ body: (Range<Int>) -> Void) {
        let threads = Threading.threadCount
        if count <= 0 { return }
        if threads == 1 || count * costPerItem < grain || count == 1 {
            body(0 ..< count)
            return
        }
        parallelRanges(count, pieces: threads, body)
    }

    /// Calls `body(i)` for every `i` in `0..<count`, spread over the threads when the total
    /// cost is large (`costPerItem` is in simple float operations).
    @inlinable
    static func forEach(_ count: Int, costPerItem: Int, _ body: (Int) -> Void) {
        ranges(count, costPerItem: costPerItem) { range in
            for i in range { body(i) }
        }
    }
}


