import Foundation
public import KilnAWS
public import KilnCore

extension AmazonParameterStoreDataSource {
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
