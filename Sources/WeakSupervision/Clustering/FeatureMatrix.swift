/// Points to cluster: `count` rows of `dimension` Float features, row-major.
///
/// Row `i` is `values[i * dimension ..< (i + 1) * dimension]`. For voxel intensities alone,
/// `FeatureMatrix(column: hu)` is a `count x 1` matrix.
public struct FeatureMatrix: Sendable, Equatable {
    /// Number of points (rows).
    public let count: Int
    /// Number of features per point (columns), at least 1.
    public let dimension: Int
    /// Row-major values, `count * dimension` of them.
    public let values: [Float]

    /// - Parameters:
    ///   - values: row-major, a multiple of `dimension` long.
    ///   - dimension: features per point, >= 1.
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` for `dimension < 1`,
    ///   ``WeakSupervisionError/shapeMismatch(what:expected:got:)`` when `values.count` is not a
    ///   multiple of `dimension`.
    public init(values: [Float], dimension: Int) throws {
        guard dimension >= 1 else {
            throw WeakSupervisionError.invalidParameter(name: "feature dimension", reason: "\(dimension) is less than 1")
        }
        guard values.count % dimension == 0 else {
            throw WeakSupervisionError.shapeMismatch(
                what: "feature values", expected: "a multiple of \(dimension)", got: "\(values.count)")
        }
        self.values = values
        self.dimension = dimension
        self.count = values.count / dimension
    }

    /// A `count x 1` matrix: one feature per point.
    public init(column: [Float]) {
        self.values = column
        self.dimension = 1
        self.count = column.count
    }

    /// A matrix whose feature `j` is `columns[j]` (all columns the same length, at least one).
    ///
    /// - Throws: ``WeakSupervisionError/emptyInput(what:)`` with no column,
    ///   ``WeakSupervisionError/shapeMismatch(what:expected:got:)`` for unequal lengths.
    public init(columns: [[Float]]) throws {
        guard let first = columns.first else { throw WeakSupervisionError.emptyInput(what: "feature columns") }
        for (j, c) in columns.enumerated() where c.count != first.count {
            throw WeakSupervisionError.shapeMismatch(
                what: "feature column \(j)", expected: "\(first.count) values", got: "\(c.count)")
        }
        if columns.count == 1 { self.init(column: first); return }
        let d = columns.count, n = first.count
        var v = [Float](repeating: 0, count: n * d)
        for j in 0..<d {
            columns[j].withUnsafeBufferPointer { c in
                for i in 0..<n { v[i * d + j] = c[i] }
            }
        }
        try self.init(values: v, dimension: d)
    }

    /// Row `i`.
    public subscript(row i: Int) -> ArraySlice<Float> {
        values[(i * dimension)..<((i + 1) * dimension)]
    }

    /// Per-feature population variance, averaged over features (the scale of sklearn's `tol`).
    func meanVariance() -> Double {
        guard count > 0 else { return 0 }
        var total = 0.0
        values.withUnsafeBufferPointer { x in
            for j in 0..<dimension {
                var mean = 0.0
                for i in 0..<count { mean += Double(x[i * dimension + j]) }
                mean /= Double(count)
                var s = 0.0
                for i in 0..<count {
                    let e = Double(x[i * dimension + j]) - mean
                    s += e * e
                }
                total += s / Double(count)
            }
        }
        return total / Double(dimension)
    }
}
