import Foundation
import KilnAWS
import Testing
import _KilnTestSupport

/// Kiln's public endpoints against AWS's own endpoint rules (EC2's, STS's and SSM's
/// `endpoint-rule-set-1.json` and `partitions.json`, run by botocore's engine offline in
/// `Tests/Fixtures/endpoint_peer.py`): every region of every partition, FIPS and dual-stack.
@Suite struct EndpointTests {
  struct Row: Decodable {
    var service: String
    var region: String
    var fips: Bool
    var dualStack: Bool
    var url: String?
  }

  /// Regions no partition lists yet, one per partition's pattern, and one of none.
  static let unlistedRegions = [
    "us-west-9", "cn-south-7", "us-gov-north-5", "us-iso-north-2", "us-isob-south-3", "eu-isoe-east-4", "us-isof-west-6",
    "eusc-de-west-2", "xx-nowhere-1",
  ]

  @Test func everyRegionOfEveryPartitionAndVariantIsWhereAWSsRulesSay() async throws {
    let (status, output) = try await TestCommand.run(
      ["python3", TestPaths.fixture("endpoint_peer.py").path] + Self.unlistedRegions, includeStderr: false, timeout: 120)
    try #require(status == 0, "endpoint_peer.py failed")
    let rows = try JSONDecoder().decode([Row].self, from: Data(output.utf8))
    let partitions = Set(rows.map { AWSPartition.of($0.region).id })
    // The table covers what it says: the three services, all eight partitions, four variants each.
    #expect(Set(rows.map(\.service)) == ["ec2", "sts", "ssm"])
    #expect(partitions == Set(AWSPartition.all.map(\.id)))
    #expect(rows.count >= 2 * 4 * 40)
    var wrong: [String] = []
    for row in rows {
      let variant = EndpointVariant(fips: row.fips, dualStack: row.dualStack)
      let url = try? AWSQueryClient.endpoint(service: row.service, region: row.region, custom: nil, variant: variant).absoluteString
      if url != row.url {
        wrong.append(
          "\(row.service) \(row.region) fips=\(row.fips) dualstack=\(row.dualStack): kiln \(url ?? "error"), AWS's rules \(row.url ?? "error")")
      }
    }
    #expect(wrong.isEmpty, "\(wrong.count) of \(rows.count) differ:\n\(wrong.joined(separator: "\n"))")
  }

  @Test func theVariantComesFromTheEnvironmentThenTheProfile() throws {
    let home = try Scratch.directory("kiln-endpoint-home")
    try FileManager.default.createDirectory(at: home.appendingPathComponent(".aws"), withIntermediateDirectories: true)
    try "[default]\nuse_fips_endpoint = true\n[profile gov]\nuse_dualstack_endpoint = TRUE\nuse_fips_endpoint = maybe\n"
      .write(to: home.appendingPathComponent(".aws/config"), atomically: true, encoding: .utf8)
    var settings = CredentialsSettings()
    settings.home = home.path
    settings.environment = [:]
    #expect(try settings.endpointVariant() == EndpointVariant(fips: true))
    settings.environment = ["AWS_USE_FIPS_ENDPOINT": "false", "AWS_USE_DUALSTACK_ENDPOINT": "true"]
    #expect(try settings.endpointVariant() == EndpointVariant(fips: false, dualStack: true))
    settings.environment = ["AWS_PROFILE": "gov"]
    let error = #expect(throws: AWSConfigurationError.self) { try settings.endpointVariant() }
    #expect(error?.message == "use_fips_endpoint in profile gov must be true or false, not \"maybe\"")
    settings.environment = ["AWS_PROFILE": "gov", "AWS_USE_FIPS_ENDPOINT": "true"]
    #expect(try settings.endpointVariant() == EndpointVariant(fips: true, dualStack: true))
    let client = try EC2Client(
      region: "us-gov-west-1", variant: try settings.endpointVariant(), http: try CurlHTTPClient(),
      credentials: StaticCredentialsProvider(SigV4.Credentials(accessKeyID: "AKID", secretAccessKey: "secret")))
    #expect(client.query.endpoint.absoluteString == "https://ec2-fips.us-gov-west-1.api.aws")
  }
}
