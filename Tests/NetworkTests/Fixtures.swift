import Foundation
import NeuralCore
import Testing
import TestSupport

/// URL of a fixture made by scripts/fixtures/network_fixtures.py.
func fixtureURL(_ name: String) -> URL {
    FixtureFile.url(name, in: .module, madeBy: "scripts/fixtures/network_fixtures.py")
}

/// The train-mode check both networks share: `forward` (the network in train mode) on the
/// fixture's `input` gives torch's `train.logits` (scaled error 1e-4), the BCE loss against the
/// fixture's `targets` equals `train.loss` (relative 1e-5), and after the backward pass every
/// parameter of `net` has torch's `train.grad.KEY` (scaled error 1e-4). The BatchNorm buffers
/// are left to the caller.
func expectTrainParity(_ net: Module, io: [String: Tensor], targets: String, forward: (Tensor) -> Tensor) throws {
    let out = forward(io["input"]!)
    let outErr = scaledError(out.data, io["train.logits"]!.data)
    #expect(outErr <= 1e-4, "train logits scaled error \(outErr)")
    let loss = binaryCrossEntropyWithLogits(out, targets: io[targets]!)
    #expect(abs(loss.item - io["train.loss"]!.item) <= 1e-5 * abs(io["train.loss"]!.item))
    loss.backward()
    for (key, p) in net.namedParameters() {
        let want = try #require(io["train.grad.\(key)"])
        let err = scaledError(p.grad?.data ?? [], want.data)
        #expect(err <= 1e-4, "grad \(key) scaled error \(err)")
    }
}
