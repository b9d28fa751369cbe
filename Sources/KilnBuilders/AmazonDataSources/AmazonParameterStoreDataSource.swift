import KilnAWS
public import KilnCore

/// The amazon plugin's `amazon-parameterstore` data source: one SSM Parameter Store
/// parameter, read with `GetParameter` (`SSMClient`).
///
/// Configuration: `name` (required; a name or ARN, with a version `name:3` or label
/// `name:prod` selector when wanted), `with_decryption`, and the access options
/// (`AWSAccessConfig`). SSM's endpoint is the region's public one (FIPS and dual-stack as for
/// EC2), or `AWS_ENDPOINT_URL_SSM`.
///
/// Outputs: `value`, `version` (a string, as the plugin gives it) and `arn`. The value of a
/// `SecureString` parameter is listed in `DataSourceOutput.sensitive` (decrypted or not):
/// the caller masks it.
///
/// Errors are the plugin's words (`The parameter name "…" not found`, `The parameter version
/// "…" not found`, `error to get parameter value: …`), after the block's label, at the
/// position of `name`.
public struct AmazonParameterStoreDataSource: DataSourcePlugin {
  public static let typeName = "amazon-parameterstore"
  public static let outputNames = ["value", "version", "arn"]

  public let name: String
  public var access: AWSAccessConfig
  /// The parameter's name (`parameterName`: `name` is the block's).
  public var parameterName: String
  public var withDecryption: Bool
  /// Where `name` is (or the block, when it is missing), for errors found at evaluation.
  let location: SourceLocation

  public init(name: String, from r: inout ConfigReader) {
    self.name = name
    access = AWSAccessConfig(from: &r)
    AmazonDataSources.acceptAccessOptionsWithoutEffect(&r, callsEC2: false)
    parameterName = r.requiredString("name") ?? ""
    withDecryption = r.bool("with_decryption") ?? false
    location = r.location(of: "name")
  }
}
