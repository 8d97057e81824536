import Foundation

/// Kernels over contiguous float buffers, chunked for ``Parallel``.
@usableFromInline
enum Kernel {
    @usableFromInline
    enum Binary { case add, sub, mul, div }

    static func binary(_ op: Binary, _ a: [Float], _ b: [Float]) -> [Float] {
        let n = a.count
        return [Float](unsafeUninitializedCapacity: n) { out, initialized in
            let o = SharedPointer(out.baseAddress!)
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    let x = SharedPointer(pa.baseAddress!), y = SharedPointer(pb.baseAddress!)
                    Parallel.ranges(n) { r in
                        let x = x.base, y = y.base, o = o.base
                        switch op {
                        case .add: for i in r { o[i] = x[i] + y[i] }
                        case .sub: for i in r { o[i] = x[i] - y[i] }
                        case .mul: for i in r { o[i] = x[i] * y[i] }
                        case .div: for i in r { o[i] = x[i] / y[i] }
                        }
                    }
                }
            }
            initialized = n
        }
    }

    /// `count` floats left unwritten, for a result its caller writes in full before anything
    /// reads it (an input gradient): no zeroing pass over a whole activation.
    static func uninitialized(_ count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { _, n in n = count }
    }

    /// `out[i] = f(a[i])` where `f` runs on whole chunks (`body(src, dst, count)`).
    static func map(_ a: [Float], cost: Int = 1, _ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> [Float] {
        let n = a.count
        return [Float](unsafeUninitializedCapacity: n) { out, initialized in
            if n > 0 {
                let o = SharedPointer(out.baseAddress!)
                a.withUnsafeBufferPointer { pa in
                    let x = SharedPointer(pa.baseAddress!)
                    Parallel.ranges(n, costPerItem: cost) { r in
                        body(x.base + r.lowerBound, o.base + r.lowerBound, r.count)
                    }
                }
            }
            initialized = n
        }
    }

    /// `out[i] = f(a[i], b[i])` on whole chunks.
    static func zip(_ a: [Float], _ b: [Float], cost: Int = 1,
                    _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> [Float] {
        precondition(a.count == b.count)
        let n = a.count
        return [Float](unsafeUninitializedCapacity: n) { out, initialized in
            if n > 0 {
                let o = SharedPointer(out.baseAddress!)
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        let x = SharedPointer(pa.baseAddress!), y = SharedPointer(pb.baseAddress!)
                        Parallel.ranges(n, costPerItem: cost) { r in
                            body(UnsafePointer(x.base + r.lowerBound), UnsafePointer(y.base + r.lowerBound), o.base + r.lowerBound, r.count)
                        }
                    }
                }
            }
            initialized = n
        }
    }
}

extension Kernel {
    /// y = max(x, 0), eight lanes at a time (a data-dependent branch per element mispredicts
    /// half the time on activations).
    static func reluForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        let zero = SIMD8<Float>(repeating: 0)
        while i + 8 <= n {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: v.replacing(with: zero, where: v .<= zero), as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { y[i] = x[i] > 0 ? x[i] : 0; i += 1 }
    }

    /// d = g where y > 0, else 0 (branch-free).
    static func reluBackward(_ g: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        let zero = SIMD8<Float>(repeating: 0)
        while i + 8 <= n {
            let gv = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD8<Float>.self)
            let yv = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(d + i).storeBytes(of: gv.replacing(with: zero, where: yv .<= zero), as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { d[i] = y[i] > 0 ? g[i] : 0; i += 1 }
    }
}

// MARK: - Binary arithmetic with broadcasting

extension Tensor {
    private static func binary(_ op: Kernel.Binary, _ a: Tensor, _ b: Tensor) -> Tensor {
        let shape = a.shape == b.shape ? a.shape : broadcastShape(a.shape, b.shape)
        let ad = a.broadcastData(to: shape), bd = b.broadcastData(to: shape)
        let out = Tensor(shape: shape, data: Kernel.binary(op, ad, bd))
        let sa = a.shape, sb = b.shape
        // Only products and quotients read the inputs' values backward (sums keep none).
        let keepsValues = op == .mul || op == .div
        let savedA = keepsValues ? ad : [], savedB = keepsValues ? bd : []
        let name: String
        switch op { case .add: name = "add"; case .sub: name = "sub"; case .mul: name = "mul"; case .div: name = "div" }
        return record(out, parents: [a, b], name: name) { g, needs in
            switch op {
            case .add:
                return [needs[0] ? g.sumData(toShape: sa) : nil, needs[1] ? g.sumData(toShape: sb) : nil]
            case .sub:
                let gb = needs[1] ? Tensor(shape: shape, data: Kernel.map(g.data) { s, d, n in for i in 0 ..< n { d[i] = -s[i] } }).sumData(toShape: sb) : nil
                return [needs[0] ? g.sumData(toShape: sa) : nil, gb]
            case .mul:
                let ga = needs[0] ? Tensor(shape: shape, data: Kernel.binary(.mul, g.data, savedB)).sumData(toShape: sa) : nil
                let gb = needs[1] ? Tensor(shape: shape, data: Kernel.binary(.mul, g.data, savedA)).sumData(toShape: sb) : nil
                return [ga, gb]
            case .div:
                let ga = needs[0] ? Tensor(shape: shape, data: Kernel.binary(.div, g.data, savedB)).sumData(toShape: sa) : nil
                var gb: Tensor? = nil
                if needs[1] {
                    // d(a/b)/db = -a / b^2
                    let q = Kernel.binary(.div, Kernel.binary(.mul, g.data, savedA), Kernel.binary(.mul, savedB, savedB))
                    gb = Tensor(shape: shape, data: Kernel.map(q) { s, d, n in for i in 0 ..< n { d[i] = -s[i] } }).sumData(toShape: sb)
                }
                return [ga, gb]
            }
        }
    }

    /// Elementwise sum with broadcasting, `a + b`.
    public static func + (a: Tensor, b: Tensor) -> Tensor { binary(.add, a, b) }
    /// Elementwise difference with broadcasting, `a - b`.
    public static func - (a: Tensor, b: Tensor) -> Tensor { binary(.sub, a, b) }
    /// Elementwise product with broadcasting, `a * b`.
    public static func * (a: Tensor, b: Tensor) -> Tensor { binary(.mul, a, b) }
    /// Elementwise quotient with broadcasting, `a / b`.
    public static func / (a: Tensor, b: Tensor) -> Tensor { binary(.div, a, b) }

    /// `a * s + t` elementwise for scalars `s`, `t` (the building block of scalar arithmetic).
    public func affine(scale s: Float, shift t: Float) -> Tensor {
        let out = Tensor(shape: shape, data: Kernel.map(data) { x, y, n in for i in 0 ..< n { y[i] = x[i] * s + t } })
        return Tensor.record(out, parents: [self], name: "affine") { g, _ in
            [Tensor(shape: g.shape, data: Kernel.map(g.data) { x, y, n in for i in 0 ..< n { y[i] = x[i] * s } })]
        }
    }

    /// Adds a scalar.
    public static func + (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1, shift: s) }
    /// Adds a scalar.
    public static func + (s: Float, a: Tensor) -> Tensor { a.affine(scale: 1, shift: s) }
    /// Subtracts a scalar.
    public static func - (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1, shift: -s) }
    /// A scalar minus a tensor.
    public static func - (s: Float, a: Tensor) -> Tensor { a.affine(scale: -1, shift: s) }
    /// Multiplies by a scalar.
    public static func * (a: Tensor, s: Float) -> Tensor { a.affine(scale: s, shift: 0) }
    /// Multiplies by a scalar.
    public static func * (s: Float, a: Tensor) -> Tensor { a.affine(scale: s, shift: 0) }
    /// Divides by a scalar.
    public static func / (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1 / s, shift: 0) }
    /// Negation.
    public static prefix func - (a: Tensor) -> Tensor { a.affine(scale: -1, shift: 0) }
}

// MARK: - Unary functions

extension Tensor {
    /// Rectified linear unit, `max(x, 0)`; the gradient at 0 is 0 (as PyTorch).
    public func relu() -> Tensor {
        let out = Tensor(shape: shape, data: Kernel.map(data) { x, y, n in Kernel.reluForward(x, y, n) })
        let saved = out.data   // the values, not the tensor: capturing `out` would make a cycle
        return Tensor.record(out, parents: [self], name: "relu") { g, _ in
            [Tensor(shape: g.shape, data: Kernel.zip(g.data, saved) { g, y, d, n in Kernel.reluBackward(g, y, d, n) })]
        }
    }

    /// Logistic sigmoid, `1 / (1 + exp(-x))`, evaluated without overflow.
    public func sigmoid() -> Tensor {
        let out = Tensor(shape: shape, data: Kernel.map(data, cost: 8) { x, y, n in for i in 0 ..< n { y[i] = Tensor.sigmoid(x[i]) } })
        let saved = out.data   // the values, not the tensor: capturing `out` would make a cycle
        return Tensor.record(out, parents: [self], name: "sigmoid") { g, _ in
            [Tensor(shape: g.shape, data: Kernel.zip(g.data, saved) { g, y, d, n in for i in 0 ..< n { d[i] = g[i] * y[i] * (1 - y[i]) } })]
        }
    }

    /// Hyperbolic tangent.
    public func tanh() -> Tensor {
        let out = Tensor(shape: shape, data: Kernel.map(data, cost: 8) { x, y, n in for i in 0 ..< n { y[i] = Foundation.tanh(x[i]) } })
        let saved = out.data   // the values, not the tensor: capturing `out` would make a cycle
        return Tensor.record(out, parents: [self], name: "tanh") { g, _ in
            [Tensor(shape: g.shape, data: Kernel.zip(g.data, saved) { g, y, d, n in for i in 0 ..< n { d[i] = g[i] * (1 - y[i] * y[i]) } })]
        }
    }

    /// Natural exponential.
    public func exp() -> Tensor {
        let out = Tensor(shape: shape, data: Kernel.map(data, cost: 8) { x, y, n in for i in 0 ..< n { y[i] = Foundation.exp(x[i]) } })
        let saved = out.data   // the values, not the tensor: capturing `out` would make a cycle
        return Tensor.record(out, parents: [self], name: "exp") { g, _ in
            [Tensor(shape: g.shape, data: Kernel.binary(.mul, g.data, saved))]
        }
    }

    /// Natural logarithm.
    public func log() -> Tensor {
        let out = Tensor(shape: shape, data: Kernel.map(data, cost: 8) { x, y, n in for i in 0 ..< n { y[i] = Foundation.log(x[i]) } })
        let x = data
        return Tensor.record(out, parents: [self], name: "log") { g, _ in
            [Tensor(shape: g.shape, data: Kernel.binary(.div, g.data, x))]
        }
    }

    /// Square root.
    public func sqrt() -> Tensor {
        let out = Tensor(shape: shape, data: Kernel.map(data, cost: 4) { x, y, n in for i in 0 ..< n { y[i] = x[i].squareRoot() } })
        let saved = out.data   // the values, not the tensor: capturing `out` would make a cycle
        return Tensor.record(out, parents: [self], name: "sqrt") { g, _ in
            [Tensor(shape: g.shape, data: Kernel.zip(g.data, saved) { g, y, d, n in for i in 0 ..< n { d[i] = g[i] / (2 * y[i]) } })]
        }
    }

    /// Elementwise square, `x * x`.
    public func squared() -> Tensor {
        let out = Tensor(shape: shape, data: Kernel.map(data) { x, y, n in for i in 0 ..< n { y[i] = x[i] * x[i] } })
        let x = data
        return Tensor.record(out, parents: [self], name: "square") { g, _ in
            [Tensor(shape: g.shape, data: Kernel.zip(g.data, x) { g, x, d, n in for i in 0 ..< n { d[i] = 2 * g[i] * x[i] } })]
        }
    }

    /// Clamps to `[lower, upper]`; the gradient passes where `lower <= x <= upper`.
    public func clamped(lower: Float = -.infinity, upper: Float = .infinity) -> Tensor {
        let out = Tensor(shape: shape, data: Kernel.map(data) { x, y, n in for i in 0 ..< n { y[i] = Swift.min(Swift.max(x[i], lower), upper) } })
        let x = data
        return Tensor.record(out, parents: [self], name: "clamp") { g, _ in
            [Tensor(shape: g.shape, data: Kernel.zip(g.data, x) { g, x, d, n in for i in 0 ..< n { d[i] = (x[i] >= lower && x[i] <= upper) ? g[i] : 0 } })]
        }
    }

    @inlinable
    static func sigmoid(_ x: Float) -> Float {
        if x >= 0 { return 1 / (1 + Foundation.exp(-x)) }
        let e = Foundation.exp(x)
        return e / (1 + e)
    }
}

/// ReLU as a free function, `relu(x) = max(x, 0)`.
public func relu(_ x: Tensor) -> Tensor { x.relu() }
/// Sigmoid as a free function, `1 / (1 + exp(-x))`.
public func sigmoid(_ x: Tensor) -> Tensor { x.sigmoid() }
/// Hyperbolic tangent as a free function.
public func tanh(_ x: Tensor) -> Tensor { x.tanh() }
