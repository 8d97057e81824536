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
}
