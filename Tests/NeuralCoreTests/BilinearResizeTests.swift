import Foundation
@testable import NeuralCore
import Testing

/// The enlarging path of bilinear resizing (each input row interpolated across once, then
/// rows blended) against the formula it replaced, bit for bit, for the UNetLite's doubling
/// and for sizes that are not multiples.
@Suite struct BilinearResizeTests {
    @Test(arguments: [(4, 5, 8, 10), (16, 16, 32, 32), (3, 7, 9, 4), (1, 6, 5, 12), (8, 8, 128, 128), (5, 5, 5, 5)])
    func enlargingEqualsTheFormula(h: Int, w: Int, outH: Int, outW: Int) {
        var state: UInt64 = 0x1234_5678 &+ UInt64(h * 31 + w)
        func next() -> Float { state = state &* 6364136223846793005 &+ 1442695040888963407; return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 37 }
        let n = 2, c = 3
        let values = (0..<(n * c * h * w)).map { _ in next() }
        let y = bilinearResize(Tensor(shape: [n, c, h, w], data: values), height: outH, width: outW).data
        let rows = BilinearTaps(inSize: h, outSize: outH), cols = BilinearTaps(inSize: w, outSize: outW)
        var expected = [Float]()
        for plane in 0..<(n * c) {
            let p = Array(values[(plane * h * w)..<((plane + 1) * h * w)])
            for oy in 0..<outH {
                let r0 = rows.i0[oy] * w, r1 = rows.i1[oy] * w, a0 = rows.l0[oy], a1 = rows.l1[oy]
                for ox in 0..<outW {
                    let c0 = cols.i0[ox], c1 = cols.i1[ox], b0 = cols.l0[ox], b1 = cols.l1[ox]
                    let top = b0 * p[r0 + c0] + b1 * p[r0 + c1]
                    let bottom = b0 * p[r1 + c0] + b1 * p[r1 + c1]
                    expected.append(a0 * top + a1 * bottom)
                }
            }
        }
        #expect(y.map(\.bitPattern) == expected.map(\.bitPattern), "\(h)x\(w) -> \(outH)x\(outW)")
    }
}
