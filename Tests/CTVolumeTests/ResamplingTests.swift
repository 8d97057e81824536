import Foundation
import Testing
import CTVolume
import TestSupport

/// Resampling and preprocessing against PyTorch (fixtures by scripts/fixtures/resample_fixtures.py).
@Suite struct ResamplingTests {
    struct Case: Decodable {
        let name: String, kind: String
        let in_h: Int, in_w: Int, out_h: Int, out_w: Int
        let input: Int, output: Int
    }
    struct VolumeCase: Decodable {
        let x: Int, y: Int, z: Int, size: Int
        let windows: [[Float]]
        let input: Int, output: Int
    }
    struct Fixture: Decodable {
        let cases: [Case]
        let volumes: [VolumeCase]
    }

    static func load() throws -> (Fixture, [Float]) {
        let json = try #require(Bundle.module.url(forResource: "resample_cases", withExtension: "json", subdirectory: "Fixtures"))
        let bin = try #require(Bundle.module.url(forResource: "resample_cases", withExtension: "bin", subdirectory: "Fixtures"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: json))
        return (fixture, FixtureNumber.littleEndianFloat32s(try Data(contentsOf: bin)))
    }

    /// `|a - b| <= rtol * max(|b|, scale)` elementwise, `scale` being the largest input
    /// magnitude; returns the worst relative error for the message.
    ///
    /// Relative to the data's scale, not to `|b|` alone: bilinear weights mix values of
    /// -1000 and 2000 HU into results near 0, where a rounding of the inputs' size is all
    /// that separates two correct kernels. torch itself has two (a separable generic one, and
    /// a channels-last one it takes when the output's height + width <= 128) that differ so.
    static func close(_ a: [Float], _ b: ArraySlice<Float>, scale: Float, rtol: Float = 1e-5) -> (Bool, Float) {
        guard a.count == b.count else { return (false, .infinity) }
        var worst: Float = 0
        for (x, y) in zip(a, b) { worst = max(worst, abs(x - y) / max(abs(y), scale)) }
        return (worst <= rtol, worst)
    }

    @Test func resamplingMatchesTorch() throws {
        let (fixture, values) = try Self.load()
        #expect(fixture.cases.count >= 18)
        #expect(Set(fixture.cases.map(\.kind)) == ["network", "bilinear", "scale2", "framed", "slices"])
        for c in fixture.cases {
            let input = Array(values[c.input..<(c.input + c.in_h * c.in_w)])
            let expected = values[c.output..<(c.output + c.out_h * c.out_w)]
            let got: [Float]
            switch c.kind {
            case "network":
                #expect(c.out_h == c.out_w)
                got = Resampler.network(height: c.in_h, width: c.in_w, size: c.out_h)(input)
            case "framed":
                #expect(c.out_h == c.out_w)
                got = Preprocessing.resample(input, height: c.in_h, width: c.in_w, size: c.out_h)
            case "slices":
                #expect(c.in_h == c.in_w)
                got = Preprocessing.resizeToSlice(input, size: c.in_h, height: c.out_h, width: c.out_w)
            default:
                got = Resampler(inputHeight: c.in_h, inputWidth: c.in_w, outputHeight: c.out_h, outputWidth: c.out_w, mode: .bilinear)(input)
            }
            let (ok, worst) = Self.close(got, expected, scale: input.map(abs).max()!)
            #expect(ok, "\(c.name): worst relative error \(worst)")
        }
    }

    @Test func preprocessVolumeMatchesTorch() throws {
        let (fixture, values) = try Self.load()
        #expect(fixture.volumes.contains(where: { $0.x != $0.y }) && fixture.volumes.contains(where: { $0.x == $0.y }))
        for v in fixture.volumes {
            let shape = GridShape(v.x, v.y, v.z)
            let scan = ScanVolume(shape: shape, voxels: Array(values[v.input..<(v.input + shape.count)]),
                                  geometry: Geometry(spacing: SIMD3(0.5, 0.5, 5)))
            let windows = v.windows.map { Window(center: $0[0], width: $0[1]) }
            #expect(windows == Window.defaults)
            let n = v.z * windows.count * v.size * v.size
            let got = Preprocessing.preprocess(scan, size: v.size, windows: windows)
            // Windowed values lie in [0, 1]: scale 1.
            let (ok, worst) = Self.close(got, values[v.output..<(v.output + n)], scale: 1)
            #expect(ok, "preprocess \(shape) -> \(v.size): worst relative error \(worst)")
            // One slice alone equals its part of the whole.
            let k = v.z - 1, per = windows.count * v.size * v.size
            #expect(Preprocessing.preprocessSlice(scan, slice: k, size: v.size) == Array(got[(k * per)..<((k + 1) * per)]))
        }
    }

    @Test func largeStackTakesTheParallelPathAndAgreesWithOneByOne() {
        // 20 slices of 36 x 40 -> 48: 20 * (1440 + 2304) values, above the parallel threshold (65536).
        let (h, w, z) = (36, 40, 20)
        var g = LCG(seed: 7)
        let stack = (0..<(h * w * z)).map { _ in g.nextFloat() * 3000 - 1000 }
        let r = Resampler.network(height: h, width: w, size: 48)
        #expect(r.mode == .bilinear)
        let all = r.resizeStack(stack, count: z)
        for k in [0, 7, 19] {
            #expect(Array(all[(k * 48 * 48)..<((k + 1) * 48 * 48)]) == r(stack[(k * h * w)..<((k + 1) * h * w)]))
        }
    }

    @Test func areaOfAConstantIsTheConstantAndBilinearKeepsLinearRamps() {
        // Analytic: averaging a constant image gives the constant.
        let c = Resampler.network(height: 37, width: 53, size: 16)([Float](repeating: 7.25, count: 37 * 53))
        #expect(c.allSatisfy { abs($0 - 7.25) < 1e-5 })
        // A ramp in x, f(i) = i, grown 4x: interior samples lie on (o + 0.5) / 4 - 0.5.
        let ramp = (0..<(3 * 8)).map { Float($0 % 8) }
        let up = Resampler(inputHeight: 3, inputWidth: 8, outputHeight: 12, outputWidth: 32, mode: .bilinear)(ramp)
        for o in 2..<30 { #expect(abs(up[5 * 32 + o] - ((Float(o) + 0.5) / 4 - 0.5)) < 1e-5) }
    }

    @Test func resizeToVolumeGivesNIfTIOrder() {
        let shape = GridShape(5, 3, 2)
        // Slice 0 all 1, slice 1 all 2: the result's slice k must be constant k + 1.
        let maps = [Float](repeating: 1, count: 16) + [Float](repeating: 2, count: 16)
        let v = Preprocessing.resizeToVolume(maps, size: 4, shape: shape)
        #expect(v.count == shape.count)
        #expect(v[0..<15].allSatisfy { abs($0 - 1) < 1e-6 } && v[15...].allSatisfy { abs($0 - 2) < 1e-6 })
        #expect(Preprocessing.resizeToSlice(maps[0..<16], size: 4, height: 3, width: 5).count == 15)
    }
}

/// A tiny deterministic generator for test data (64-bit LCG, high bits).
struct LCG {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 6364136223846793005 &+ 1442695040888963407 }
    mutating func nextFloat() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(state >> 40) / Float(1 << 24)
    }
}
