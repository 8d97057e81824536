import Testing
import CTVolume
import WeakSupervision

@Suite struct ConnectedComponentsTests {
    /// The same partition as `scipy.ndimage.label`: a bijection between our labels and scipy's,
    /// and so equal component sizes.
    @Test func matchesScipyLabel() throws {
        for c in try fixture("components").objects("cases") {
            let s = c.ints("shape"), conn = c.string("connectivity")
            let mask = MaskVolume(shape: GridShape(s[0], s[1], s[2]), voxels: c.ints("mask").map(UInt8.init), geometry: unitGeometry)
            let ours: ComponentLabels
            switch conn {
            case "four": ours = ConnectedComponents.label(mask.voxels, width: s[0], height: s[1], connectivity: .four)
            case "eight": ours = ConnectedComponents.label(mask.voxels, width: s[0], height: s[1], connectivity: .eight)
            case "six": ours = ConnectedComponents.label(mask, connectivity: .six)
            case "eighteen": ours = ConnectedComponents.label(mask, connectivity: .eighteen)
            default: ours = ConnectedComponents.label(mask, connectivity: .twentySix)
            }
            let theirs = c.ints("labels")
            #expect(ours.count == c.int("count"), "\(conn)")
            var map: [Int32: Int] = [:], back: [Int: Int32] = [:]
            var consistent = true
            for (a, b) in zip(ours.labels, theirs) {
                if (a == 0) != (b == 0) { consistent = false; continue }
                if a == 0 { continue }
                if map[a, default: b] != b || back[b, default: a] != a { consistent = false }
                map[a] = b; back[b] = a
            }
            #expect(consistent, "\(conn): partitions differ")
            var scipySizes = [Int](repeating: 0, count: c.int("count"))
            for b in theirs where b > 0 { scipySizes[b - 1] += 1 }
            #expect(ours.sizes.sorted() == scipySizes.sorted(), "\(conn)")
            #expect(ours.sizes.reduce(0, +) == mask.voxels.filter { $0 > 0 }.count)
        }
    }

    @Test func diagonalsAndSliceScope() {
        // Two pixels touching at a corner: one component with 8-connectivity, two with 4.
        let px: [UInt8] = [1, 0, 0, 1]
        #expect(ConnectedComponents.label(px, width: 2, height: 2, connectivity: .eight).sizes == [2])
        #expect(ConnectedComponents.label(px, width: 2, height: 2, connectivity: .four).sizes == [1, 1])
        // A column through three slices: one 3-D component of 3, three 2-D components of 1.
        var m = MaskVolume(shape: GridShape(3, 3, 3), repeating: 0, geometry: unitGeometry)
        for k in 0..<3 { m[1, 1, k] = 1 }
        #expect(ConnectedComponents.label(m, connectivity: .six).sizes == [3])
        #expect(ConnectedComponents.labelSlices(m).sizes == [1, 1, 1])
        // Voxels touching only at a 3-D corner: joined by 26- only.
        var d = MaskVolume(shape: GridShape(2, 2, 2), repeating: 0, geometry: unitGeometry)
        d[0, 0, 0] = 1; d[1, 1, 1] = 1
        #expect(ConnectedComponents.label(d, connectivity: .twentySix).count == 1)
        #expect(ConnectedComponents.label(d, connectivity: .eighteen).count == 2)
    }

    @Test func removingSmallKeepsComponentsOfTheMinimumSize() {
        // A 2 x 2 block (4 voxels) and a single voxel on a 6 x 6 slice.
        var m = MaskVolume(shape: GridShape(6, 6, 1), repeating: 0, geometry: unitGeometry)
        for (i, j) in [(0, 0), (1, 0), (0, 1), (1, 1), (4, 4)] { m[i, j, 0] = 7 }
        let keep4 = ConnectedComponents.removingSmall(m, minimumSize: 4)
        #expect(keep4.voxels.filter { $0 == 1 }.count == 4 && keep4[4, 4, 0] == 0)
        #expect(ConnectedComponents.removingSmall(m, minimumSize: 5).voxels.allSatisfy { $0 == 0 })
        #expect(ConnectedComponents.removingSmall(m, minimumSize: 0).voxels.filter { $0 == 1 }.count == 5)
    }
}
