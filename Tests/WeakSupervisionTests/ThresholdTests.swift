import Testing
import CTVolume
import WeakSupervision

/// A user's own threshold, in a few lines: the mean of the ROI values.
struct MeanThreshold: MapThreshold {
    func cutoff(for values: [Float]) -> Float {
        values.reduce(0, +) / Float(values.count)
    }
}

@Suite struct ThresholdTests {
    @Test func otsuMatchesScikitImage() throws {
        let f = try fixture("thresholds")
        for c in f.objects("cases") {
            let v = c.floats("values")
            #expect(OtsuThreshold.otsu(v) == Float(c.double("otsu256")), "values of \(v.count)")
            #expect(OtsuThreshold.otsu(v, bins: 16) == Float(c.double("otsu16")))
            #expect(try OtsuThreshold(bins: 16).cutoff(for: v) == Float(c.double("otsu16")))
        }
    }

    @Test func percentileMatchesNumpy() throws {
        let f = try fixture("thresholds")
        for c in f.objects("cases") {
            let v = c.floats("values")
            for (p, expected) in zip(c.doubles("percentiles"), c.doubles("percentileValues")) {
                #expect(try PercentileThreshold(p).cutoff(for: v) == Float(expected), "p = \(p)")
            }
        }
    }

    @Test func sliceRegionsMatchReference() throws {
        let slice = try fixture("thresholds")["slice"] as! [String: Any]
        let map = slice.floats("map"), roi = slice.ints("roi").map(UInt8.init)
        #expect(try OtsuThreshold().region(map: map, within: roi) == slice.ints("otsuRegion").map(UInt8.init))
        #expect(try PercentileThreshold(80).region(map: map, within: roi) == slice.ints("p80Region").map(UInt8.init))
    }

    @Test func squareCAMGivesExactRegion() throws {
        // 8 x 8 slice, CAM 0.9 on the square rows 2...4, columns 3...6, 0.1 elsewhere; ROI all
        // but column 6: the region is the square minus column 6, whatever the threshold.
        var map = [Float](repeating: 0.1, count: 64), roi = [UInt8](repeating: 1, count: 64), expected = [UInt8](repeating: 0, count: 64)
        for j in 0..<8 { roi[j * 8 + 6] = 0 }
        for j in 2...4 { for i in 3...6 { map[j * 8 + i] = 0.9; if i != 6 { expected[j * 8 + i] = 1 } } }
        let thresholds: [any MapThreshold] = [FixedThreshold(0.5), OtsuThreshold(), try PercentileThreshold(50), MeanThreshold()]
        for t in thresholds {
            #expect(try t.region(map: map, within: roi) == expected, "\(t)")
        }
    }

    @Test func userThresholdConformsAndIsUsedByTheVolumeHelper() throws {
        // Two slices of 4 x 2; slice 1 negative. Mean of ROI values of slice 0 = 0.5.
        let cam = Volume<Float>(shape: GridShape(4, 2, 2), voxels: [0.2, 0.4, 0.6, 0.8, 0, 0, 1, 1,
                                                                 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9], geometry: unitGeometry)
        let roi = MaskVolume(shape: cam.shape, voxels: [1, 1, 1, 1, 0, 0, 0, 0] + [UInt8](repeating: 1, count: 8), geometry: unitGeometry)
        let out = try MeanThreshold().region(cam: cam, within: roi, probabilities: [0.7, 0.2])
        #expect(out.voxels == [0, 0, 1, 1, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 8))
        // Probability exactly 0.5 is positive; nil probabilities: every slice positive.
        let both = try FixedThreshold(0.5).region(cam: cam, within: roi, probabilities: [0.5, 0.5])
        #expect(both.voxels == [0, 0, 1, 1, 0, 0, 0, 0] + [UInt8](repeating: 1, count: 8))
        #expect(try FixedThreshold(0.5).region(cam: cam, within: roi, probabilities: nil).voxels == both.voxels)
    }

    @Test func edgeCases() throws {
        // Constant values: Otsu returns the value, nothing is kept; empty ROI: empty region.
        #expect(OtsuThreshold.otsu([0.3, 0.3, 0.3]) == 0.3)
        #expect(try OtsuThreshold().region(map: [0.3, 0.3], within: [1, 1]) == [0, 0])
        #expect(try PercentileThreshold(10).region(map: [0.3, 0.9], within: [0, 0]) == [0, 0])
        #expect(try PercentileThreshold(100).region(map: [0.3, 0.9], within: [1, 1]) == [0, 0])
        #expect(try FixedThreshold(-.infinity).region(map: [0.3, 0.9], within: [1, 0]) == [1, 0])
    }

    @Test func invalidParametersThrowReadableErrors() {
        #expect(throws: WeakSupervisionError.self) { try PercentileThreshold(100.5) }
        #expect(throws: WeakSupervisionError.self) { try PercentileThreshold(-1) }
        #expect(throws: WeakSupervisionError.self) { try OtsuThreshold(bins: 1) }
        do {
            _ = try FixedThreshold(0.5).region(map: [0.1, 0.2, 0.3], within: [1, 1])
            Issue.record("a map and ROI of different sizes must throw")
        } catch let e as WeakSupervisionError {
            #expect(e.description.contains("3 pixels"))
        } catch { Issue.record("\(error)") }
        #expect(throws: WeakSupervisionError.nonFiniteValues(what: "map inside the region of interest", count: 1)) {
            try FixedThreshold(0.5).region(map: [.nan, 0.2], within: [1, 1])
        }
        let cam = Volume<Float>(shape: GridShape(2, 2, 2), repeating: 0.5, geometry: unitGeometry)
        let roi = MaskVolume(shape: cam.shape, repeating: 1, geometry: unitGeometry)
        #expect(throws: WeakSupervisionError.self) { try FixedThreshold(0.1).region(cam: cam, within: roi, probabilities: [0.9]) }
    }
}
