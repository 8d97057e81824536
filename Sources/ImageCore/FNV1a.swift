/// FNV-1a over 64-bit words (Fowler, Noll and Vo; offset basis 0xcbf29ce484222325, prime
/// 0x100000001b3): a fingerprint of a run of values that changes when any value changes. Not a
/// cryptographic hash; used to recognise a case or a set of weights within a process or across
/// ranks.
///
///     var h = FNV1a()
///     h.combine(values) { UInt64($0.bitPattern) }
///     let fingerprint = h.value
package struct FNV1a: Sendable, Hashable {
    /// The hash so far.
    package var value: UInt64 = 0xcbf2_9ce4_8422_2325

    /// The 64-bit FNV prime.
    @usableFromInline static let prime: UInt64 = 0x100_0000_01b3

    /// An empty hash (the offset basis).
    package init() {}

    /// Mixes in one word.
    @inlinable
    package mutating func combine(_ word: UInt64) {
        value = (value ^ word) &* FNV1a.prime
    }

    /// Mixes in the bit pattern of every value, in order: `combine(values) { UInt64($0.bitPattern) }`.
    /// Not generic, so it runs compiled for its one type wherever it is called (the generic
    /// form, left unspecialized in another module, walked every scan through protocol
    /// witnesses: the full demo's comparison stage took 10 min 34 s instead of 6 min 40 s).
    package mutating func combine(bitPatternsOf values: [Float]) {
        var h = value
        values.withUnsafeBufferPointer { for v in $0 { h = (h ^ UInt64(v.bitPattern)) &* FNV1a.prime } }
        value = h
    }

    /// Mixes in every byte, in order, each as a word: `combine(values) { UInt64($0) }`, not generic.
    package mutating func combine(bytes values: [UInt8]) {
        var h = value
        values.withUnsafeBufferPointer { for v in $0 { h = (h ^ UInt64(v)) &* FNV1a.prime } }
        value = h
    }

    /// Mixes in every element of `values` in order, each as the word `bits` gives. For large
    /// arrays in another module's hot path, call the typed overloads above: this generic form
    /// may be left unspecialized there.
    @inlinable
    package mutating func combine<C: Collection>(_ values: C, bits: (C.Element) -> UInt64) {
        var h = value
        for v in values { h = (h ^ bits(v)) &* FNV1a.prime }
        value = h
    }
}
