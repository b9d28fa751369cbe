import Foundation
public import KilnAWS
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
    AmazonDataSources.acceptAccessOptionsWithoutEffect(&r)
    parameterName = r.requiredString("name") ?? ""
    withDecryption = r.bool("with_decryption") ?? false
    location = r.location(of: "name")
  }

  public func evaluate(_ context: DataSourceContext) async throws -> DataSourceOutput {
    let connection = try AmazonDataSources.connect(access, context, label: Self.label(name), at: location)
    return try await evaluate(ssm: try connection.ssm(limiterKey: "data-sources"))
  }

  /// The evaluation over an SSM client the caller makes (tests: moto).
  public func evaluate(ssm: SSMClient) async throws -> DataSourceOutput {
    let label = Self.label(name)
    let parameter: SSMParameter
    do {
      parameter = try await ssm.getParameter(name: parameterName, withDecryption: withDecryption)
    } catch let error as AWSServiceError where error.code == "ParameterNotFound" {
      throw DataSourceError(
        "\(label): The parameter name \"\(parameterName)\" not found in \(ssm.region) (\(error.code): \(error.message))", at: location)
    } catch let error as AWSServiceError where error.code == "ParameterVersionNotFound" {
      throw DataSourceError("\(label): The parameter version \"\(parameterName)\" not found in \(ssm.region) (\(error.message))", at: location)
    } catch let error as CancellationError {
      throw error
    } catch {
      throw DataSourceError("\(label): error to get parameter value of \"\(parameterName)\": \(error)", at: location)
    }
    return DataSourceOutput(
      values: ["value": .string(parameter.value), "version": .string(String(parameter.version)), "arn": .string(parameter.arn)],
      sensitive: parameter.isSecure ? ["value"] : [])
  }
}

/// The Amazon data sources, and what they share.
public enum AmazonDataSources {
  /// Every Amazon data source, by type name.
  public static let types: [String: any DataSourcePlugin.Type] = [
    AmazonAMIDataSource.typeName: AmazonAMIDataSource.self,
    AmazonParameterStoreDataSource.typeName: AmazonParameterStoreDataSource.self,
  ]

  /// Access options a data source decodes (they are the plugin's `AccessConfig`) that do
  /// nothing for it, as in the plugin: it waits for nothing and validates no region by a call.
  static func acceptAccessOptionsWithoutEffect(_ r: inout ConfigReader) {
    if r.has("aws_polling") {
      r.warning("'aws_polling' is accepted for compatibility and has no effect: a data source waits for nothing", at: r.location(of: "aws_polling"))
    }
    if r.has("skip_region_validation") {
      r.warning(
        "'skip_region_validation' is accepted for compatibility and has no effect: a data source makes no region check before its call",
        at: r.location(of: "skip_region_validation"))
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
