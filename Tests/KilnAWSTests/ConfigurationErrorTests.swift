import Foundation
import KilnAWS
import Testing

/// Input that used to crash Kiln (force unwraps on values from the template or the
/// environment) is a clear error naming the value.
@Suite struct ConfigurationErrorTests {
  let credentials = StaticCredentialsProvider(SigV4.Credentials(accessKeyID: "AKID", secretAccessKey: "secret"))

  @Test(arguments: ["us-east-1", "cn-north-1", "us-gov-west-1", "eu-central-2", "local1"])
  func regionNamesOfAWSsShapeAreAccepted(region: String) throws {
    try AWSRegion.validate(region)
    let client = try EC2Client(region: region, http: try CurlHTTPClient(), credentials: credentials)
    #expect(client.query.endpoint.host?.hasPrefix("ec2.\(region).amazonaws.com") == true)
  }

  /// "us east 1" passed validate, then trapped on a force unwrap when the client was made.
  @Test(arguments: ["us east 1", "US-EAST-1", "us_east_1", "-us-east-1", "us-east-1-", "us-east-1.evil.example", "ü-1", ""])
  func otherRegionsAreAnErrorWhenTheClientIsMade(region: String) throws {
    for endpoint in [nil, "http://127.0.0.1:9"] {
      do {
        let client = try EC2Client(region: region, customEndpoint: endpoint, http: try CurlHTTPClient(), credentials: credentials)
        Issue.record("region \"\(region)\" made a client for \(client.query.endpoint)")
      } catch let error as AWSConfigurationError {
        if region.isEmpty && endpoint == nil {
          #expect(error.message.hasPrefix("no region"), "\(error)")
        } else {
          #expect(
            error.message == "region \"\(region)\" is not an AWS region name: it may hold only lowercase letters, digits and hyphens, like us-east-1")
        }
      }
    }
    #expect(throws: AWSConfigurationError.self) {
      try STSClient(region: region.isEmpty ? "bad region" : region, http: try CurlHTTPClient(), credentials: credentials)
    }
  }

  @Test func aContainerCredentialsURIThatIsNoURLIsAnErrorNamingIt() async throws {
    var settings = CredentialsSettings()
    settings.home = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-empty-home-\(UUID().uuidString)").path
    settings.environment = ["AWS_EC2_METADATA_DISABLED": "true", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "not a url"]
    do {
      _ = try await CredentialsChain(settings: settings, http: try CurlHTTPClient()).credentials()
      Issue.record("credentials from \"not a url\"")
    } catch let error as AWSConfigurationError {
      #expect(error.message == "AWS_CONTAINER_CREDENTIALS_FULL_URI \"not a url\" is not a URL")
    }
  }
}
