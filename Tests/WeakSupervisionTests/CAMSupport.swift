import Foundation
import CTVolume
import NeuralCore

/// `Fixtures/<name>` of the test bundle.
func fixtureFile(_ name: String) throws -> URL {
    guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
        throw FixtureError.missing(name)
    }
    return url
}

/// Every tensor of a safetensors fixture.
func fixtureTensors(_ name: String) throws -> [String: Tensor] {
    try SafeTensors(contentsOf: fixtureFile(name)).tensors.mapValues { Tensor($0) }
}

/// max|a − b| / max|b| (floor 1e-12): the error scaled by the reference's magnitude.
func scaledError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    var num: Float = 0, den: Float = 1e-12
    for i in 0..<a.count {
        num = max(num, abs(a[i] - b[i]))
        den = max(den, abs(b[i]))
    }
    return num / den
}

/// x[t,c,i,j] = 0.5 + 0.5 sin(0.37 i + 0.23 (c+1) j + 1.3 t), as `cam_fixtures.py`.
func patternSequence(t: Int, c: Int, s: Int) -> Tensor {
    var data: [Float] = []
    data.reserveCapacity(t * c * s * s)
    for ti in 0..<t { for ci in 0..<c { for i in 0..<s { for j in 0..<s {
        data.append(Float(0.5 + 0.5 * sin(0.37 * Double(i) + 0.23 * Double(ci + 1) * Double(j) + 1.3 * Double(ti))))
    } } } }
    return Tensor(shape: [t, c, s, s], data: data)
}

/// hu[i,j,k] = 60 + 90 sin(0.21 i + 0.5 k) cos(0.17 j) − (i + j), as `cam_fixtures.py`.
func patternScan(x: Int, y: Int, z: Int, spacing: SIMD3<Double> = SIMD3(0.8, 0.8, 5)) -> ScanVolume {
    let shape = GridShape(x, y, z)
    var voxels = [Float](repeating: 0, count: shape.count)
    for k in 0..<z { for j in 0..<y { for i in 0..<x {
        voxels[shape.index(i, j, k)] = Float(60 + 90 * sin(0.21 * Double(i) + 0.5 * Double(k)) * cos(0.17 * Double(j)) - Double(i + j))
    } } }
    return ScanVolume(shape: shape, voxels: voxels, geometry: Geometry(spacing: spacing))
}
