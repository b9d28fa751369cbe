import Foundation
import KilnAWS
import Testing
import _KilnTestSupport

/// Issue #13 item 5, end to end: `kiln build` against moto behind the fault proxy, which lets
/// moto act on one create call and then loses its answer (a 503, or the connection dropped
/// without a byte). The client resends the call; the build must then succeed with exactly one
/// of each resource, or fail leaving nothing: asked of moto, never of kiln's own account.
///
/// Serialized: each row is a whole build with its own moto and sshd, on a small machine.
@Suite(.serialized) struct LostAnswerBuildTests {
  static let createCalls = ["ImportKeyPair", "CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "RunInstances", "CreateImage", "CopyImage"]

  func lost(_ proxy: LoopbackServer) async throws -> Int {
    let answer = try await CurlHTTPClient().send(HTTPRequest(method: "GET", url: proxy.baseURL.appendingPathComponent("__lost")))
    return (try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Int])?["lost"] ?? -1
  }

  @Test(arguments: createCalls, ["503", "drop"])
  func aLostAnswerToACreateCallMakesNoSecondResource(action: String, lose: String) async throws {
    let lab = try await EC2Lab()
    let before = try await lab.snapshots()
    let proxy = try await LoopbackServer(python: TestPaths.fixture("fault_proxy.py"), arguments: [lab.moto.endpoint.absoluteString])
    try await lab.control(proxy, ["lose_action": action, "lose": lose])
    let result = try await lab.build([try lab.template(endpoint: proxy.baseURL, extra: #""ami_regions": ["us-west-2"]"#)])
    let output = result.stdout + result.stderr

    #expect(try await lost(proxy) == 1, "the proxy lost the answer to \(action)")
    let answers = lab.moto.actions().filter { $0.action == action }.map(\.status)
    #expect(answers.count >= 2, "moto acted, and the client sent \(action) again: \(answers)")

    if ["ImportKeyPair", "CreateSecurityGroup", "CreateImage"].contains(action) {
      // No idempotency token: the resend was refused as a duplicate, and the resource found ours.
      #expect(output.contains("but its answer was lost; using it"), "\(output)")
    }

    let left = try await lab.leftovers(snapshotsBefore: before)
    if result.status == 0 {
      // Exactly one of each: one instance (terminated), one AMI per region with its
      // snapshots, one key pair and one group made (and removed), nothing else.
      let instances = try await lab.client().describeInstances()
      #expect(instances.count == 1, "\(instances.map { "\($0.instanceID) \($0.state)" })")
      #expect(instances.allSatisfy { $0.state == "terminated" })
      var amiSnapshots: Set<String> = []
      for region in ["us-east-1", "us-west-2"] {
        let images = try await lab.client(region).describeImages(owners: ["self"])
        #expect(images.count == 1, "\(region): \(images.map(\.imageID))")
        amiSnapshots.formUnion(images.flatMap(\.snapshotIDs))
      }
      #expect(try await lab.snapshots().subtracting(before) == amiSnapshots, "no snapshot but the AMIs' own")
      for create in ["ImportKeyPair", "CreateSecurityGroup"] {
        let made = lab.moto.actions().filter { $0.action == create && $0.status == "200" }
        #expect(made.count == 1, "\(create) made one: \(made)")
      }
      #expect(left.filter { !$0.hasPrefix("AMI ") && !$0.hasPrefix("snapshot ") }.isEmpty, "left: \(left)\n\(output)")
    } else {
      #expect(left.isEmpty, "a failed build left: \(left)\n\(output)")
    }
    // Every one of these is resolved, not just cleaned up after.
    #expect(result.status == 0, "\(output)")
  }
}
