import Foundation
import Testing
import CTVolume
import TestSupport

/// Write -> read round trips, geometry carried from a source scan to a mask, atomic and
/// no-clobber writing, and refusals that leave no file behind.
@Suite struct NIfTIWriteTests {
    static func tiltedGeometry() throws -> Geometry {
        try NIfTI.readHeader(at: NIfTIFixture.url("sform_qform_differ.nii.gz")).geometry
    }

    static func scan(_ geometry: Geometry) -> ScanVolume {
        let shape = GridShape(6, 4, 3)
        return ScanVolume(shape: shape, voxels: (0..<shape.count).map { Float($0 * 37 % 200) - 100.5 }, geometry: geometry)
    }

    static func expectSameGeometry(_ a: Geometry, _ b: Geometry, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.qformCode == b.qformCode, sourceLocation: sourceLocation)
        #expect(a.sformCode == b.sformCode, sourceLocation: sourceLocation)
        NIfTIFixture.expectClose(a.qform, b.qform.m, "qform", sourceLocation: sourceLocation)
        NIfTIFixture.expectClose(a.sform, b.sform.m, "sform", sourceLocation: sourceLocation)
        let d = a.spacing - b.spacing
        #expect(max(abs(d.x), abs(d.y), abs(d.z)) < 1e-6, sourceLocation: sourceLocation)
    }

    @Test(arguments: ["scan.nii", "scan.nii.gz"])
    func float32RoundTrip(_ name: String) throws {
        let folder = TemporaryFolder(); defer { folder.cleanup() }
        let source = Self.scan(try Self.tiltedGeometry())
        try NIfTI.write(source, to: folder.file(name))
        let back = try NIfTI.readScan(at: folder.file(name))
        #expect(back.shape == source.shape)
        #expect(back.voxels == source.voxels)
        Self.expectSameGeometry(back.geometry, source.geometry)
        let header = try NIfTI.readHeader(at: folder.file(name))
        #expect(header.datatype == "float32")
        #expect(header.isCompressed == name.hasSuffix(".gz"))
        #expect(header.spatialUnit == "mm")
    }

    @Test func int16WithSlopeAndIntercept() throws {
        let folder = TemporaryFolder(); defer { folder.cleanup() }
        var source = Self.scan(try Self.tiltedGeometry())
        source.voxels = source.voxels.map { ($0 * 10).rounded() }  // whole HU, as CT stores them
        let url = folder.file("ct.nii.gz")
        try NIfTI.write(source, to: url, datatype: .hounsfieldInt16)
        let header = try NIfTI.readHeader(at: url)
        #expect(header.datatype == "int16")
        #expect(header.scaling == .linear(slope: 1, intercept: -1024))
        #expect(try NIfTI.readScan(at: url).voxels == source.voxels)

        let halves = folder.file("half.nii")
        try NIfTI.write(source, to: halves, datatype: .int16(slope: 0.5, intercept: 3))
        #expect(try NIfTI.readScan(at: halves).voxels == source.voxels)
    }

    @Test("storedValues gives, bit for bit, what a file written with the datatype reads back; it refuses what write refuses")
    func storedValuesMatchTheFile() throws {
        let folder = TemporaryFolder(); defer { folder.cleanup() }
        let shape = GridShape(7, 5, 3)
        // values in 0...1 with every last bit used, as a CAM's: most are not multiples of the slope
        let values = (0..<shape.count).map { Float(sin(Double($0) * 12.9898) * 43758.5453).magnitude.truncatingRemainder(dividingBy: 1) }
        let source = ScanVolume(shape: shape, voxels: values, geometry: Geometry(spacing: SIMD3(1, 1, 2)))
        for (i, datatype) in [NIfTIDatatype.int16(slope: 1 / 32000, intercept: 0), .int16(slope: 0.37, intercept: -3), .float32, .float64].enumerated() {
            let url = folder.file("v\(i).nii.gz")
            try NIfTI.write(source, to: url, datatype: datatype)
            let back = try NIfTI.readScan(at: url).voxels
            let stored = try NIfTI.storedValues(values, datatype: datatype)
            #expect(stored.map(\.bitPattern) == back.map(\.bitPattern), "\(datatype)")
            if case .int16 = datatype { #expect(stored != values, "\(datatype) rounds") }
        }
        let whole = values.map { ($0 * 255).rounded() }
        try NIfTI.write(ScanVolume(shape: shape, voxels: whole, geometry: source.geometry), to: folder.file("u.nii"), datatype: .uint8)
        #expect(try NIfTI.storedValues(whole, datatype: .uint8) == NIfTI.readScan(at: folder.file("u.nii")).voxels)
        #expect(throws: CTVolumeError.self) { try NIfTI.storedValues([Float.nan], datatype: .float32) }
        #expect(throws: CTVolumeError.self) { try NIfTI.storedValues([2], datatype: .int16(slope: 1 / 32000, intercept: 0)) }
    }

    @Test func float64AndUInt8() throws {
        let folder = TemporaryFolder(); defer { folder.cleanup() }
        var source = Self.scan(Geometry(spacing: SIMD3(0.5, 0.5, 5)))
        try NIfTI.write(source, to: folder.file("d.nii"), datatype: .float64)
        #expect(try NIfTI.readScan(at: folder.file("d.nii")).voxels == source.voxels)
        #expect(try NIfTI.readHeader(at: folder.file("d.nii")).datatype == "float64")
        source.voxels = source.voxels.map { abs($0).rounded() }
        try NIfTI.write(source, to: folder.file("u.nii.gz"), datatype: .uint8)
        #expect(try NIfTI.readScan(at: folder.file("u.nii.gz")).voxels == source.voxels)
    }

    @Test func maskWrittenFromAScanReopensWithItsGeometry() throws {
        let folder = TemporaryFolder(); defer { folder.cleanup() }
        let scan = try NIfTI.readScan(at: NIfTIFixture.url("sform_qform_differ.nii.gz"))
        let mask = scan.map { $0 > 0 ? UInt8(1) : 0 }
        let url = folder.file("mask.nii.gz")
        try NIfTI.write(mask, to: url)
        let header = try NIfTI.readHeader(at: url)
        #expect(header.datatype == "uint8")
        #expect(header.scaling == .raw)
        let source = try NIfTI.readHeader(at: NIfTIFixture.url("sform_qform_differ.nii.gz"))
        #expect(header.orientation == source.orientation)
        Self.expectSameGeometry(header.geometry, source.geometry)
        let back = try NIfTI.readMask(at: url, matching: scan.geometry, shape: scan.shape)
        #expect(back.voxels == mask.voxels)
        #expect(try NIfTI.readMask(at: url, matching: scan).voxels == mask.voxels)
    }

    @Test func existingFileIsRefusedUnlessOverwrite() throws {
        let folder = TemporaryFolder(); defer { folder.cleanup() }
        let url = folder.file("a.nii.gz")
        let first = Self.scan(Geometry(spacing: SIMD3(1, 1, 1)))
        try NIfTI.write(first, to: url)
        var second = first
        second.voxels = second.voxels.map { $0 + 1 }
        #expect(throws: CTVolumeError.outputExists(path: url.path)) { try NIfTI.write(second, to: url) }
        #expect(try NIfTI.readScan(at: url).voxels == first.voxels)
        try NIfTI.write(second, to: url, overwrite: true)
        #expect(try NIfTI.readScan(at: url).voxels == second.voxels)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path) == ["a.nii.gz"])  // no temporaries left
    }

    @Test func refusalsLeaveNoFile() throws {
        let folder = TemporaryFolder(); defer { folder.cleanup() }
        var scan = Self.scan(Geometry(spacing: SIMD3(1, 1, 1)))
        #expect(throws: CTVolumeError.self) { try NIfTI.write(scan, to: folder.file("x.png")) }
        #expect(throws: CTVolumeError.self) { try NIfTI.write(scan, to: folder.file("nofolder/x.nii")) }
        #expect(throws: CTVolumeError.self) { try NIfTI.write(scan, to: folder.file("x.nii"), datatype: .uint8) }  // negatives
        #expect(throws: CTVolumeError.self) { try NIfTI.write(scan, to: folder.file("x.nii"), datatype: .int16(slope: 0, intercept: 0)) }
        scan.voxels[3] = .nan
        scan.voxels[4] = .infinity
        #expect(throws: CTVolumeError.nonFiniteVoxels(path: folder.file("x.nii").path, count: 2)) {
            try NIfTI.write(scan, to: folder.file("x.nii"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path).isEmpty)
    }
}

/// nibabel's scaling rule as a table, and orientation codes of analytic affines.
@Suite struct NIfTIRuleTests {
    @Test(arguments: [
        // (slope, intercept, expected slope, expected intercept) with nil = raw values.
        (Float(0), Float(5), Float?.none, Float?.none),
        (Float.nan, Float(5), nil, nil),
        (Float.infinity, Float(5), nil, nil),
        (-Float.infinity, Float(0), nil, nil),
        (Float(1), Float(0), nil, nil),
        (Float(2), Float(-1), Float(2), Float(-1)),
        (Float(1), Float(-1024), Float(1), Float(-1024)),
        (Float(-0.5), Float(0), Float(-0.5), Float(0)),
    ])
    func scalingRule(_ slope: Float, _ intercept: Float, _ expectedSlope: Float?, _ expectedIntercept: Float?) throws {
        let rule = try NIfTIScaling.resolve(slope: slope, intercept: intercept)
        if let expectedSlope, let expectedIntercept {
            #expect(rule == .linear(slope: expectedSlope, intercept: expectedIntercept))
            #expect(rule.apply(Float(3)) == 3 * expectedSlope + expectedIntercept)
        } else {
            #expect(rule == .raw)
            #expect(rule.apply(Float(3)) == 3)
        }
    }

    @Test(arguments: [Float.nan, .infinity])
    func usableSlopeWithBadInterceptIsAnError(_ intercept: Float) {
        #expect(throws: CTVolumeError.self) { try NIfTIScaling.resolve(slope: 2, intercept: intercept, path: "f.nii") }
    }

    @Test func doublePathRoundsOnce() {
        // int32 / float64 raw values are scaled in Double: 16777217 is not a Float.
        #expect(NIfTIScaling.linear(slope: 1, intercept: 0.5).apply(Double(16_777_217)) == Float(16_777_217.5))
    }

    @Test func axisCodesMatchNibabelOnRandomAffines() {
        let cases = NIfTIFixture.expected["orientations"] as! [[String: Any]]
        #expect(cases.count == 48)
        for c in cases {
            let affine = Affine(rowMajor: NIfTIFixture.numbers(c["affine"]))
            #expect(affine.axisCodes == c["codes"] as! String, "\(affine.m)")
        }
    }

    @Test(arguments: [
        ([1.0, 0, 0, 0, 1, 0, 0, 0, 1], "RAS"),
        ([-1.0, 0, 0, 0, -1, 0, 0, 0, 1], "LPS"),
        ([0.0, 0, 2, 3, 0, 0, 0, -1, 0], "AIR"),  // i -> +y, j -> -z, k -> +x
        ([0.5, 0, 0, 0, 0, 5, 0, 0.4, 0], "RSA"),
        ([0.0, 0, 0, 0, 1, 0, 0, 0, 1], "?AS"),  // a collapsed axis
    ])
    func axisCodes(_ rotation: [Double], _ expected: String) {
        var m = [Double](repeating: 0, count: 16)
        for r in 0..<3 { for c in 0..<3 { m[4 * r + c] = rotation[3 * r + c] } }
        m[15] = 1
        #expect(Affine(rowMajor: m).axisCodes == expected)
    }
}
