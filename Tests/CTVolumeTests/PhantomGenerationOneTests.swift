import Testing
import CTVolume
import Foundation

/// Generation 1 of the phantom is frozen: runs made with it must regenerate byte for byte, so
/// that their data stage stays valid. The digests below were recorded once by this very test's
/// `digest`, when generation 2 was added, after checking that `ichctl synth` of commit 4e408ce
/// (before generation 2) and of the new code wrote identical files for both configurations;
/// no later change of the generator may alter them. A failure here means old runs' data would silently change.
@Suite struct PhantomGenerationOneTests {
    /// FNV-1a 64 over every voxel of scan, mask and intracranial mask, the geometry's affine
    /// and the lesion list.
    static func digest(_ c: PhantomCase) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func eat(_ byte: UInt8) { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        func eat64(_ v: UInt64) { for s in stride(from: 0, to: 64, by: 8) { eat(UInt8(truncatingIfNeeded: v >> UInt64(s))) } }
        for v in c.scan.voxels { eat64(UInt64(v.bitPattern)) }
        for v in c.mask.voxels { eat(v) }
        for v in c.intracranial.voxels { eat(v) }
        for r in 0..<4 { for col in 0..<4 { eat64(c.scan.geometry.affine[r, col].bitPattern) } }
        for l in c.lesions {
            for b in l.subtype.rawValue.utf8 { eat(b) }
            eat64(l.volumeML.bitPattern); eat64(l.targetVolumeML.bitPattern)
            eat64(UInt64(l.firstSlice)); eat64(UInt64(l.lastSlice))
        }
        return h
    }

    /// The configurations checked: the small test grid with every artefact, and a 128 grid of
    /// the quick preset with its own slice count, 5 sub-slices and all subtypes.
    static func configs() -> [(String, PhantomConfig)] {
        var small = PhantomConfig()
        small.size = 64
        small.slices = 10...10
        small.subSlices = 3
        small.positiveFraction = 0.8
        var quick = PhantomConfig.quick
        quick.slices = 12...16
        return [("small", small), ("quick", quick)]
    }

    static let recorded: [String: [UInt64]] = [
        "small": [0x7547_278f_58d5_3526, 0x1104_ef62_e785_d50d, 0x4c2f_ac8d_60f6_f2a1, 0xd3dd_a97a_830a_337e],
        "quick": [0xfa88_0b92_8581_34c8, 0x86d7_7c49_a33c_b9e4, 0x0d5e_dc9b_2233_ce60, 0xa82e_e0c5_aec5_632c],
    ]

    @Test("generation 1 regenerates the bytes recorded before generation 2 existed")
    func generationOneIsFrozen() throws {
        for (name, config) in Self.configs() {
            let digests = try (0..<4).map { try Self.digest(Phantom.generate(caseIndex: $0, seed: 2022, config: config)) }
            #expect(digests == Self.recorded[name], "\(name)")
        }
    }
}
