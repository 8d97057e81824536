import Foundation

/// The architecture of a network, as the JSON its checkpoint carries under the metadata key
/// ``metadataKey`` (`ichct.config`). Conform a Codable configuration of your own network and
/// ``NetworkCheckpoint`` stores, reads and validates it.
public protocol NetworkConfiguration: Codable, Sendable, Equatable {
    /// Checks that the values describe a buildable network.
    ///
    /// - Parameter source: the file the configuration came from, for error messages.
    /// - Throws: ``NeuralCoreError/invalidConfig(source:reason:)`` naming the first bad field.
    func validate(source: String) throws
}

extension NetworkConfiguration {
    /// The metadata key holding the JSON configuration in a checkpoint.
    public static var metadataKey: String { "ichct.config" }

    /// Parses and validates the JSON text of a configuration.
    ///
    /// - Parameters:
    ///   - json: the `ichct.config` value.
    ///   - source: the file it came from, for error messages.
    /// - Throws: ``NeuralCoreError/invalidConfig(source:reason:)`` for JSON that does not decode
    ///   (the message names the field) or values that ``validate(source:)`` refuses.
    public init(json: String, source: String) throws {
        let config: Self
        do {
            config = try JSONDecoder().decode(Self.self, from: Data(json.utf8))
        } catch {
            throw NeuralCoreError.invalidConfig(source: source, reason: NeuralCoreError.reason(error))
        }
        try config.validate(source: source)
        self = config
    }

    /// The configuration as compact JSON with sorted keys.
    public var jsonString: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // A configuration of numbers, strings and arrays cannot fail to encode.
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }
}

/// A network checkpoint: the state dictionary in the reference's safetensors layout (PyTorch
/// `state_dict` names, float32, `num_batches_tracked` int64) plus the network's configuration
/// as JSON in the `ichct.config` metadata.
///
/// A checkpoint written by the PyTorch reference's `save` loads here, and one written here
/// loads in PyTorch with `load_state_dict(strict=True)`.
public struct NetworkCheckpoint<Configuration: NetworkConfiguration>: Sendable, Equatable {
    /// Which network and its architecture.
    public var config: Configuration
    /// The state dictionary.
    public var tensors: [String: StoredTensor]

    /// A checkpoint from a configuration and a state dictionary.
    public init(config: Configuration, tensors: [String: StoredTensor]) {
        self.config = config
        self.tensors = tensors
    }

    /// A checkpoint of `module`'s current state.
    public init(config: Configuration, module: Module) {
        self.init(config: config, tensors: module.storedStateDict())
    }

    /// Reads a checkpoint; the file must carry a valid `ichct.config`.
    ///
    /// - Throws: the errors of ``SafeTensors/init(contentsOf:)`` and
    ///   ``NeuralCoreError/invalidConfig(source:reason:)``.
    public init(contentsOf url: URL) throws {
        let file = try SafeTensors(contentsOf: url)
        guard let json = file.metadata[Configuration.metadataKey] else {
            throw NeuralCoreError.invalidConfig(source: url.path, reason: "no \(Configuration.metadataKey) metadata (not an ichct checkpoint)")
        }
        self.init(config: try Configuration(json: json, source: url.path), tensors: file.tensors)
    }

    /// The safetensors contents: tensors plus the configuration under `ichct.config`.
    public var safeTensors: SafeTensors {
        SafeTensors(tensors: tensors, metadata: [Configuration.metadataKey: config.jsonString])
    }

    /// Writes the checkpoint atomically.
    ///
    /// - Parameters:
    ///   - url: destination (`.safetensors`).
    ///   - overwrite: replace an existing file (default `false`).
    public func write(to url: URL, overwrite: Bool = false) throws {
        try safeTensors.write(to: url, overwrite: overwrite)
    }
}

/// A network that is saved and loaded with its configuration: build it from a checkpoint,
/// save its state as one. Conforming takes two members; loading, saving and the checkpoint
/// come from the extension. A `final` class implements the initialiser as it likes; a class
/// that can be subclassed must mark it `required`, as Swift asks of protocol initialisers.
///
/// ```swift
/// let net = try ResNetLSTM(contentsOf: url)       // any CheckpointedNetwork
/// try net.save(to: other, overwrite: true)
/// ```
public protocol CheckpointedNetwork: Module {
    /// What the network's checkpoint carries as `ichct.config`.
    associatedtype Configuration: NetworkConfiguration
    /// The configuration this network's checkpoint carries.
    var checkpointConfiguration: Configuration { get }
    /// A freshly initialised network of the architecture `configuration` describes.
    ///
    /// - Throws: ``NeuralCoreError/invalidConfig(source:reason:)`` when `configuration`
    ///   describes another network.
    init(checkpointConfiguration configuration: Configuration, source: String) throws
}

extension CheckpointedNetwork {
    /// Builds the network a checkpoint describes and loads its tensors (evaluation mode).
    ///
    /// - Throws: the errors of ``init(checkpointConfiguration:source:)`` and the loading
    ///   errors naming missing, unexpected or mis-shaped tensors.
    public init(checkpoint: NetworkCheckpoint<Configuration>, source: String) throws {
        try self.init(checkpointConfiguration: checkpoint.config, source: source)
        try load(safeTensors: SafeTensors(tensors: checkpoint.tensors), source: source)
        eval()
    }

    /// Loads a checkpoint file: the architecture from its `ichct.config`, then every tensor,
    /// names and shapes checked. The network is returned in evaluation mode.
    ///
    /// - Throws: the errors of ``NetworkCheckpoint/init(contentsOf:)`` and
    ///   ``init(checkpoint:source:)``.
    public init(contentsOf url: URL) throws {
        try self.init(checkpoint: try NetworkCheckpoint(contentsOf: url), source: url.path)
    }

    /// The network's current state as a checkpoint.
    public var checkpoint: NetworkCheckpoint<Configuration> {
        NetworkCheckpoint(config: checkpointConfiguration, module: self)
    }

    /// Writes ``checkpoint`` atomically (PyTorch loads it with `load_state_dict(strict=True)`).
    ///
    /// - Parameters:
    ///   - url: destination.
    ///   - overwrite: replace an existing file (default `false`).
    public func save(to url: URL, overwrite: Bool = false) throws {
        try checkpoint.write(to: url, overwrite: overwrite)
    }
}
