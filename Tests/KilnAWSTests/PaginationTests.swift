import Foundation
import KilnAWS
import Synchronization
import Testing

/// A scripted `HTTPClient`: answers each request with the next canned response.
final class ScriptedHTTPClient: HTTPClient {
  let responses: Mutex<[HTTPResponse]>
  let requests = Mutex<[HTTPRequest]>([])

  init(_ bodies: [String], status: Int = 200) {
    responses = Mutex(bodies.map { HTTPResponse(status: status, headers: [], body: Array($0.utf8)) })
  }

  func send(_ request: HTTPRequest) async throws -> HTTPResponse {
    requests.withLock { $0.append(request) }
    return responses.withLock { $0.removeFirst() }
  }
}

@Suite struct PaginationTests {
  @Test func followsNextTokenToTheLastPage() async throws {
    let http = ScriptedHTTPClient([
      "<DescribeVolumesResponse><volumeSet><item><volumeId>vol-1</volumeId><status>available</status><size>8</size></item></volumeSet><nextToken>page-2</nextToken></DescribeVolumesResponse>",
      "<DescribeVolumesResponse><volumeSet><item><volumeId>vol-2</volumeId><status>in-use</status><size>20</size></item></volumeSet><nextToken/></DescribeVolumesResponse>",
    ])
    let ec2 = try EC2Client(
      region: "us-east-1", customEndpoint: "http://127.0.0.1:9", http: http,
      credentials: StaticCredentialsProvider(SigV4.Credentials(accessKeyID: "AKID", secretAccessKey: "secret")))
    let volumes = try await ec2.describeVolumes()
    #expect(volumes.map(\.volumeID) == ["vol-1", "vol-2"])
    #expect(volumes.map(\.size) == [8, 20])
    let bodies = http.requests.withLock { $0.map { String(decoding: $0.body, as: UTF8.self) } }
    #expect(bodies == ["Action=DescribeVolumes&Version=2016-11-15", "Action=DescribeVolumes&Version=2016-11-15&NextToken=page-2"])
  }

  @Test func aMalformedResponseIsATypedError() async throws {
    let ec2 = try EC2Client(
      region: "us-east-1", customEndpoint: "http://127.0.0.1:9", http: ScriptedHTTPClient(["<unclosed"]),
      credentials: StaticCredentialsProvider(SigV4.Credentials(accessKeyID: "AKID", secretAccessKey: "secret")))
    do {
      _ = try await ec2.describeRegions()
      Issue.record("parsed malformed XML")
    } catch let error as AWSServiceError {
      #expect(error.code == "MalformedResponse")
    }
  }

  @Test func regionalEndpointsAndCustomOnes() throws {
    #expect(try AWSQueryClient.endpoint(service: "ec2", region: "eu-west-1", custom: nil).absoluteString == "https://ec2.eu-west-1.amazonaws.com")
    #expect(
      try AWSQueryClient.endpoint(service: "ec2", region: "cn-north-1", custom: nil).absoluteString == "https://ec2.cn-north-1.amazonaws.com.cn")
    #expect(try AWSQueryClient.endpoint(service: "ec2", region: "us-east-1", custom: "127.0.0.1:5000").absoluteString == "https://127.0.0.1:5000")
    #expect(try AWSQueryClient.endpoint(service: "sts", region: "x", custom: "http://127.0.0.1:5000").absoluteString == "http://127.0.0.1:5000")
    #expect(throws: AWSConfigurationError.self) { try AWSQueryClient.endpoint(service: "ec2", region: "", custom: nil) }
  }
}
