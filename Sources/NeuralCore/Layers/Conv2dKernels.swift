/// Geometry of a 2-D convolution or pooling window over an (H, W) plane.
struct WindowGeometry {
    let height: Int, width: Int
    let kernelH: Int, kernelW: Int
    let stride: Int, padding: Int
    var outH: Int { (height + 2 * padding - kernelH) / stride + 1 }
    var outW: Int { (width + 2 * padding - kernelW) / stride + 1 }

    /// Output columns `ox` whose input column `ox*stride - padding + j` lies inside `0..<width`.
    @inline(__always)
    func validRange(offset j: Int, extent: Int, outExtent: Int) -> Range<Int> {
        // ix = ox*s - p + j in [0, extent)  <=>  ox in [ceil((p-j)/s), floor((extent-1+p-j)/s)]
        let lo = max(0, (padding - j + stride - 1) / stride)
        let top = extent - 1 + padding - j
        let hi = top < 0 ? -1 : min(outExtent - 1, top / stride)
        return lo <= hi ? lo ..< hi + 1 : lo ..< lo
    }
}

enum ConvKernels {
    /// Writes the columns of one image plane-channel into `col` rows `c*kh*kw ..< (c+1)*kh*kw`,
    /// columns `colOffset ..< colOffset + outRows.count*outW`, row stride `ld`; `outRows` (default
    /// all) restricts the columns to those output rows (a spatial tile).
    static func im2col(_ src: UnsafePointer<Float>, _ g: WindowGeometry, _ col: UnsafeMutablePointer<Float>, colOffset: Int, ld: Int,
                       outRows: Range<Int>? = nil) {
        let oh = g.outH, ow = g.outW, s = g.stride, p = g.padding
        let tile = outRows ?? 0 ..< oh
        for i in 0 ..< g.kernelH {
            let rows = g.validRange(offset: i, extent: g.height, outExtent: oh)
            for j in 0 ..< g.kernelW {
                let dst = col + (i * g.kernelW + j) * ld + colOffset
                let cols = g.validRange(offset: j, extent: g.width, outExtent: ow)
                for oy in tile {
                    let d = dst + (oy - tile.lowerBound) * ow
                    if !rows.contains(oy) || cols.isEmpty {
                        d.update(repeating: 0, count: ow)
                        continue
                    }
                    let sRow = src + (oy * s - p + i) * g.width - p + j
                    if cols.lowerBound > 0 { d.update(repeating: 0, count: cols.lowerBound) }
                    if s == 1 {
                        (d + cols.lowerBound).update(from: sRow + cols.lowerBound, count: cols.count)
                    } else {
                        for ox in cols { d[ox] = sRow[ox * s] }
                    }
                    if cols.upperBound < ow { (d + cols.upperBound).update(repeating: 0, count: ow - cols.upperBound) }
                }
            }
        }
    }

    /// Adds the columns back into one image channel plane (the adjoint of ``im2col``).
    static func col2im(_ col: UnsafePointer<Float>, colOffset: Int, ld: Int, _ g: WindowGeometry, _ dst: UnsafeMutablePointer<Float>) {
        let oh = g.outH, ow = g.outW, s = g.stride, p = g.padding
        for i in 0 ..< g.kernelH {
            let rows = g.validRange(offset: i, extent: g.height, outExtent: oh)
            for j in 0 ..< g.kernelW {
                let cRow = col + (i * g.kernelW + j) * ld + colOffset
                let cols = g.validRange(offset: j, extent: g.width, outExtent: ow)
                if cols.isEmpty { continue }
                for oy in rows {
                    let c = cRow + oy * ow
                    let dRow = dst + (oy * s - p + i) * g.width - p + j
                    if s == 1 {
                        for ox in cols { dRow[ox] += c[ox] }
                    } else {
                        for ox in cols { dRow[ox * s] += c[ox] }
                    }
                }
            }
        }
    }
}
