import CTVolume
import Foundation
import Testing

/// A scan stored in any of the 48 voxel orders comes back to the same LAS volume, and masks go
/// back to the stored grid, every voxel at the world position its file gives it.
@Suite struct ReorientationTests {
    /// A 5 x 4 x 3 LAS volume (the phantom's order) whose voxels hold their own index, with
    /// anisotropic spacing and an offset.
    static func las() -> ScanVolume {
        var a = Affine.scaling(SIMD3(-0.5, 0.7, 5))
        a[0, 3] = 12
        a[1, 3] = -30
        a[2, 3] = 40
        let shape = GridShape(5, 4, 3)
        return ScanVolume(shape: shape, voxels: (0..<shape.count).map(Float.init), geometry: Geometry(affine: a))
    }

    /// The same scan stored with its axes in `order` (stored axis s holds LAS axis order[s]),
    /// reversed where `reversed[s]`: `Volume.storedInAxisOrder`, written voxel by voxel apart
    /// from Reorientation and checked below against explicit voxels and world points.
    static func stored(_ v: ScanVolume, order: [Int], reversed: [Bool]) -> ScanVolume {
        v.storedInAxisOrder(order, reversed: reversed)
    }

    @Test func aStoredOrderKeepsEveryVoxelAtItsWorldPoint() {
        let original = Self.las()
        let file = Self.stored(original, order: [2, 0, 1], reversed: [true, false, true])
        #expect(file.shape == GridShape(3, 5, 4))
        // stored (i, j, k) holds LAS (j, k', i') with i' = 2 - i and k' = 3 - k
        #expect(file[0, 0, 0] == original[0, 3, 2] && file[2, 4, 1] == original[4, 2, 0])
        for (i, j, k) in [(0, 0, 0), (2, 4, 1), (1, 2, 3)] {
            let l = (j, 3 - k, 2 - i)
            let a = file.geometry.affine.apply(SIMD3(Double(i), Double(j), Double(k)))
            let b = original.geometry.affine.apply(SIMD3(Double(l.0), Double(l.1), Double(l.2)))
            #expect(abs(a.x - b.x) < 1e-9 && abs(a.y - b.y) < 1e-9 && abs(a.z - b.z) < 1e-9)
        }
        #expect(file.geometry.spacing == SIMD3(5, 0.5, 0.7))
    }

    static let orders: [[Int]] = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]
    static let flips: [[Bool]] = (0..<8).map { b in (0..<3).map { b & (1 << $0) != 0 } }

    @Test func everyOneOfTheFortyEightStoredOrdersComesBackToTheSameLASVolume() {
        let original = Self.las()
        #expect(original.geometry.affine.axisCodes == "LAS")
        var seen = Set<String>()
        for order in Self.orders {
            for reversed in Self.flips {
                let file = Self.stored(original, order: order, reversed: reversed)
                seen.insert(file.geometry.affine.axisCodes)
                let r = Reorientation(file)
                let canonical = r.apply(file)
                #expect(canonical.shape == original.shape, "\(order) \(reversed)")
                #expect(canonical.voxels == original.voxels, "\(order) \(reversed)")
                for row in 0..<4 { for col in 0..<4 {
                    #expect(abs(canonical.geometry.affine[row, col] - original.geometry.affine[row, col]) < 1e-9, "\(order) \(reversed)")
                } }
                #expect(canonical.geometry.spacing == original.geometry.spacing)
                // and back: the stored grid, voxels and affine
                let back = r.invert(canonical)
                #expect(back.shape == file.shape && back.voxels == file.voxels, "\(order) \(reversed)")
                for row in 0..<4 { for col in 0..<4 {
                    #expect(abs(back.geometry.affine[row, col] - file.geometry.affine[row, col]) < 1e-9)
                } }
                #expect(r.isIdentity == (order == [0, 1, 2] && reversed == [false, false, false]))
            }
        }
        #expect(seen.count == 48)   // 48 distinct orientations were exercised
    }

    /// The copy is specialized for UInt8, Float and Int16 voxels and generic for the rest:
    /// every voxel type moves its voxels the same way (the Double volume holds the indices).
    @Test func everyVoxelTypeIsStoredInTheSameOrder() {
        let original = Self.las()
        let indices = Volume<Double>(shape: original.shape, voxels: original.voxels.map(Double.init), geometry: original.geometry)
        for order in Self.orders {
            for reversed in Self.flips {
                let expected = indices.storedInAxisOrder(order, reversed: reversed).voxels
                let asFloat = original.storedInAxisOrder(order, reversed: reversed)
                let asBytes = original.map { UInt8($0) }.storedInAxisOrder(order, reversed: reversed)
                let asInt16 = original.map { Int16($0) - 30 }.storedInAxisOrder(order, reversed: reversed)
                let asInt32 = original.map { Int32($0) }.storedInAxisOrder(order, reversed: reversed)
                #expect(asFloat.voxels.map(Double.init) == expected, "\(order) \(reversed)")
                #expect(asBytes.voxels.map(Double.init) == expected, "\(order) \(reversed)")
                #expect(asInt16.voxels.map { Double($0 + 30) } == expected, "\(order) \(reversed)")
                #expect(asInt32.voxels.map(Double.init) == expected, "\(order) \(reversed)")
                #expect(asBytes.shape == asFloat.shape && asInt16.geometry == asFloat.geometry)
            }
        }
        // and the expected order is the explicit one of the first test
        let file = indices.storedInAxisOrder([2, 0, 1], reversed: [true, false, true])
        #expect(file[0, 0, 0] == 3 * 5 + 2 * 20 && file[2, 4, 1] == 4 + 2 * 5)
    }

    @Test func aMaskMadeOnTheCanonicalVolumeLandsOnTheStoredVoxelsOfTheSameWorldPoints() {
        let original = Self.las()
        let file = Self.stored(original, order: [1, 0, 2], reversed: [true, false, true])   // i and j swapped, head to foot
        let r = Reorientation(file)
        // a "segmentation" on the canonical grid: voxels whose value (their LAS index) is odd
        let canonical = r.apply(file)
        let mask = MaskVolume(shape: canonical.shape, voxels: canonical.voxels.map { Int($0) % 2 == 1 ? 1 : 0 }, geometry: canonical.geometry)
        let onFile = r.invert(mask, geometry: file.geometry)
        #expect(onFile.shape == file.shape && onFile.geometry == file.geometry)
        // each stored voxel is marked exactly when it holds an odd LAS index, i.e. the same world point
        #expect(onFile.voxels == file.voxels.map { Int($0) % 2 == 1 ? 1 : 0 })
    }

    @Test func sliceValuesFollowTheFilesSlicesWhenTheyAreAxial() {
        let original = Self.las()
        let headToFoot = Reorientation(Self.stored(original, order: [0, 1, 2], reversed: [false, false, true]))
        #expect(headToFoot.sourceSliceOrder([0.1, 0.2, 0.3]) == [0.3, 0.2, 0.1])
        let swapped = Reorientation(Self.stored(original, order: [1, 0, 2], reversed: [false, false, false]))
        #expect(swapped.sourceSliceOrder([0.1, 0.2, 0.3]) == [0.1, 0.2, 0.3])
        let sagittal = Reorientation(Self.stored(original, order: [2, 1, 0], reversed: [false, false, false]))
        #expect(sagittal.sourceSliceOrder([0.1, 0.2, 0.3]) == nil)
    }

    @Test func anAffineWithoutDirectionsIsLeftAsItIs() {
        let flat = ScanVolume(shape: GridShape(2, 2, 2), repeating: 0, geometry: Geometry(affine: Affine(rowMajor: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])))
        #expect(Reorientation(flat).isIdentity)
    }
}
