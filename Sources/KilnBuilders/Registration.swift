public import KilnCore

extension PluginRegistry {
  /// Registers the builders of this module.
  public mutating func registerBuilders() {
    register(builder: NullBuilder.self)
    register(builder: AmazonEBSBuilder.self)
  }
}
