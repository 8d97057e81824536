import CLAPACKE
import Foundation

/// Parameter initialisations as PyTorch and torchvision define them.
///
/// Every function draws from the caller's generator, so a seeded generator gives the same
/// tensor every time. The distributions match PyTorch's; the exact values cannot (different RNG).
public enum Initializers {
    /// One draw from the standard normal distribution (Box–Muller, in Double).
    @inlinable
    public static func standardNormal(using generator: inout some RandomNumberGenerator) -> Double {
        var u1 = 0.0
        repeat { u1 = Double.random(in: 0 ..< 1, using: &generator) } while u1 <= 0
        let u2 = Double.random(in: 0 ..< 1, using: &generator)
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    /// `count` draws from N(mean, std²).
    @inlinable
    public static func normal(count: Int, mean: Float = 0, std: Float, using generator: inout some RandomNumberGenerator) -> [Float] {
        (0 ..< count).map { _ in mean + std * Float(standardNormal(using: &generator)) }
    }

    /// `count` draws from U(-bound, bound).
    @inlinable
    public static func uniform(count: Int, bound: Float, using generator: inout some RandomNumberGenerator) -> [Float] {
        (0 ..< count).map { _ in Float(Double.random(in: -Double(bound) ..< Double(bound), using: &generator)) }
    }

    /// PyTorch's fan-in and fan-out of a weight of shape `(out, in, k...)`: fan_in = in·∏k, fan_out = out·∏k.
    @inlinable
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        precondition(shape.count >= 2, "fans need a weight of rank 2 or more, shape is \(shape)")
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// `kaiming_normal_(mode="fan_out", nonlinearity="relu")` (torchvision ResNet convolutions):
    /// N(0, std²) with std = √2 / √fan_out.
    @inlinable
    public static func kaimingNormalFanOut(_ shape: [Int], using generator: inout some RandomNumberGenerator) -> Tensor {
        let std = Float((2.0 / Double(fans(shape).fanOut)).squareRoot())
        return Tensor(shape: shape, data: normal(count: shape.reduce(1, *), std: std, using: &generator), requiresGrad: true)
    }

    /// PyTorch's default `nn.Conv2d` / `nn.Linear` weight, `kaiming_uniform_(a=√5)`:
    /// U(-b, b) with b = gain·√(3 / fan_in), gain = √(2 / (1 + a²)), i.e. b = 1/√fan_in.
    @inlinable
    public static func kaimingUniformDefault(_ shape: [Int], using generator: inout some RandomNumberGenerator) -> Tensor {
        let bound = Float(1 / Double(fans(shape).fanIn).squareRoot())
        return Tensor(shape: shape, data: uniform(count: shape.reduce(1, *), bound: bound, using: &generator), requiresGrad: true)
    }

    /// PyTorch's default bias of a layer with the given fan-in: U(-1/√fan_in, 1/√fan_in).
    @inlinable
    public static func defaultBias(count: Int, fanIn: Int, using generator: inout some RandomNumberGenerator) -> Tensor {
        let bound = fanIn > 0 ? Float(1 / Double(fanIn).squareRoot()) : 0
        return Tensor(shape: [count], data: uniform(count: count, bound: bound, using: &generator), requiresGrad: true)
    }

    /// `nn.init.orthogonal_(gain)`: a (semi-)orthogonal matrix from the QR decomposition of a
    /// Gaussian matrix (LAPACK sgeqrf + sorgqr), columns' signs fixed by sign(diag R) as torch does.
    /// Shapes of rank > 2 are flattened to `(shape[0], rest)`.
    public static func orthogonal(_ shape: [Int], gain: Float = 1, using generator: inout some RandomNumberGenerator) -> Tensor {
        precondition(shape.count >= 2, "orthogonal needs a rank ≥ 2 shape, got \(shape)")
        let rows = shape[0], cols = shape.dropFirst().reduce(1, *)
        // torch: flat = randn(rows, cols); if rows < cols, flat.t_(); QR of the tall matrix.
        let m = max(rows, cols), n = min(rows, cols)
        var a = normal(count: m * n, std: 1, using: &generator)   // row-major m×n
        var tau = [Float](repeating: 0, count: n)
        var diag = [Float](repeating: 0, count: n)
        a.withUnsafeMutableBufferPointer { pa in
            tau.withUnsafeMutableBufferPointer { pt in
                let info = LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, Int32(m), Int32(n), pa.baseAddress, Int32(n), pt.baseAddress)
                precondition(info == 0, "sgeqrf failed with info \(info)")
                for i in 0 ..< n { diag[i] = pa[i * n + i] }
                let info2 = LAPACKE_sorgqr(LAPACK_ROW_MAJOR, Int32(m), Int32(n), Int32(n), pa.baseAddress, Int32(n), pt.baseAddress)
                precondition(info2 == 0, "sorgqr failed with info \(info2)")
            }
        }
        // q *= sign(diag(r)) per column.
        for i in 0 ..< m { for j in 0 ..< n where diag[j] < 0 { a[i * n + j] = -a[i * n + j] } }
        var out = [Float](repeating: 0, count: rows * cols)
        if rows < cols {
            for i in 0 ..< m { for j in 0 ..< n { out[j * cols + i] = gain * a[i * n + j] } }   // transpose back
        } else {
            for i in 0 ..< m * n { out[i] = gain * a[i] }
        }
        return Tensor(shape: shape, data: out, requiresGrad: true)
    }
}
