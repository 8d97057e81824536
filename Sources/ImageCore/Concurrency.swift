import Dispatch
import Foundation

/// Carries a value across threads when the caller has made its concurrent use safe: workers
/// of one parallel pass writing disjoint indices through a pointer, or a closure that touches
/// disjoint state. The one unchecked-`Sendable` box of the package.
@usableFromInline
package struct UncheckedSendable<Value>: @unchecked Sendable {
    /// The carried value.
    @usableFromInline package let value: Value
    /// Wraps `value`.
    @inlinable package init(_ value: Value) { self.value = value }
}

extension UncheckedSendable {
    /// A mutable pointer box made from a read-only pointer (the workers only read through it).
    @inlinable package init<Element>(reading pointer: UnsafePointer<Element>) where Value == UnsafeMutablePointer<Element> {
        self.init(UnsafeMutablePointer(mutating: pointer))
    }
}

/// A raw buffer that the workers of one parallel pass fill, each writing only its own indices;
/// read it back with ``array()`` once they are done.
package final class SharedBuffer<T>: @unchecked Sendable {
    /// The elements.
    package let pointer: UnsafeMutablePointer<T>
    /// The number of elements.
    package let count: Int

    /// A buffer of `count` copies of `value`, released with the buffer.
    ///
    /// The fill copies the first element into doubling runs (`initialize(from:count:)`, one
    /// block copy per run for trivial types). `initialize(repeating:count:)` went through
    /// value witnesses one element at a time even when inlinable: 4% of phantom generation,
    /// three byte masks per case.
    /// - Precondition: `count` ≥ 0.
    @inlinable
    package init(count: Int, repeating value: T) {
        self.count = count
        pointer = .allocate(capacity: count)
        guard count > 0 else { return }
        pointer.initialize(to: value)
        var filled = 1
        while filled < count {
            let run = min(filled, count - filled)
            (pointer + filled).initialize(from: pointer, count: run)
            filled += run
        }
    }

    deinit {
        pointer.deinitialize(count: count)   // releases what non-trivial elements hold (arrays, results)
        pointer.deallocate()
    }

    /// A copy of the elements as an array (read after the workers are done).
    package func array() -> [T] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

/// Runs `body(i)` for `i` in `0 ..< iterations` concurrently and returns when all are done;
/// nothing for 0 or fewer iterations, and one call on the calling thread for 1.
///
/// `body` may write through unsafe pointers to disjoint places; callers keep the result
/// independent of scheduling (fixed chunks, reductions in chunk order).
@inlinable
package func parallelFor(_ iterations: Int, _ body: (Int) -> Void) {
    if iterations <= 0 { return }
    if iterations == 1 { body(0); return }
    withoutActuallyEscaping(body) { escapable in
        let box = UncheckedSendable(escapable)
        DispatchQueue.concurrentPerform(iterations: iterations) { box.value($0) }
    }
}

/// Calls `body` on `n = min(pieces, count)` (at least 1) contiguous, non-empty sub-ranges
/// covering `0 ..< count` (piece p is `count * p / n ..< count * (p + 1) / n`), in parallel;
/// nothing for `count` ≤ 0, and one call on the calling thread when `n` is 1.
@inlinable
package func parallelRanges(_ count: Int, pieces: Int, _ body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let n = max(1, min(pieces, count))
    if n == 1 { body(0 ..< count); return }
    parallelFor(n) { piece in
        let lo = count * piece / n, hi = count * (piece + 1) / n
        if lo < hi { body(lo ..< hi) }
    }
}
