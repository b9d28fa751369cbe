public import KilnCore

extension PluginRegistry {
  /// Registers the builders of this module, and its data sources.
  public mutating func registerBuilders() {
    register(builder: NullBuilder.self)
    register(builder: AmazonEBSBuilder.self)
    for type in AmazonDataSources.types.values { register(dataSource: type) }
  }
}
