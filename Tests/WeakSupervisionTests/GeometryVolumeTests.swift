import CTVolume
import Foundation
import Metrics
import Testing
import WeakSupervision

@Suite("Voxel volume on oblique grids")
struct GeometryVolumeTests {
    /// A gantry tilt of `degrees` as a tilted series is stored: rows turn about the left-right
    /// axis, the slice step runs along the table.
    func tilted(_ degrees: Double, spacing s: SIMD3<Double>) -> Geometry {
        let t = degrees * .pi / 180
        return Geometry(affine: Affine(rowMajor: [-s.x, 0, 0, 10,
                                                  0, s.y * cos(t), 0, -20,
                                                  0, s.y * sin(t), s.z, 30,
                                                  0, 0, 0, 1]))
    }

    @Test("a sheared (tilted) affine's voxel is cos(tilt) of the spacings' product; an orthogonal one, rotated or flipped, or none, gives the product bit for bit")
    func obliquity() {
        let s = SIMD3(0.45, 0.45, 5.0)
        for degrees in [5.0, 17.5, 30] {
            let g = tilted(degrees, spacing: s)
            #expect(g.spacing == s)
            #expect(abs(g.obliquity - cos(degrees * .pi / 180)) < 1e-12)
            #expect(abs(g.voxelVolumeML - s.x * s.y * s.z / 1000 * cos(degrees * .pi / 180)) < 1e-15)
        }
        let product = s.x * s.y * s.z / 1000
        let a = 0.3, rotated = Geometry(affine: Affine(rowMajor: [s.x * cos(a), -s.y * sin(a), 0, 0,
                                                                  s.x * sin(a), s.y * cos(a), 0, 0,
                                                                  0, 0, -s.z, 0,
                                                                  0, 0, 0, 1]))
        for g in [tilted(0, spacing: s), rotated, Geometry(spacing: s)] {
            #expect(g.obliquity == 1 && g.voxelVolumeML == product)
        }
    }

    @Test("masks and component sizes count a tilted grid's smaller voxels")
    func volumesFollow() {
        let g = tilted(25, spacing: SIMD3(1, 1, 2))
        let mask = BinaryMask(shape: MaskShape(2, 2, 1), spacing: g.spacing, voxels: [true, true, true, false], voxelVolumeML: g.voxelVolumeML)
        #expect(abs(mask.volumeML - 3 * 0.002 * cos(25 * .pi / 180)) < 1e-15)
        #expect(BinaryMask(shape: MaskShape(1, 1, 1), spacing: g.spacing, voxels: [true]).volumeML == 0.002)
        // 0.01 mL: 5 voxels of 2 mm³, 6 of 1.81 mm³ (cos 25° = 0.906)
        #expect(ComponentFiltered.minimumVoxels(0.01, geometry: Geometry(spacing: SIMD3(1, 1, 2))) == 5)
        #expect(ComponentFiltered.minimumVoxels(0.01, geometry: g) == 6)
    }
}
