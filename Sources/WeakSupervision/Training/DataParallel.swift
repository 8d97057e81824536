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
struct DataParallel {
    let communicator: any Communicator
    let sync: BatchStatisticsSync

    /// Data parallelism over `communicator`, or nil for one rank.
    init?(_ communicator: (any Communicator)?) {
        guard let communicator, communicator.size > 1 else { return nil }
        self.communicator = communicator
        self.sync = BatchStatisticsSync(communicator: communicator)
    }

    /// Whether position `j` of a global batch is this rank's.
    func owns(_ j: Int) -> Bool { j % communicator.size == communicator.rank }

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
