import KilnAWS
public import KilnCore

/// The Amazon data sources, and what they share.
public enum AmazonDataSources {
  /// Every Amazon data source, by type name.
  public static let types: [String: any DataSourcePlugin.Type] = [
    AmazonAMIDataSource.typeName: AmazonAMIDataSource.self,
    AmazonParameterStoreDataSource.typeName: AmazonParameterStoreDataSource.self,
  ]

  /// Access options a data source decodes (they are the plugin's `AccessConfig`) that do
  /// nothing for it, as in the plugin: it waits for nothing, makes no region check before its
  /// call, and `amazon-parameterstore` calls SSM, not EC2.
  static func acceptAccessOptionsWithoutEffect(_ r: inout ConfigReader, callsEC2: Bool) {
    r.acceptWithoutEffect("skip_region_validation", because: "a data source makes no region check before its call")
    if var block = r.object("aws_polling") {
      for key in ["delay_seconds", "max_attempts"] { block.acceptWithoutEffect(key, because: "a data source waits for nothing") }
    }
    if !callsEC2 {
      r.acceptWithoutEffect(
        "custom_endpoint_ec2", because: "amazon-parameterstore calls SSM, not EC2 (AWS_ENDPOINT_URL_SSM sets SSM's endpoint)")
    }
  }

  /// The connection of a data source's access options, a failure to make it worded for the block.
  static func connect(_ access: AWSAccessConfig, _ context: DataSourceContext, label: String, at location: SourceLocation) throws
    -> AWSConnection
  {
    do {
      return try access.connect(
        environment: context.environment, sessionName: context.sessionName,
        log: AWSClientLog(debug: context.debug, console: context.console))
    } catch {
      throw DataSourceError("\(label): \(error)", at: location)
    }
  }
}
