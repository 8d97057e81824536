import Foundation
import Testing
import CTVolume

/// `SquareFrame`: where a slice sits in its square, padding and cropping.
@Suite struct SquareFrameTests {
    @Test("side, top and left: the slice in the middle, an odd margin's extra row or column after it")
    func placement() {
        let wide = SquareFrame(height: 192, width: 256)
        #expect(wide.side == 256 && wide.top == 32 && wide.left == 0 && !wide.isSquare)
        let tall = SquareFrame(height: 9, width: 4)
        #expect(tall.side == 9 && tall.top == 0 && tall.left == 2)   // 2 columns before, 3 after
        let square = SquareFrame(GridShape(7, 7, 3))
        #expect(square.isSquare && square.side == 7 && square.top == 0 && square.left == 0)
        #expect(SquareFrame(GridShape(5, 3, 1)) == SquareFrame(height: 3, width: 5))
    }

    @Test("pad puts every pixel at (top + r, left + c) and fills the rest; crop takes them back")
    func padAndCrop() {
        for (h, w) in [(3, 6), (4, 9), (9, 4), (5, 5)] {
            let frame = SquareFrame(height: h, width: w)
            let image = (0..<(h * w)).map { Float($0) + 1 }
            let padded = frame.pad(image, fill: -7)
            #expect(padded.count == frame.side * frame.side)
            for r in 0..<frame.side {
                for c in 0..<frame.side {
                    let (ir, ic) = (r - frame.top, c - frame.left)
                    let inside = ir >= 0 && ir < h && ic >= 0 && ic < w
                    #expect(padded[r * frame.side + c] == (inside ? image[ir * w + ic] : -7), "\(h)x\(w) at \(r),\(c)")
                }
            }
            #expect(frame.crop(padded) == image)
            #expect(padded.filter { $0 == -7 }.count == frame.side * frame.side - h * w)
        }
        // a square image is its own frame
        let square = SquareFrame(height: 4, width: 4), image = (0..<16).map(Float.init)
        #expect(square.pad(image, fill: 0) == image && square.crop(image) == image)
    }

    @Test("Preprocessing.resample pads with air (or the fill given) before the network rule")
    func resampleFrames() {
        var g = LCG(seed: 3)
        let image = (0..<(10 * 16)).map { _ in g.nextFloat() * 2000 - 1000 }
        let frame = SquareFrame(height: 10, width: 16)
        #expect(Preprocessing.resample(image, height: 10, width: 16, size: 8)
                == Resampler.network(height: 16, width: 16, size: 8)(frame.pad(image, fill: Preprocessing.air)))
        #expect(Preprocessing.resample(image, height: 10, width: 16, size: 8, fill: 0)
                == Resampler.network(height: 16, width: 16, size: 8)(frame.pad(image, fill: 0)))
        // a stack in parallel (above the threshold) equals image by image
        let z = 40
        let stack = (0..<(z * 30 * 44)).map { _ in g.nextFloat() * 3000 - 1000 }
        let all = Preprocessing.resampleStack(stack, height: 30, width: 44, count: z, size: 40)
        for k in [0, 17, 39] {
            #expect(Array(all[(k * 1600)..<((k + 1) * 1600)])
                    == Preprocessing.resample(stack[(k * 30 * 44)..<((k + 1) * 30 * 44)], height: 30, width: 44, size: 40))
        }
        // and the way back, in parallel, equals map by map (odd margin: 44 - 29 = 15 rows)
        let maps = (0..<(z * 1600)).map { _ in g.nextFloat() }
        let back = Preprocessing.resizeToVolume(maps, size: 40, shape: GridShape(44, 29, z))
        for k in [0, 21, 39] {
            #expect(Array(back[(k * 29 * 44)..<((k + 1) * 29 * 44)])
                    == Preprocessing.resizeToSlice(maps[(k * 1600)..<((k + 1) * 1600)], size: 40, height: 29, width: 44))
        }
    }
}
