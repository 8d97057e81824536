import CCBLAS
import Dispatch

/// Single-precision GEMM on raw row-major buffers: `C = alpha * op(A) op(B) + beta * C`.
///
/// OpenBLAS runs single-threaded; large products are split into column (or row) panels that
/// run on NeuralCore's own workers. OpenBLAS's own threads would otherwise spin (sched_yield)
/// between calls and compete with the im2col / BatchNorm loops for the same two cores. Every
/// element of C is computed by the same kernel whatever the split, so results do not depend on
/// the thread count.
enum BLAS {
    /// Set once, before the first product.
    static let singleThreadedOpenBLAS: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    /// Products below this many multiply-adds run on the calling thread.
    static let parallelThreshold = 1 << 21

    /// - Parameters: `m`, `n`, `k`: op(A) is m×k, op(B) is k×n; `lda`, `ldb`, `ldc` row strides.
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 { for i in 0 ..< m { for j in 0 ..< n { c[i * ldc + j] = 0 } } }
            else if beta != 1 { for i in 0 ..< m { for j in 0 ..< n { c[i * ldc + j] *= beta } } }
            return
        }
        _ = singleThreadedOpenBLAS
        let threads = Threading.threadCount
        guard threads > 1, m * n * k >= parallelThreshold, max(m, n) >= 2 * 16 else {
            call(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        let pa = SharedPointer(a), pb = SharedPointer(b), pc = SharedPointer(c)
        let splitColumns = n >= m
        let extent = splitColumns ? n : m
        let pieces = min(threads, extent / 16)
        DispatchQueue.concurrentPerform(iterations: pieces) { piece in
            // Panel boundaries on multiples of 16 (the kernels' register blocking).
            let lo = (extent * piece / pieces) / 16 * 16
            let hi = piece == pieces - 1 ? extent : (extent * (piece + 1) / pieces) / 16 * 16
            guard lo < hi else { return }
            if splitColumns {
                // Columns lo..<hi of op(B) and C.
                let bOffset = transB ? lo * ldb : lo
                call(transA, transB, m, hi - lo, k, alpha, UnsafePointer(pa.base), lda, UnsafePointer(pb.base + bOffset), ldb, beta, pc.base + lo, ldc)
            } else {
                // Rows lo..<hi of op(A) and C.
                let aOffset = transA ? lo : lo * lda
                call(transA, transB, hi - lo, n, k, alpha, UnsafePointer(pa.base + aOffset), lda, UnsafePointer(pb.base), ldb, beta, pc.base + lo * ldc, ldc)
            }
        }
    }

    /// One single-threaded `cblas_sgemm` call (row-major), arguments as in ``gemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``.
    static func call(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                             _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                             _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

extension Tensor {
    /// Matrix product of `(m, k)` and `(k, n)` matrices, through `cblas_sgemm`.
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(rank == 2 && other.rank == 2 && shape[1] == other.shape[0], "matmul: shapes \(shape) and \(other.shape)")
        let m = shape[0], k = shape[1], n = other.shape[1]
        let a = self, b = other
        let out = Tensor(shape: [m, n]) { c in
            a.data.withUnsafeBufferPointer { pa in
                b.data.withUnsafeBufferPointer { pb in
                    BLAS.gemm(transA: false, transB: false, m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: n, beta: 0, c: c.baseAddress!, ldc: n)
                }
            }
        }
        return Tensor.record(out, parents: [a, b], name: "matmul") { g, needs in
            var ga: Tensor? = nil, gb: Tensor? = nil
            g.data.withUnsafeBufferPointer { pg in
                if needs[0] {   // dA = G B^T
                    ga = Tensor(shape: [m, k]) { c in
                        b.data.withUnsafeBufferPointer { pb in
                            BLAS.gemm(transA: false, transB: true, m: m, n: k, k: n, a: pg.baseAddress!, lda: n, b: pb.baseAddress!, ldb: n, beta: 0, c: c.baseAddress!, ldc: k)
                        }
                    }
                }
                if needs[1] {   // dB = A^T G
                    gb = Tensor(shape: [k, n]) { c in
                        a.data.withUnsafeBufferPointer { pa in
                            BLAS.gemm(transA: true, transB: false, m: k, n: n, k: m, a: pa.baseAddress!, lda: k, b: pg.baseAddress!, ldb: n, beta: 0, c: c.baseAddress!, ldc: n)
                        }
                    }
                }
            }
            return [ga, gb]
        }
    }
}

/// Matrix product as a free function (see ``Tensor/matmul(_:)``).
public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor { a.matmul(b) }
