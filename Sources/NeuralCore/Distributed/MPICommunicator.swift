import CMPI
import Foundation

/// Open MPI's world (`MPI_COMM_WORLD`) as a ``Communicator``: the ranks `mpirun -np N` starts.
///
/// ```swift
/// let world = try MPICommunicator.world()      // MPI_Init_thread, once per process
/// defer { MPICommunicator.finalize() }
/// let summary = try trainer.train(training: cases, validation: held, outputs: outputs, communicator: world)
/// ```
///
/// A process started without `mpirun` is a world of one rank (MPI's singleton start). MPI is
/// initialised with `MPI_THREAD_SERIALIZED`: any thread may call it, one at a time (training
/// calls it from the thread that runs the training). A failed collective prints MPI's message on
/// stderr and ends every rank with `MPI_Abort` (the ranks would otherwise wait on each other forever).
public final class MPICommunicator: Communicator {
    /// This process's rank in `MPI_COMM_WORLD`.
    public let rank: Int
    /// The number of ranks `mpirun` started (1 without it).
    public let size: Int

    private init(rank: Int, size: Int) {
        self.rank = rank
        self.size = size
    }

    /// The world, initialising MPI on the first call.
    /// - Throws: ``NeuralCoreError/invalidConfig(source:reason:)`` when MPI cannot start (for
    ///   example after ``finalize()``).
    public static func world() throws -> MPICommunicator {
        let rc = ichct_mpi_init()
        guard rc == 0 else { throw NeuralCoreError.invalidConfig(source: "MPI", reason: "MPI_Init failed: \(message(rc))") }
        var r: Int32 = 0, s: Int32 = 0
        try check(ichct_mpi_rank(&r), "MPI_Comm_rank")
        try check(ichct_mpi_size(&s), "MPI_Comm_size")
        return MPICommunicator(rank: Int(r), size: Int(s))
    }

    /// Ends MPI for this process (`MPI_Finalize`); a no-op when it is not running.
    public static func finalize() { _ = ichct_mpi_finalize() }

    /// Ends every rank's run with exit status `code` (`MPI_Abort`).
    public static func abort(code: Int32) -> Never {
        _ = ichct_mpi_abort(code)
        exit(code)
    }

    private static func message(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        ichct_mpi_error_string(code, &buffer, Int32(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func check(_ rc: Int32, _ what: String) throws {
        guard rc == 0 else { throw NeuralCoreError.invalidConfig(source: "MPI", reason: "\(what) failed: \(message(rc))") }
    }

    /// A collective that failed leaves the ranks out of step: say so and end them all.
    private func require(_ rc: Int32, _ what: String) {
        guard rc != 0 else { return }
        FileHandle.standardError.write(Data("ichct: rank \(rank): \(what) failed: \(Self.message(rc)); ending every rank\n".utf8))
        Self.abort(code: 1)
    }

    /// `MPI_Allreduce` with `MPI_SUM` over doubles, in place (no call with one rank or no values).
    public func sum(_ values: inout [Double]) {
        guard size > 1, !values.isEmpty else { return }
        let n = Int64(values.count)
        require(values.withUnsafeMutableBufferPointer { ichct_mpi_allreduce_sum_double($0.baseAddress, n) }, "MPI_Allreduce (sum of doubles)")
    }

    /// `MPI_Allreduce` with `MPI_SUM` over floats, in place (no call with one rank or no values).
    public func sum(_ values: inout [Float]) {
        guard size > 1, !values.isEmpty else { return }
        let n = Int64(values.count)
        require(values.withUnsafeMutableBufferPointer { ichct_mpi_allreduce_sum_float($0.baseAddress, n) }, "MPI_Allreduce (sum of floats)")
    }

    /// `MPI_Allreduce` with `MPI_MAX` over 64-bit integers, in place.
    public func maximum(_ values: inout [Int64]) {
        guard size > 1, !values.isEmpty else { return }
        let n = Int64(values.count)
        require(values.withUnsafeMutableBufferPointer { ichct_mpi_allreduce_max_int64($0.baseAddress, n) }, "MPI_Allreduce (max)")
    }

    /// The lengths by `MPI_Allgather`, then the values by `MPI_Allgatherv`: every rank's array, in rank order.
    public func gather(_ values: [Double]) -> [[Double]] {
        guard size > 1 else { return [values] }
        var counts = [Double](repeating: 0, count: size)
        var mine = [Double(values.count)]
        require(mine.withUnsafeMutableBufferPointer { m in
            counts.withUnsafeMutableBufferPointer { ichct_mpi_allgather_double(m.baseAddress, 1, $0.baseAddress) }
        }, "MPI_Allgather (counts)")
        let lengths = counts.map { Int32($0) }
        var out = [Double](repeating: 0, count: lengths.reduce(0) { $0 + Int($1) })
        require(values.withUnsafeBufferPointer { v in
            lengths.withUnsafeBufferPointer { c in
                out.withUnsafeMutableBufferPointer { ichct_mpi_allgatherv_double(v.baseAddress, Int64(values.count), c.baseAddress, $0.baseAddress) }
            }
        }, "MPI_Allgatherv")
        var parts: [[Double]] = [], offset = 0
        for l in lengths {
            parts.append(Array(out[offset ..< offset + Int(l)]))
            offset += Int(l)
        }
        return parts
    }

    /// The length, then the bytes, by `MPI_Bcast` from `root`.
    public func broadcast(_ bytes: inout [UInt8], from root: Int) {
        guard size > 1 else { return }
        var length = [Int64(bytes.count)]
        require(length.withUnsafeMutableBytes { ichct_mpi_broadcast_bytes($0.baseAddress, 8, Int32(root)) }, "MPI_Bcast (length)")
        if rank != root { bytes = [UInt8](repeating: 0, count: Int(length[0])) }
        let n = Int64(bytes.count)
        require(bytes.withUnsafeMutableBytes { ichct_mpi_broadcast_bytes($0.baseAddress, n, Int32(root)) }, "MPI_Bcast")
    }

    /// `MPI_Barrier` on the world.
    public func barrier() {
        guard size > 1 else { return }
        require(ichct_mpi_barrier(), "MPI_Barrier")
    }
}
