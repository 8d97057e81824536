// NeuralCore: Float32 tensors with reverse-mode autodiff, layers, losses, optimizers, checkpoints.
