import Foundation
import ImageCore

/// The collective operations of data-parallel training: every rank calls the same operations
/// in the same order, and each call returns the same result on every rank.
///
/// NeuralCore ships two: ``SingleProcess`` (one rank; every operation is the identity) and
/// ``MPICommunicator`` (Open MPI's world). A test or another transport can conform as well.
///
/// The operations do not throw: a failed collective leaves the ranks out of step, which no
/// caller can repair, so an implementation ends the run with a message instead (MPI: `MPI_Abort`).
public protocol Communicator: AnyObject, Sendable {
    /// This process's rank, `0 ..< size`.
    var rank: Int { get }
    /// The number of ranks (≥ 1).
    var size: Int { get }
    /// Element-wise sum over the ranks, in place.
    func sum(_ values: inout [Double])
    /// Element-wise sum over the ranks, in place.
    func sum(_ values: inout [Float])
    /// Element-wise maximum over the ranks, in place.
    func maximum(_ values: inout [Int64])
    /// Every rank's `values` (their lengths may differ), in rank order.
    func gather(_ values: [Double]) -> [[Double]]
    /// Rank `root`'s bytes, on every rank (the others' `bytes` are replaced; lengths are sent first).
    func broadcast(_ bytes: inout [UInt8], from root: Int)
    /// Returns when every rank has called it.
    func barrier()
}

extension Communicator {
    /// Whether this rank writes the run's files (rank 0).
    public var isWriter: Bool { rank == 0 }

    /// Whether any rank passed `true`.
    public func any(_ flag: Bool) -> Bool {
        var v: [Int64] = [flag ? 1 : 0]
        maximum(&v)
        return v[0] != 0
    }

    /// Sums the gradients of every trainable parameter of `module` over the ranks, in place, as
    /// one buffer in the module's parameter order (a parameter without a gradient counts as
    /// zeros and gets the sum). With loss terms weighted by each rank's share of the global
    /// batch, the sum is the gradient of the global batch's loss.
    public func sumGradients(of module: Module) {
        guard size > 1 else { return }
        let parameters = module.trainableParameters()
        var buffer = [Float]()
        buffer.reserveCapacity(parameters.reduce(0) { $0 + $1.tensor.count })
        for (_, p) in parameters { buffer += p.grad?.data ?? [Float](repeating: 0, count: p.count) }
        sum(&buffer)
        var offset = 0
        for (_, p) in parameters {
            p.grad = Tensor(shape: p.shape, data: Array(buffer[offset ..< offset + p.count]))
            offset += p.count
        }
    }

    /// A fingerprint of `module`'s parameters and buffers (their bit patterns, hashed in name
    /// order) gathered from every rank: equal on all ranks when the ranks hold the same weights.
    public func fingerprints(of module: Module) -> [UInt64] {
        var fnv = FNV1a()   // over the Float bit patterns
        for (_, t) in module.namedParameters() + module.namedBuffers() {
            fnv.combine(bitPatternsOf: t.data)
        }
        let hash = fnv.value
        // a UInt64 does not fit a Double exactly: send it as two 32-bit halves
        let all = gather([Double(hash >> 32), Double(hash & 0xffff_ffff)])
        return all.map { (UInt64($0[0]) << 32) | UInt64($0[1]) }
    }
}

/// One process: rank 0 of 1. Every collective returns its input.
public final class SingleProcess: Communicator {
    /// The single process.
    public init() {}
    /// Always 0.
    public var rank: Int { 0 }
    /// Always 1.
    public var size: Int { 1 }
    /// Leaves `values` as they are (the sum over one rank).
    public func sum(_ values: inout [Double]) {}
    /// Leaves `values` as they are (the sum over one rank).
    public func sum(_ values: inout [Float]) {}
    /// Leaves `values` as they are (the maximum over one rank).
    public func maximum(_ values: inout [Int64]) {}
    /// `[values]`.
    public func gather(_ values: [Double]) -> [[Double]] { [values] }
    /// Leaves `bytes` as they are.
    public func broadcast(_ bytes: inout [UInt8], from root: Int) {}
    /// Returns at once.
    public func barrier() {}
}

/// Batch statistics of ``BatchNorm2d`` over every rank of a data-parallel run (synchronised
/// BatchNorm): in training mode the channel means and variances, and in the backward pass the
/// sums the input gradient needs, are summed over the ranks, so that N ranks with batch B/N
/// compute what one process computes with batch B. Shared by every BatchNorm2d of a network
/// (``Module/synchronizeBatchStatistics(_:)``).
public final class BatchStatisticsSync: @unchecked Sendable {
    /// The ranks.
    public let communicator: any Communicator
    /// Set while this rank's batch is a placeholder (the rank holds no sample of the global
    /// batch but must take part in its collectives): it then adds nothing to the statistics.
    /// The trainer sets it around the step; a placeholder's loss is weighted 0.
    public var isPlaceholder = false

    /// Statistics over the ranks of `communicator`.
    public init(communicator: any Communicator) { self.communicator = communicator }
}

extension Module {
    /// Makes every ``BatchNorm2d`` under this module use `sync` in training mode (nil: its own
    /// batch only, the default).
    public func synchronizeBatchStatistics(_ sync: BatchStatisticsSync?) {
        for (_, m) in namedModules() {
            if let bn = m as? BatchNorm2d { bn.synchronization = sync }
        }
    }
}
