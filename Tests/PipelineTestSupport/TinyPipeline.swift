import WeakSupervision

/// A pipeline small enough for a debug build: 4 phantom cases of 64 x 64 x 6 and a sealed test
/// set of 2 of another seed, networks of a few channels, one short epoch each, one montage. It
/// checks the plumbing, not the numbers. `boneRim`, `contrast`: the comparison's bone-rim and
/// contrast filters (nil: off).
public func tinyPipelineConfig(boneRim: BoneRimFiltered.Settings? = nil, contrast: ContrastFiltered.Settings? = nil) -> PipelineConfig {
    var c = PipelineConfig.quick
    c.data.phantomCases = 4
    c.data.phantom = PipelineConfig.phantom(size: 64)   // generation 1 (the presets train on generation 2): fixed 5 mm slices keep the plumbing checks small
    c.data.phantom.slices = 6...6
    c.data.phantom.subSlices = 1
    c.data.validationFraction = 0.25
    c.data.testFraction = 0
    c.data.sealedTest = .init(phantomCases: 2, phantomSeed: 7)
    c.classifier.training.model = ResNetLSTMConfig(inputSize: 32, width: 4, blocks: [1, 1, 1, 1], hidden: 4)
    c.classifier.training.epochs = 1
    c.classifier.training.stepsPerEpoch = 2
    c.classifier.training.sequenceLength = 6
    c.refiner.training.model = UNetLiteConfig(inputSize: 32, widths: [4, 8])
    c.refiner.training.epochs = 1
    c.refiner.training.stepsPerEpoch = 2
    c.cam.layer = "layer2"
    c.comparison.montageCases = 1
    c.comparison.boneRim = boneRim
    c.comparison.contrast = contrast
    return c
}
