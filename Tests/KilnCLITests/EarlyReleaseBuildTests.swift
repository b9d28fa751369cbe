import Foundation
import KilnAWS
import Testing
import _KilnTestSupport

/// Issue #15 item 3, end to end: the instance is terminated while its AMI is still pending
/// (once EC2 has the snapshots of its volumes), and the build still leaves nothing behind
/// after a success, a failure and a Ctrl-C. `kiln build` runs against moto behind
/// `bench/latency_proxy.py` at SCALE 10, which holds the image `pending` for seconds (moto
/// alone makes it `available` at once, so nothing could overlap), and the proxy's own logs
/// say when the termination was asked for and when the image stopped being pending.
///
/// Serialized: each row is a whole build with its own moto, sshd and proxy.
@Suite(.serialized) struct EarlyReleaseBuildTests {
  struct Latency {
    let lab: EC2Lab
    let proxy: LatencyProxy

    init() async throws {
      lab = try await EC2Lab()
      proxy = try await LatencyProxy(lab, scale: 10)
    }
  }

  @Test func theInstanceEndsWhileItsImageIsPendingAndNothingIsLeft() async throws {
    let latency = try await Latency()
    let before = try await latency.lab.snapshots()
    let path = try latency.lab.template(endpoint: latency.proxy.server.baseURL, sshPort: latency.proxy.sshPort)
    let result = try await latency.lab.build([path])
    let output = result.stdout + result.stderr
    #expect(result.status == 0, "\(output)")

    let terminated = try #require(latency.proxy.firstCall("TerminateInstances"), "\(output)")
    let available = try #require(latency.proxy.imageAvailableAt())
    #expect(terminated < available, "TerminateInstances at \(terminated), while the image was pending until \(available)")
    let keyDeleted = try #require(latency.proxy.firstCall("DeleteKeyPair"))
    let stopped = try #require(latency.proxy.firstCall("StopInstances"))
    #expect(keyDeleted < stopped, "the temporary key pair went as soon as the instance ran, before the stop")

    let left = try await latency.lab.leftovers(["us-east-1"], snapshotsBefore: before)
    #expect(left.filter { !$0.hasPrefix("AMI ") && !$0.hasPrefix("snapshot ") }.isEmpty, "left: \(left)\n\(output)")
    #expect(left.filter { $0.hasPrefix("AMI ") }.count == 1, "\(left)")
  }

  @Test func aFailureAfterTheInstanceWasReleasedStillLeavesNothing() async throws {
    let latency = try await Latency()
    let before = try await latency.lab.snapshots()
    // The copy to a second region is refused: the build fails after the early termination.
    let faults = try await LoopbackServer(python: TestPaths.fixture("fault_proxy.py"), arguments: [latency.proxy.server.baseURL.absoluteString])
    try await latency.lab.control(
      faults, ["fail_action": "CopyImage", "fail": 10, "status": 400, "code": "InvalidParameterValue", "message": "refused by the test"])
    let path = try latency.lab.template(endpoint: faults.baseURL, extra: #""ami_regions": ["us-west-2"]"#, sshPort: latency.proxy.sshPort)
    let result = try await latency.lab.build([path])
    let output = result.stdout + result.stderr
    #expect(result.status == 1, "\(output)")
    #expect(output.contains("refused by the test"), "\(output)")
    let terminated = try #require(latency.proxy.firstCall("TerminateInstances"), "\(output)")
    let available = try #require(latency.proxy.imageAvailableAt())
    #expect(terminated < available)
    let left = try await latency.lab.leftovers(snapshotsBefore: before)
    #expect(left.isEmpty, "a failed build left: \(left)\n\(output)")
  }

  @Test func aCtrlCWhileTheReleasedInstanceTerminatesLeavesNothing() async throws {
    let latency = try await Latency()
    let before = try await latency.lab.snapshots()
    let path = try latency.lab.template(endpoint: latency.proxy.server.baseURL, sshPort: latency.proxy.sshPort)
    let kiln = try await latency.lab.start([path])
    try await kiln.waitFor("Terminating the source AWS instance...")
    let available = try #require(latency.proxy.imageAvailableAt())
    #expect(Date().timeIntervalSince1970 < available, "interrupted while the image is still pending")
    kiln.interrupt()
    let status = try await kiln.finish()
    #expect(status != 0, "\(kiln.text)")
    let left = try await latency.lab.leftovers(["us-east-1"], snapshotsBefore: before)
    #expect(left.isEmpty, "an interrupted build left: \(left)\n\(kiln.text)")
  }
}
