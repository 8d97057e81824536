import CTVolume
import NeuralCore

/// How a data-parallel run shares the work of one global batch (``ClassifierTrainer`` and
/// ``RefinerTrainer`` with a ``Communicator`` of more than one rank).
///
/// Every rank draws the same epoch plan and the same augmentation stream (one seed), so the
/// global batches are those of one process with the same batch size, whatever the number of
/// ranks. Item j of a global batch of B goes to rank j mod N (balanced: shares differ by at most
/// one). Each rank draws every item's augmentation, so the streams stay in step, but applies and
/// computes only its own. Its loss is weighted by its share of the batch (its item count / B),
/// the gradients are summed over the ranks (``Communicator/sumGradients(of:)``) and BatchNorm
/// takes its statistics over the ranks (``BatchStatisticsSync``): the step is the global
/// batch's step. A rank without an item in a batch (B < N, or a short last batch) computes a
/// one-item placeholder that adds nothing (weight 0, no statistics). The optimizer then takes
/// the same step on every rank.
///
/// **Sharded data.** When the cases a rank is given include outlines (cases without their
/// slices, ``PreparedCase/holdsSlices``), the data is sharded: rank r holds the slices of
/// training cases k ≡ r (mod N) and of validation cases v ≡ r (mod N), outlines of the others,
/// and an item of a batch goes to the rank that holds its case instead of by its position. The
/// global batches, and so the weights, stay one process's; a batch's shares are then as uneven
/// as its cases' holders.
struct DataParallel {
    let communicator: any Communicator
    let sync: BatchStatisticsSync
    /// Items go to their case's holder (sharded data), not by position.
    private(set) var byCase = false

    /// Data parallelism over `communicator`, or nil for one rank.
    init?(_ communicator: (any Communicator)?) {
        guard let communicator, communicator.size > 1 else { return nil }
        self.communicator = communicator
        self.sync = BatchStatisticsSync(communicator: communicator)
    }

    /// Data parallelism over `communicator` for these cases (nil for one rank): sharded when
    /// any case is an outline.
    ///
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` when there are outlines
    ///   without several ranks to hold the cases, or when this rank does not hold exactly the
    ///   slices of the cases it owns (every rank must be given its own shard of the same lists).
    static func over(_ communicator: (any Communicator)?, training: [PreparedCase], validation: [PreparedCase]) throws -> DataParallel? {
        let outline = (training + validation).first { !$0.holdsSlices }
        guard var parallel = DataParallel(communicator) else {
            if let outline {
                throw WeakSupervisionError.invalidParameter(
                    name: "cases", reason: "case \(outline.name) is an outline without its slices: only the ranks of a data-parallel run train on sharded data")
            }
            return nil
        }
        guard outline != nil else { return parallel }
        let rank = parallel.communicator.rank, size = parallel.communicator.size
        for (list, cases) in [("training", training), ("validation", validation)] {
            for (k, item) in cases.enumerated() where item.holdsSlices != (k % size == rank) {
                throw WeakSupervisionError.invalidParameter(
                    name: "cases", reason: "\(list) case \(item.name) (position \(k)) is \(item.holdsSlices ? "held" : "an outline") on rank \(rank) of \(size); with sharded data rank r holds the slices of the cases at positions r, r + N, r + 2N, ... of each list and outlines of the others")
            }
        }
        parallel.byCase = true
        return parallel
    }

    /// Whether the item at position `j` of a global batch, from training case `caseIndex`, is
    /// this rank's: by position, or with sharded data by the case's holder.
    func owns(_ j: Int, case caseIndex: Int) -> Bool { (byCase ? caseIndex : j) % communicator.size == communicator.rank }

    /// Whether case `index` of a validation list is this rank's to validate.
    func validates(_ index: Int) -> Bool { index % communicator.size == communicator.rank }

    /// The backward pass and optimizer step of one batch: with `parallel` nil, `loss` alone
    /// (this process's batch); else ``backward(_:own:total:model:)``. Returns the batch's loss.
    static func step(_ loss: Tensor, parallel: DataParallel?, own: Int, total: Int, model: Module, optimizer: Optimizer) -> Float {
        let reported: Float
        if let parallel {
            reported = parallel.backward(loss, own: own, total: total, model: model)
        } else {
            loss.backward()
            reported = loss.item
        }
        optimizer.update(model: model, gradients: model.parameterGradients())
        return reported
    }

    /// Runs the backward pass of `loss` (this rank's mean over its `own` of the batch's `total`
    /// items) weighted by `own / total`, sums the gradients over the ranks, and returns the
    /// global batch's loss (the weighted losses summed over the ranks).
    func backward(_ loss: Tensor, own: Int, total: Int, model: Module) -> Float {
        let weighted = loss * (Float(own) / Float(total))
        weighted.backward()
        communicator.sumGradients(of: model)
        var value = [Double(weighted.item)]
        communicator.sum(&value)
        return Float(value[0])
    }
}

extension Shard {
    /// A list's cases as one rank of sharded training keeps them (``DataParallel``): the cases at
    /// positions K, K + N, K + 2N, ... of the list (``owns(position:)``) by `hold`, the others by
    /// `outline`. ``Shard/whole`` holds every case.
    func prepare(_ cases: [DatasetCase], hold: (DatasetCase) throws -> PreparedCase,
                 outline: (DatasetCase) throws -> PreparedCase) rethrows -> [PreparedCase] {
        try cases.enumerated().map { k, item in try owns(position: k) ? hold(item) : outline(item) }
    }
}
