import CTVolume
import Foundation
import NeuralCore
import Testing
import WeakSupervision

/// A head 32 wide and 24 high (air around it), and the same head in a 32 x 32 square with four
/// rows of air above and below: the square frame the networks see the first one in.
private func heads() -> (cut: ScanVolume, square: ScanVolume, cutMask: MaskVolume, squareMask: MaskVolume) {
    let (x, y, z, margin) = (32, 24, 3, 4)
    var cut = [Float](repeating: -1000, count: x * y * z), mask = [UInt8](repeating: 0, count: x * y * z)
    for k in 0..<z {
        for j in 0..<y {
            for i in 0..<x {
                let r = (pow((Double(i) - 15.5) / 14, 2) + pow((Double(j) - 11.5) / 10.5, 2)).squareRoot()
                var v: Float = r < 1 ? 1200 : -1000
                if r < 0.85 { v = 35 + Float((i * 7 + j * 3 + k) % 5) + Float(i % 3) }
                if k >= 1 && (i - 20) * (i - 20) + (j - 9) * (j - 9) < 10 { v = 70; mask[i + x * (j + y * k)] = 1 }
                cut[i + x * (j + y * k)] = v
            }
        }
    }
    let geometry = Geometry(spacing: SIMD3(7, 7, 5))
    var square = [Float](repeating: -1000, count: x * x * z), squareMask = [UInt8](repeating: 0, count: x * x * z)
    for k in 0..<z {
        for j in 0..<y {
            for i in 0..<x {
                square[i + x * (j + margin + x * k)] = cut[i + x * (j + y * k)]
                squareMask[i + x * (j + margin + x * k)] = mask[i + x * (j + y * k)]
            }
        }
    }
    return (ScanVolume(shape: GridShape(x, y, z), voxels: cut, geometry: geometry),
            ScanVolume(shape: GridShape(x, x, z), voxels: square, geometry: geometry),
            MaskVolume(shape: GridShape(x, y, z), voxels: mask, geometry: geometry),
            MaskVolume(shape: GridShape(x, x, z), voxels: squareMask, geometry: geometry))
}

/// Rows `margin ..< margin + height` of every slice of a `width x width x z` volume's voxels.
private func middleRows<T>(_ voxels: [T], width: Int, height: Int, margin: Int, slices: Int) -> [T] {
    var out: [T] = []
    for k in 0..<slices {
        let start = (k * width + margin) * width
        out += voxels[start..<(start + height * width)]
    }
    return out
}

/// A slice that is not square is padded with air to its square frame, not stretched: a head cut
/// out of the middle of a square of air gets the numbers the square gets, on its own voxels.
@Suite("Slices that are not square, in the networks")
struct SquareFrameInferenceTests {
    let classifier = ResNetLSTM(config: ResNetLSTMConfig(inputSize: 16, width: 2, blocks: [1, 1], hidden: 3), seed: 21)
    let refiner = UNetLite(config: UNetLiteConfig(inputSize: 16, widths: [2, 4]), seed: 22)

    @Test("the network input of a 32 x 24 head is that of the same head in a 32 x 32 square of air, bit for bit")
    func preprocessing() throws {
        let (cut, square, cutMask, squareMask) = heads()
        #expect(Preprocessing.preprocess(cut, size: 16) == Preprocessing.preprocess(square, size: 16))
        #expect(Preprocessing.preprocess(cut, size: 48) == Preprocessing.preprocess(square, size: 48))
        // training cases: the scan's HU and the mask's targets (padded with 0) alike
        let a = try PreparedCase(name: "cut", scan: cut, labels: cutMask.sliceLabels, mask: cutMask, size: 16, windows: Window.defaults)
        let b = try PreparedCase(name: "square", scan: square, labels: squareMask.sliceLabels, mask: squareMask, size: 16, windows: Window.defaults)
        #expect(a.slices(0..<3) == b.slices(0..<3))
        let targets = try #require(a.masks)
        #expect(targets == b.masks)
        #expect(targets.contains(where: { $0 > 0 }))
    }

    @Test("classify and segment: the same slice logits, and the square's probabilities on the head's own rows")
    func inference() throws {
        let (cut, square, _, _) = heads()
        #expect(classifier.classify(cut).logits == classifier.classify(square).logits)
        let a = try refiner.segment(cut), b = try refiner.segment(square)
        #expect(a.probabilities.shape == cut.shape)
        #expect(a.probabilities.voxels == middleRows(b.probabilities.voxels, width: 32, height: 24, margin: 4, slices: 3))
    }

    @Test("CAM volume: the square's map on the head's rows, divided by its peak there")
    func cam() throws {
        let (cut, square, _, _) = heads()
        let a = try GradCAM(model: classifier, layer: "layer2").volume(cut).map, b = try GradCAM(model: classifier, layer: "layer2").volume(square).map
        #expect(a.shape == cut.shape)
        let rows = middleRows(b.voxels, width: 32, height: 24, margin: 4, slices: 3)
        let plane = 32 * 24
        var compared = 0
        for k in 0..<3 {
            let part: ArraySlice<Float> = rows[(k * plane)..<((k + 1) * plane)]
            let peak: Float = part.max()!
            guard peak > 0 else { continue }
            compared += 1
            let got: ArraySlice<Float> = a.voxels[(k * plane)..<((k + 1) * plane)]
            let worst: Float = zip(got, part).map { (u: Float, v: Float) -> Float in abs(u - v / peak) }.max()!
            #expect(worst <= 1e-5, "slice \(k)")
        }
        #expect(compared > 0)
    }

    @Test("training targets with an odd margin: at S = side the frame is the target, the extra row after the slice, padded with 0")
    func oddMarginTargets() throws {
        let shape = GridShape(6, 5, 1), geometry = Geometry(spacing: SIMD3(1, 1, 1))
        var mask = [UInt8](repeating: 0, count: shape.count)
        mask[shape.index(4, 0, 0)] = 1; mask[shape.index(1, 4, 0)] = 1
        var hu = [Float](repeating: 40, count: shape.count)
        hu[shape.index(2, 3, 0)] = 90
        let item = try PreparedCase(name: "odd", scan: ScanVolume(shape: shape, voxels: hu, geometry: geometry), labels: [1],
                                    mask: MaskVolume(shape: shape, voxels: mask, geometry: geometry), size: 6, windows: [.brain])
        let targets = try #require(item.masks)
        // side 6, top (6 - 5) / 2 = 0: slice row j is frame row j, and frame row 5 is padding
        for j in 0..<6 {
            for i in 0..<6 {
                let expected: Float = j < 5 && mask[shape.index(i, j, 0)] > 0 ? 1 : 0
                #expect(targets[j * 6 + i] == expected, "target at row \(j), column \(i)")
                let window: Float = j == 5 ? 0 : (hu[shape.index(i, j, 0)] == 90 ? 1 : 0.5)   // air, or brain window of 40 / 90 HU
                #expect(item.slices(0..<1)[j * 6 + i] == window, "input at row \(j), column \(i)")
            }
        }
    }

    @Test("resizeToVolume: a map goes back to the pixels it came from (the square's rows), any margin parity")
    func wayBack() {
        let maps: [Float] = (0..<(2 * 16 * 16)).map { (i: Int) -> Float in Float((i * 37) % 101) / 7 }
        for (x, y) in [(32, 24), (32, 23), (21, 32)] {
            let frame = SquareFrame(height: y, width: x)
            let back = Preprocessing.resizeToVolume(maps, size: 16, shape: GridShape(x, y, 2))
            let full = Preprocessing.resizeToVolume(maps, size: 16, shape: GridShape(frame.side, frame.side, 2))
            var expected: [Float] = []
            for k in 0..<2 {
                expected += frame.crop(full[(k * frame.side * frame.side)..<((k + 1) * frame.side * frame.side)])
            }
            #expect(back == expected, "\(x) x \(y)")
        }
    }
}
