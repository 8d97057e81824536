import Testing
@testable import CTVolume
import ImageCore

/// Generation 2's smooth fields, against direct evaluation.
@Suite struct PhantomTextureTests {
    @Test("the separable texture of a slice equals the field evaluated at every pixel, rotation, shift, head tilt and gantry tilt included",
          arguments: [0.0, 0.4])
    func separableEqualsDirect(gantryTilt: Double) throws {
        var config = PhantomConfig.randomized
        config.size = 48
        var g = SeededGenerator(seed: 5, stream: 1)
        var head = HeadAnatomy.sample(config: config, using: &g)
        head.roll = 0.1; head.pitch = -0.07; head.rotation = 0.2; head.shiftX = 3; head.shiftY = -4
        var extras = Phantom.extras(config: config, thickness: 5, head: head, using: &g)
        extras.gantryTilt = gantryTilt
        let r = PhantomRenderer(head: head, lesions: [], nx: 48, ny: 40, nz: 4, subSlices: 1,
                                dx: 4, thickness: 5, zStart: 10, noiseSeed: 1, extras: gantryTilt == 0 ? nil : extras)
        #expect((r.rowRise != 0) == (gantryTilt != 0))
        let field = TextureField.sample(sd: 3, scale: 4, using: &g)
        #expect(!field.isEmpty)
        let weight = (0..<(48 * 40)).map { Double($0 % 3) / 2 }
        var img = [Double](repeating: 7, count: 48 * 40)
        field.add(to: &img, weight: weight, slice: 50, of: r)
        var worst = 0.0, spread = 0.0
        for p in img.indices {
            let direct = 7 + weight[p] * field.value(r.pu[p], r.pv[p], 50 + r.zShift[p])
            worst = max(worst, abs(img[p] - direct))
            spread = max(spread, abs(img[p] - 7))
        }
        #expect(worst < 1e-9, "largest difference \(worst)")
        #expect(spread > 1, "the field is not flat")
    }

    @Test("a field's standard deviation is the one asked, over a large volume")
    func standardDeviation() {
        var g = SeededGenerator(seed: 9, stream: 0)
        var total = 0.0
        let fields = 40
        for _ in 0..<fields {
            let f = TextureField.sample(sd: 4, scale: 3, using: &g)
            var sum = 0.0, sum2 = 0.0, n = 0.0
            for i in stride(from: 0.0, to: 200, by: 2.5) {
                for j in stride(from: 0.0, to: 200, by: 2.5) {
                    let v = f.value(i, j, 0.37 * i)
                    sum += v; sum2 += v * v; n += 1
                }
            }
            total += sum2 / n - (sum / n) * (sum / n)
        }
        let sd = (total / Double(fields)).squareRoot()
        #expect(abs(sd - 4) < 0.4, "standard deviation \(sd)")
    }

    @Test("a structure's pixel box holds every pixel within its radius, also on a tilted gantry", arguments: [0.0, 0.52])
    func pixelBoxCoversTheRadius(gantryTilt: Double) throws {
        var config = PhantomConfig.realistic
        config.size = 64
        var g = SeededGenerator(seed: 3, stream: 2)
        var head = HeadAnatomy.sample(config: config, using: &g)
        head.rotation = 0.3; head.shiftY = 6
        var extras = Phantom.extras(config: config, thickness: 5, head: head, using: &g)
        extras.gantryTilt = gantryTilt
        let r = PhantomRenderer(head: head, lesions: [], nx: 64, ny: 64, nz: 2, subSlices: 1,
                                dx: 3.5, thickness: 5, zStart: 40, noiseSeed: 1, extras: extras)
        for (cu, cv, radius) in [(0.0, 0.0, 20.0), (30.0, -50.0, 15.0), (-20.0, 60.0, 25.0)] {
            var visited = Set<Int>()
            r.forEachPixel(cu: cu, cv: cv, radius: radius) { visited.insert($0) }
            let within = (0..<(64 * 64)).filter { ((r.pu[$0] - cu) * (r.pu[$0] - cu) + (r.pv[$0] - cv) * (r.pv[$0] - cv)).squareRoot() <= radius }
            #expect(!within.isEmpty)
            #expect(within.allSatisfy(visited.contains), "\(within.filter { !visited.contains($0) }.count) pixels within \(radius) mm of (\(cu), \(cv)) not visited")
        }
    }
}
