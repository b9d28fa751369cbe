extension Duration {
  /// The duration in seconds, as configuration and messages use it.
  public var inSeconds: Double {
    Double(components.seconds) + Double(components.attoseconds) / 1e18
  }
}
