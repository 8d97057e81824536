import ImageCore
import Testing

/// FNV1a against the published 64-bit FNV-1a values of the reference test suite
/// (http://www.isthe.com/chongo/tech/comp/fnv/, "test_fnv.c"): one byte per word gives the
/// byte-wise hash, since a word below 256 changes only the low byte.
@Suite struct FNV1aTests {
    @Test func publishedValuesOneByteAWord() {
        #expect(FNV1a().value == 0xcbf2_9ce4_8422_2325)   // the empty string
        var a = FNV1a()
        a.combine(UInt64(UInt8(ascii: "a")))
        #expect(a.value == 0xaf63_dc4c_8601_ec8c)
        var foobar = FNV1a()
        foobar.combine(Array("foobar".utf8)) { UInt64($0) }
        #expect(foobar.value == 0x8594_4171_f739_67e8)
    }

    @Test func aCollectionIsItsWordsInOrder() {
        let words: [UInt64] = [3, 0xffff_ffff_ffff, 7, 0]
        var one = FNV1a(), all = FNV1a()
        for w in words { one.combine(w) }
        all.combine(words) { $0 }
        #expect(one == all)
        var reversed = FNV1a()
        reversed.combine(words.reversed()) { $0 }
        #expect(reversed != all)
    }

    @Test func typedOverloadsEqualTheGenericForm() {
        var g = SeededGenerator(seed: 99)
        let floats = (0 ..< 1000).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: g.next())) }
        let bytes = (0 ..< 1000).map { _ in UInt8(truncatingIfNeeded: g.next()) }
        var a = FNV1a(), b = FNV1a()
        a.combine(floats) { UInt64($0.bitPattern) }
        b.combine(bitPatternsOf: floats)
        #expect(a == b)
        var c = FNV1a(), d = FNV1a()
        c.combine(bytes) { UInt64($0) }
        d.combine(bytes: bytes)
        #expect(c == d)
        var e = FNV1a()
        e.combine(bytes: Array("foobar".utf8))
        #expect(e.value == 0x8594_4171_f739_67e8)
    }
}
