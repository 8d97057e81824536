#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ImageCore

extension PhantomRenderer {
    /// Beam-hardening near the skull base: brightening of brain next to bone, a dark band
    /// between the petrous bones (the Hounsfield bar), and streaks from the dense bone.
    func applyArtefacts(z: Double, img: inout [Double], inside: [Bool], centralDepth: [Double]) {
        let h = head
        let n = nx * ny
        let bf = skullBaseFactor(z)
        for p in 0..<n where inside[p] {
            let d = max(0, centralDepth[p])
            img[p] += h.pseudoEnhancement * exp(-d / h.pseudoEnhancementLength)
        }
        guard bf > 0.01 else { return }
        let barV = 0.2 * h.b
        let trig = h.streaks.map { (sin($0.angle), cos($0.angle)) }
        for p in 0..<n where img[p] > -500 {
            let dv = (pv[p] - barV) / 5, du = pu[p] / (0.55 * h.a)
            img[p] -= bf * h.hounsfieldBar * exp(-dv * dv / 2 - du * du * du * du)
            for (index, s) in h.streaks.enumerated() {
                let (sa, ca) = trig[index]
                let dist = (pu[p] - s.pu) * sa - (pv[p] - s.pv) * ca
                let w = dist / s.width
                if w * w < 20 {
                    // A streak fades with distance from the bone it starts at.
                    let along = abs((pu[p] - s.pu) * ca + (pv[p] - s.pv) * sa)
                    img[p] += bf * s.amplitude * exp(-w * w / 2 - along / 45)
                }
            }
        }
    }
}

/// A normalised 1-D Gaussian kernel of standard deviation `sigma` pixels, radius ceil(3 sigma).
func gaussianKernel(sigma: Double) -> [Double] {
    guard sigma > 0.05 else { return [1] }
    let radius = max(1, Int((3 * sigma).rounded(.up)))
    var k = (-radius...radius).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
    let s = k.reduce(0, +)
    for i in k.indices { k[i] /= s }
    return k
}

/// In-place separable convolution of a row-major `ny x nx` image, edges clamped.
func separableBlur(_ img: inout [Double], nx: Int, ny: Int, kernel: [Double]) {
    let r = kernel.count / 2
    guard r > 0, nx > 2 * r, ny > 2 * r else { return }
    var tmp = [Double](repeating: 0, count: img.count)
    kernel.withUnsafeBufferPointer { k in
        img.withUnsafeMutableBufferPointer { im in
            tmp.withUnsafeMutableBufferPointer { tp in
                // Rows: clamped taps only near the ends of each row.
                for j in 0..<ny {
                    let row = im.baseAddress! + j * nx, out = tp.baseAddress! + j * nx
                    for i in 0..<nx {
                        var acc = 0.0
                        if i >= r && i < nx - r {
                            for t in 0...(2 * r) { acc += k[t] * row[i - r + t] }
                        } else {
                            for t in 0...(2 * r) { acc += k[t] * row[min(nx - 1, max(0, i - r + t))] }
                        }
                        out[i] = acc
                    }
                }
                // Columns: each output row is a weighted sum of whole input rows (vectorises).
                for j in 0..<ny {
                    let out = im.baseAddress! + j * nx
                    for i in 0..<nx { out[i] = 0 }
                    for t in 0...(2 * r) {
                        let jj = min(ny - 1, max(0, j - r + t))
                        let src = tp.baseAddress! + jj * nx
                        let w = k[t]
                        for i in 0..<nx { out[i] += w * src[i] }
                    }
                }
            }
        }
    }
}

/// Adds white Gaussian noise of standard deviation `sd` to every pixel, drawn by Marsaglia's
/// polar method (pairs of normal deviates without trigonometry) from `g`.
func addGaussianNoise(_ img: inout [Double], sd: Double, using g: inout SeededGenerator) {
    let n = img.count
    var p = 0
    while p < n {
        let a = 2 * g.nextUniform() - 1, b = 2 * g.nextUniform() - 1
        let q = a * a + b * b
        if q >= 1 || q == 0 { continue }
        let f = (-2 * log(q) / q).squareRoot() * sd
        img[p] += a * f
        if p + 1 < n { img[p + 1] += b * f }
        p += 2
    }
}
