/// Geometry of a 2-D convolution or pooling window over an (H, W) plane.
struct WindowGeometry {
    let height: Int, width: Int
    let kernelH: Int, kernelW: Int
    let stride: Int, padding: Int
    var outH: Int { (height + 2 * padding - kernelH) / stride + 1 }
    var outW: Int { (width + 2 * padding - kernelW) / stride + 1 }

    /// The window of the adjoint of a stride-1 square convolution: its input gradient is the
    /// convolution of the output gradient, padded by k − 1 − p, with the flipped, transposed
    /// kernel (``TiledConv/flippedTransposedKernel(_:o:c:k:)``), over the output's extent. `nil`
    /// for other convolutions (their input gradient takes col2im).
    var adjoint: WindowGeometry? {
        guard stride == 1, kernelH == kernelW, padding <= kernelH - 1 else { return nil }
        return WindowGeometry(height: outH, width: outW, kernelH: kernelH, kernelW: kernelW, stride: 1, padding: kernelH - 1 - padding)
    }

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
    ///
    /// Every (kernel offset, output row) pair writes one short run of `outW` floats (4 to 64 in
    /// the networks' small maps): the runs go through ``RowCopy``'s inline vector moves instead
    /// of a `memmove`/`memset` call each, and stride 2 (the ResNet stem and its downsampling
    /// convolutions) takes every second float with one vector shuffle per 16 outputs instead of
    /// one scalar load and store per output, which a profile of the classifier's training put at
    /// 60% of this function's time.
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
                        RowCopy.zero(d, count: ow)
                        continue
                    }
                    let sRow = src + (oy * s - p + i) * g.width - p + j
                    if cols.lowerBound > 0 { RowCopy.zero(d, count: cols.lowerBound) }
                    let first = sRow + cols.lowerBound * s
                    if s == 1 {
                        RowCopy.copy(d + cols.lowerBound, first, count: cols.count)
                    } else if s == 2 {
                        // the row's readable floats from `first`: up to the end of the input row
                        RowCopy.gatherEven(d + cols.lowerBound, first, count: cols.count,
                                           readable: g.width + p - j - cols.lowerBound * 2)
                    } else {
                        for ox in cols { d[ox] = sRow[ox &* s] }
                    }
                    if cols.upperBound < ow { RowCopy.zero(d + cols.upperBound, count: ow - cols.upperBound) }
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
                        for ox in cols { dRow[ox &* s] += c[ox] }
                    }
                }
            }
        }
    }
}

/// Short runs of floats moved with inline SIMD loads and stores (unaligned), for the rows of a
/// convolution's columns: a library call per run of 4 to 64 floats costs more than the copy.
enum RowCopy {
    /// dst[0..<count] = src[0..<count] (the ranges do not overlap).
    @inline(__always)
    static func copy(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int) {
        if count >= 64 { dst.update(from: src, count: count); return }
        let s = UnsafeRawPointer(src), d = UnsafeMutableRawPointer(dst)
        if count >= 16 {
            var k = 0
            while k &+ 16 <= count {
                d.storeBytes(of: s.loadUnaligned(fromByteOffset: k &* 4, as: SIMD16<Float>.self), toByteOffset: k &* 4, as: SIMD16<Float>.self)
                k &+= 16
            }
            if k < count {
                // the last 16 again, overlapping what is written: same values
                let o = (count &- 16) &* 4
                d.storeBytes(of: s.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self), toByteOffset: o, as: SIMD16<Float>.self)
            }
        } else if count >= 8 {
            let o = (count &- 8) &* 4
            d.storeBytes(of: s.loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
            d.storeBytes(of: s.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self), toByteOffset: o, as: SIMD8<Float>.self)
        } else if count >= 4 {
            let o = (count &- 4) &* 4
            d.storeBytes(of: s.loadUnaligned(as: SIMD4<Float>.self), as: SIMD4<Float>.self)
            d.storeBytes(of: s.loadUnaligned(fromByteOffset: o, as: SIMD4<Float>.self), toByteOffset: o, as: SIMD4<Float>.self)
        } else if count > 0 {
            dst[0] = src[0]
            if count > 1 { dst[1] = src[1] }
            if count > 2 { dst[2] = src[2] }
        }
    }

    /// dst[0..<count] = 0.
    @inline(__always)
    static func zero(_ dst: UnsafeMutablePointer<Float>, count: Int) {
        if count >= 64 { dst.update(repeating: 0, count: count); return }
        let d = UnsafeMutableRawPointer(dst)
        var k = 0
        while k &+ 16 <= count { d.storeBytes(of: SIMD16<Float>(), toByteOffset: k &* 4, as: SIMD16<Float>.self); k &+= 16 }
        while k &+ 4 <= count { d.storeBytes(of: SIMD4<Float>(), toByteOffset: k &* 4, as: SIMD4<Float>.self); k &+= 4 }
        while k < count { dst[k] = 0; k &+= 1 }
    }

    /// dst[k] = src[2k] for k in 0..<count, reading no float at or past `src + readable`
    /// (`2·count − 1 <= readable`).
    @inline(__always)
    static func gatherEven(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int, readable: Int) {
        let s = UnsafeRawPointer(src), d = UnsafeMutableRawPointer(dst)
        var k = 0
        while k &+ 16 <= count && 2 &* k &+ 32 <= readable {
            let v = s.loadUnaligned(fromByteOffset: 8 &* k, as: SIMD32<Float>.self)
            d.storeBytes(of: v.evenHalf, toByteOffset: 4 &* k, as: SIMD16<Float>.self)
            k &+= 16
        }
        while k &+ 4 <= count && 2 &* k &+ 8 <= readable {
            let v = s.loadUnaligned(fromByteOffset: 8 &* k, as: SIMD8<Float>.self)
            d.storeBytes(of: v.evenHalf, toByteOffset: 4 &* k, as: SIMD4<Float>.self)
            k &+= 4
        }
        while k < count { dst[k] = src[2 &* k]; k &+= 1 }
    }
}
