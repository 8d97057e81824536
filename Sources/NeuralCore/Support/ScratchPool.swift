import Foundation

/// Reusable float buffers for temporaries (im2col columns, GEMM outputs), so that training
/// steps do not fault in fresh pages for every convolution.
final class ScratchPool: @unchecked Sendable {
    static let shared = ScratchPool()
    private let lock = NSLock()
    private var free: [(pointer: UnsafeMutablePointer<Float>, capacity: Int)] = []

    /// Runs `body` with a buffer of at least `count` floats (contents undefined), then returns it to the pool.
    func with<R>(count: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        let n = max(count, 1)
        lock.lock()
        var buffer: (pointer: UnsafeMutablePointer<Float>, capacity: Int)
        if let k = free.indices.filter({ free[$0].capacity >= n }).min(by: { free[$0].capacity < free[$1].capacity }) {
            buffer = free.remove(at: k)
        } else {
            buffer = (UnsafeMutablePointer<Float>.allocate(capacity: n), n)
        }
        lock.unlock()
        defer {
            lock.lock()
            free.append(buffer)
            // Keep the pool bounded: drop the smallest buffers beyond eight.
            if free.count > 8 {
                free.sort { $0.capacity > $1.capacity }
                while free.count > 8 { free.removeLast().pointer.deallocate() }
            }
            lock.unlock()
        }
        return body(buffer.pointer)
    }
}
