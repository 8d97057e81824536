import CCBLAS

/// Single-precision GEMM on raw row-major buffers: `C = alpha * op(A) op(B) + beta * C`.
@usableFromInline
enum BLAS {
    /// - Parameters: `m`, `n`, `k`: op(A) is m×k, op(B) is k×n; `lda`, `ldb`, `ldc` row strides.
    @inlinable
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 { for i in 0 ..< m { for j in 0 ..< n { c[i * ldc + j] = 0 } } }
            return
        }
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
