import Foundation
import KilnAWS
import KilnCore
import Synchronization
import Testing
import _KilnTestSupport

@Suite struct WaiterTests {
  static let quick = WaitPolicy(delay: .milliseconds(5), maxDelay: .milliseconds(20), timeout: .milliseconds(300))
  /// Short delays but a deadline no loaded machine reaches, for waits that must succeed.
  static let patient = WaitPolicy(delay: .milliseconds(5), maxDelay: .milliseconds(20), timeout: .seconds(60))

  @Test func pollsUntilDoneAndReportsEachChange() async throws {
    let polls = Mutex(0)
    let reports = Mutex<[String]>([])
    let progress: @Sendable (String) -> Void = { line in reports.withLock { $0.append(line) } }
    let value = try await Waiter.wait(for: "snapshot snap-1 to complete", resourceID: "snap-1", policy: Self.patient, progress: progress) {
      () async throws -> PollResult<String> in
      let n = polls.withLock {
        $0 += 1
        return $0
      }
      return n < 4 ? .pending(state: "pending", progress: "\(n * 25)%") : .done("snap-1")
    }
    #expect(value == "snap-1")
    #expect(
      reports.withLock { $0 } == [
        "waiting for snapshot snap-1 to complete: pending (25%)", "waiting for snapshot snap-1 to complete: pending (50%)",
        "waiting for snapshot snap-1 to complete: pending (75%)",
      ])
  }

  @Test func aTimeoutNamesTheResourceAndItsLastState() async throws {
    do {
      _ = try await Waiter.wait(for: "AMI ami-1 in us-east-1 to be available", resourceID: "ami-1", policy: Self.quick) {
        () async throws -> PollResult<Int> in
        .pending(state: "pending", progress: nil)
      }
      Issue.record("no timeout")
    } catch let error as WaitError {
      #expect(error.kind == .timedOut)
      #expect(error.description.contains("waiting for AMI ami-1 in us-east-1 to be available; its last state was \"pending\""))
    }
  }

  @Test func aHopelessStateFailsAtOnce() async throws {
    do {
      _ = try await Waiter.wait(for: "instance i-1 to be running", resourceID: "i-1", policy: Self.quick) { () async throws -> PollResult<Int> in
        .failed(state: "terminated", reason: "Server.InsufficientInstanceCapacity")
      }
      Issue.record("no failure")
    } catch let error as WaitError {
      #expect(error.description == "instance i-1 to be running failed: i-1 is \"terminated\": Server.InsufficientInstanceCapacity")
    }
  }

  @Test func cancellationEndsTheWaitPromptly() async throws {
    // Without cancellation this would end in a WaitError after 60 s, not a CancellationError.
    let policy = WaitPolicy(delay: .seconds(60), maxDelay: .seconds(60), timeout: .seconds(60))
    let task = Task {
      try await Waiter.wait(for: "x", resourceID: "x", policy: policy) { () async throws -> PollResult<Int> in
        .pending(state: "pending", progress: nil)
      }
    }
    try await Task.sleep(for: .milliseconds(100))
    task.cancel()
    let result = await task.result
    #expect(throws: CancellationError.self) { try result.get() }
  }

  /// Issue #15 item 3: without an override the pause follows the wait, so that the look that
  /// sees the change comes soon after it; with one, every pause is exactly the delay given.
  @Test func pausesCloseInOnTheExpectedChange() throws {
    let image = WaitPolicy.imageAvailable // 2 s … 15 s
    // Progress reported: half the time the progress so far predicts is left.
    #expect(image.pause(after: .seconds(90), fractionDone: 0.9) == .seconds(5))
    #expect(image.pause(after: .seconds(120), fractionDone: 0.96) == .seconds(2.5))
    #expect(image.pause(after: .seconds(60), fractionDone: 0.5) == .seconds(15), "at most maxDelay")
    #expect(image.pause(after: .seconds(130), fractionDone: 1) == .seconds(2), "complete but not yet available: the shortest")
    // Within two delays (4 s) of the predicted end: half of what is left, down to 0.5 s, for
    // at most eight looks in a row; then the delay again (progress stalled at 99%).
    #expect(image.pause(after: .seconds(297), fractionDone: 0.99) == .seconds(1.5))
    #expect(image.pause(after: .seconds(99), fractionDone: 0.99) == .seconds(0.5))
    #expect(image.pause(after: .seconds(99), fractionDone: 0.99, approachLooks: 7) == .seconds(0.5))
    #expect(image.pause(after: .seconds(99), fractionDone: 0.99, approachLooks: 8) == .seconds(2))
    // No progress: a twentieth of the time waited, so a change is seen at most 5% late.
    #expect(image.pause(after: .seconds(60), fractionDone: nil) == .seconds(3))
    #expect(image.pause(after: .zero, fractionDone: nil) == .seconds(2))
    #expect(image.pause(after: .seconds(3600), fractionDone: nil) == .seconds(15))
    #expect(image.pause(after: .seconds(60), fractionDone: 0) == .seconds(3), "0% predicts nothing")
    #expect(WaitPolicy.instanceState.pause(after: .seconds(30), fractionDone: nil) == .seconds(1.5), "a 30 s stop is seen at most 1.5 s late")
    // aws_polling: exactly its delay, whatever the progress.
    let fixed = try image.overridden(delaySeconds: 30, maxAttempts: 120, environment: [:])
    #expect(fixed.pause(after: .seconds(100), fractionDone: 0.99) == .seconds(30))
    #expect(fixed.pause(after: .zero, fractionDone: nil) == .seconds(30))
    #expect(fixed.timeout == .seconds(3600))
  }

  @Test func theStatusLineSaysHowLongTheWaitMayStillTake() async throws {
    let lines = Mutex<[String]>([])
    let polls = Mutex(0)
    let record: @Sendable (String) -> Void = { line in lines.withLock { $0.append(line) } }
    let poll: () async throws -> PollResult<Int> = {
      let n = polls.withLock {
        $0 += 1
        return $0
      }
      return n < 2 ? .progressing(state: "pending", progress: "snap-1 40%", fractionDone: 0.4) : .done(1)
    }
    _ = try await Waiter.wait(for: "AMI ami-1 in us-east-1 to be available", resourceID: "ami-1", policy: Self.patient, status: record, poll)
    let first = try #require(lines.withLock { $0.first })
    #expect(first.hasPrefix("waiting for AMI ami-1 in us-east-1 to be available: pending (snap-1 40%); gives up in "), "\(first)")
    #expect(first.hasSuffix("1m 00s") || first.hasSuffix("59s"), "\(first)")
  }

  @Test func packerOverridesTemplateThenEnvironment() throws {
    let base = WaitPolicy.imageAvailable
    #expect(try base.overridden(delaySeconds: nil, maxAttempts: nil, environment: [:]) == base)
    let template = try base.overridden(delaySeconds: 10, maxAttempts: 6, environment: ["AWS_POLL_DELAY_SECONDS": "1", "AWS_MAX_ATTEMPTS": "99"])
    #expect(template == WaitPolicy(delay: .seconds(10), maxDelay: .seconds(10), timeout: .seconds(60), fixed: true))
    let env = try base.overridden(delaySeconds: nil, maxAttempts: nil, environment: ["AWS_POLL_DELAY_SECONDS": "3", "AWS_MAX_ATTEMPTS": "7"])
    #expect(env.timeout == .seconds(21) && env.delay == .seconds(3))
    let legacy = try base.overridden(delaySeconds: nil, maxAttempts: nil, environment: ["AWS_TIMEOUT_SECONDS": "60"])
    #expect(legacy.delay == .seconds(2) && legacy.timeout == .seconds(60))
  }

  /// `AWS_POLL_DELAY_SECONDS=0 AWS_TIMEOUT_SECONDS=60` divided by zero (a trap); values out of
  /// range or not numbers were dropped silently. Each is now an error naming the variable.
  @Test(arguments: [
    (["AWS_POLL_DELAY_SECONDS": "0", "AWS_TIMEOUT_SECONDS": "60"], "AWS_POLL_DELAY_SECONDS is \"0\""),
    (["AWS_POLL_DELAY_SECONDS": "-5", "AWS_MAX_ATTEMPTS": "3"], "AWS_POLL_DELAY_SECONDS is \"-5\""),
    (["AWS_MAX_ATTEMPTS": "0"], "AWS_MAX_ATTEMPTS is \"0\""),
    (
      ["AWS_MAX_ATTEMPTS": "9223372036854775807", "AWS_POLL_DELAY_SECONDS": "9223372036854775807"],
      "AWS_POLL_DELAY_SECONDS is \"9223372036854775807\""
    ),
    (["AWS_TIMEOUT_SECONDS": "soon"], "AWS_TIMEOUT_SECONDS is \"soon\""),
  ])
  func badPollingVariablesAreErrorsNamingTheValue(environment: [String: String], expected: String) {
    do {
      let policy = try WaitPolicy.instanceState.overridden(delaySeconds: nil, maxAttempts: nil, environment: environment)
      Issue.record("accepted \(environment): \(policy)")
    } catch {
      #expect(error.description.hasPrefix(expected), "\(error)")
      #expect(error.description.contains("whole number"), "\(error)")
    }
  }

  @Test func ec2WaitersAgainstMoto() async throws {
    let ec2 = try await SharedMoto.client()
    let instance = try #require(try await ec2.runInstances(EC2Client.RunInstancesRequest(imageID: "ami-785db401", instanceType: "t3.micro")).first)
    #expect(try await ec2.waitForInstance(instance.instanceID, toBe: "running").state == "running")
    try await ec2.stopInstances([instance.instanceID])
    #expect(try await ec2.waitForInstance(instance.instanceID, toBe: "stopped").state == "stopped")
    let imageID = try await ec2.createImage(EC2Client.CreateImageRequest(instanceID: instance.instanceID, name: "kiln-waiter-1"))
    let image = try await ec2.waitForImage(imageID)
    #expect(image.state == "available")
    let snapshot = try #require(image.snapshotIDs.first)
    #expect(try await ec2.waitForSnapshot(snapshot).state == "completed")
    do {
      _ = try await ec2.waitForInstance(instance.instanceID, toBe: "running", policy: Self.quick)
      Issue.record("a stopped instance became running by itself")
    } catch let error as WaitError {
      #expect(error.kind == .timedOut && error.lastState == "stopped")
    }
    try await ec2.terminateInstances([instance.instanceID])
    #expect(try await ec2.waitForInstance(instance.instanceID, toBe: "terminated").state == "terminated")
    let groupID = try await ec2.createSecurityGroup(name: "kiln_waiter_sg", description: "waiter", vpcID: nil)
    try await ec2.waitForSecurityGroup(groupID)
    try await ec2.deleteSecurityGroup(groupID: groupID)
    try await ec2.deregisterImage(imageID)
    try await ec2.deleteSnapshot(snapshot)
  }

  /// Issue #15: in the background (an early cleanup while the build goes on) a wait looks at
  /// its longest pause, an hour here, and looks again at once when the build comes to wait for
  /// it. (An override's pauses stay exact: its longest pause is its delay.)
  @Test(.timeLimit(.minutes(2))) func inTheBackgroundTheLongestPauseEndsWhenTheWaitBecomesUrgent() async throws {
    let background = WaitPolicy(delay: .milliseconds(5), maxDelay: .seconds(3600), timeout: .seconds(7200))
    let urgency = WaitUrgency()
    let polls = Mutex(0)
    let wait = Task {
      try await WaitUrgency.$current.withValue(urgency) {
        try await Waiter.wait(for: "instance i-1 to be terminated", resourceID: "i-1", policy: background) { () async throws -> PollResult<Int> in
          let n = polls.withLock {
            $0 += 1
            return $0
          }
          return n < 3 ? .pending(state: "shutting-down", progress: nil) : .done(n)
        }
      }
    }
    while polls.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(5)) }
    // Outside the background the next look would come 5 ms later; here none comes.
    try await Task.sleep(for: .milliseconds(300))
    #expect(polls.withLock { $0 } == 1)
    urgency.becomeUrgent()
    #expect(try await wait.value == 3, "looked again at once, then at the usual pace")
  }

  /// Cancelled in the background, a wait ends at once.
  @Test(.timeLimit(.minutes(2))) func aBackgroundWaitEndsWhenCancelled() async throws {
    let background = WaitPolicy(delay: .milliseconds(5), maxDelay: .seconds(3600), timeout: .seconds(7200))
    let polls = Mutex(0)
    let wait = Task {
      try await WaitUrgency.$current.withValue(WaitUrgency()) {
        try await Waiter.wait(for: "x", resourceID: "x", policy: background) { () async throws -> PollResult<Int> in
          polls.withLock { $0 += 1 }
          return .pending(state: "pending", progress: nil)
        }
      }
    }
    while polls.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(5)) }
    wait.cancel()
    let result = await wait.result
    #expect(throws: CancellationError.self) { try result.get() }
  }
}
