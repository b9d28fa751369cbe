import Foundation
import KilnCore

/// How long and how often to poll one kind of resource.
///
/// Without an override the pauses follow the wait, so that the poll that sees the change
/// comes soon after it (Packer polls every 15 s, so each of its waits ends up to 15 s late):
/// - when the resource reports how far along it is (a snapshot's percentage), the next look
///   is at half the time the progress so far predicts is left, so looks close in on the
///   expected moment; within two `delay`s of that moment, looks come every half of what is
///   left, down to `approach` (0.5 s), so the end is seen well under a `delay` late — for at
///   most `approachLooks` looks in a row, so progress that stalls at 99% (as snapshots do)
///   costs no more than a few calls before the pauses are `delay` again;
/// - otherwise the pause is a twentieth of the time waited so far: a change is seen at most
///   5% late, and a long wait costs few calls (a 30 s stop about 27 looks, a 60 s termination
///   waited for about 40; one in the background, below, about 5).
/// Both are kept between `delay` (`approach` near a predicted end) and `maxDelay`. In the
/// background (an early cleanup's wait while the build goes on: `WaitUrgency`) every pause is
/// `maxDelay`, and ends early when the build comes to wait for it. With an override
/// (`aws_polling`, the environment) every pause is exactly the configured delay, as in Packer
/// (its `maxDelay` is its delay, in the background too).
public struct WaitPolicy: Sendable, Equatable {
  /// The shortest pause (every pause, when `fixed`).
  public var delay: Duration
  public var maxDelay: Duration
  public var timeout: Duration
  /// Set by an override: every pause is `delay`, and the deadline is delay × attempts.
  public var fixed: Bool

  public init(delay: Duration, maxDelay: Duration, timeout: Duration, fixed: Bool = false) {
    self.delay = delay
    self.maxDelay = maxDelay
    self.timeout = timeout
    self.fixed = fixed
  }

  /// Kiln's defaults per operation: pauses of 1–2 s while a change is due soon, never more than
  /// 15 s (30 s for copies), with deadlines sized for the slow cases (a large AMI copy).
  public static let instanceState = WaitPolicy(delay: .seconds(1), maxDelay: .seconds(15), timeout: .seconds(600))
  public static let imageAvailable = WaitPolicy(delay: .seconds(2), maxDelay: .seconds(15), timeout: .seconds(3600))
  public static let imageCopy = WaitPolicy(delay: .seconds(2), maxDelay: .seconds(30), timeout: .seconds(7200))
  public static let snapshotCompleted = WaitPolicy(delay: .seconds(2), maxDelay: .seconds(15), timeout: .seconds(3600))
  public static let securityGroupExists = WaitPolicy(delay: .milliseconds(500), maxDelay: .seconds(5), timeout: .seconds(200))

  /// The shortest pause near a predicted end, and how many such looks in a row at most.
  public static let approach: Duration = .milliseconds(500)
  public static let approachLooks = 8

  /// The pause after a look that found the resource not there yet, `elapsed` into the wait;
  /// `fractionDone` (0…1) when the resource reports its progress; `approachLooks`: how many
  /// looks in a row came sooner than `delay` (the waiter counts them).
  public func pause(after elapsed: Duration, fractionDone: Double?, approachLooks: Int = 0) -> Duration {
    if fixed { return delay }
    func duration(_ seconds: Double) -> Duration { .milliseconds(Int64((seconds * 1000).rounded())) }
    if let fractionDone, fractionDone > 0 {
      let left = elapsed.inSeconds * (1 - min(fractionDone, 1)) / fractionDone
      if left > 0, left < 2 * delay.inSeconds, approachLooks < Self.approachLooks {
        return min(max(duration(left / 2), Self.approach), delay)
      }
      return min(max(duration(left / 2), delay), maxDelay)
    }
    return min(max(duration(elapsed.inSeconds / 20), delay), maxDelay)
  }

  /// Packer's overrides: the template's `aws_polling` block wins over `AWS_POLL_DELAY_SECONDS`
  /// and `AWS_MAX_ATTEMPTS`; the deprecated `AWS_TIMEOUT_SECONDS` gives attempts = timeout ÷
  /// delay (delay 2 s when unset) and is ignored when max attempts is set. With an override,
  /// delays are fixed and the deadline is delay × attempts; without one, `self` applies.
  ///
  /// - Throws: `AWSConfigurationError` naming the variable and its value when one is not a
  ///   whole number in its range (delay 1…3600 s, attempts 1…100000, as `aws_polling` takes,
  ///   timeout 1 s…30 days): a zero delay would poll without pause, and Kiln never drops a
  ///   setting it was given.
  public func overridden(delaySeconds: Int?, maxAttempts: Int?, environment: [String: String]) throws(AWSConfigurationError) -> WaitPolicy {
    func setting(_ name: String, _ range: ClosedRange<Int>) throws(AWSConfigurationError) -> Int? {
      guard let text = environment[name], !text.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
      guard let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
        throw AWSConfigurationError("\(name) is \"\(text)\": it must be a whole number from \(range.lowerBound) to \(range.upperBound)")
      }
      return value
    }
    let envDelay = try setting("AWS_POLL_DELAY_SECONDS", Self.delaySecondsRange)
    let envAttempts = try setting("AWS_MAX_ATTEMPTS", Self.maxAttemptsRange)
    let envTimeout = try setting("AWS_TIMEOUT_SECONDS", 1...(30 * 24 * 3600))
    if let delaySeconds, !Self.delaySecondsRange.contains(delaySeconds) {
      throw AWSConfigurationError(
        "aws_polling delay_seconds is \(delaySeconds): it must be from \(Self.delaySecondsRange.lowerBound) to \(Self.delaySecondsRange.upperBound)")
    }
    if let maxAttempts, !Self.maxAttemptsRange.contains(maxAttempts) {
      throw AWSConfigurationError(
        "aws_polling max_attempts is \(maxAttempts): it must be from \(Self.maxAttemptsRange.lowerBound) to \(Self.maxAttemptsRange.upperBound)")
    }
    var delay = delaySeconds ?? envDelay
    var attempts = maxAttempts ?? envAttempts
    if attempts == nil, let envTimeout {
      let seconds = delay ?? 2
      delay = seconds
      attempts = max(1, envTimeout / seconds)
    }
    guard delay != nil || attempts != nil else { return self }
    let fixedDelay: Duration = delay.map { .seconds($0) } ?? (attempts != nil ? self.maxDelay : self.delay)
    let count = attempts ?? Int((timeout.inSeconds / fixedDelay.inSeconds).rounded(.up))
    return WaitPolicy(delay: fixedDelay, maxDelay: fixedDelay, timeout: fixedDelay * count, fixed: true)
  }

  /// What `aws_polling` and the environment may set (delays of at least a second).
  public static let delaySecondsRange = 1...3600
  public static let maxAttemptsRange = 1...100_000
}

/// One look at a resource while waiting.
public enum PollResult<Value: Sendable>: Sendable {
  case done(Value)
  /// Not there yet: the state to report, and progress such as "42%" when there is any.
  case pending(state: String, progress: String?)
  /// Not there yet, and this far along (0…1): the waiter times its next look by it.
  case progressing(state: String, progress: String, fractionDone: Double)
  /// A state it will never leave (an instance "terminated" while waiting for "running").
  case failed(state: String, reason: String?)
}

/// A wait that ended without success. Names the resource and the last state seen.
public struct WaitError: Error, CustomStringConvertible, Sendable {
  public enum Kind: Sendable { case timedOut, failed }
  public var kind: Kind
  /// What was awaited, e.g. "instance i-0abc to be running".
  public var what: String
  public var resourceID: String
  public var lastState: String
  public var reason: String?
  public var waited: Duration

  public var description: String {
    switch kind {
    case .timedOut:
      "timed out after \(Int(waited.inSeconds))s waiting for \(what); its last state was \"\(lastState)\"\(reason.map { ": \($0)" } ?? ""). Raise the deadline with aws_polling or AWS_MAX_ATTEMPTS, or look at \(resourceID) in the console"
    case .failed:
      "\(what) failed: \(resourceID) is \"\(lastState)\"\(reason.map { ": \($0)" } ?? "")"
    }
  }
}

public enum Waiter {
  /// Polls until `poll` says done, fails, or the policy's deadline passes. The first look is
  /// immediate; the pauses follow `policy` (see `WaitPolicy`), and are its longest while
  /// `WaitUrgency.current` says nothing waits for this yet. `progress` hears every change of
  /// state or progress figure; `status` hears every look, with the time left before the
  /// deadline (for a progress line). Cancellation ends the wait at once (the sleep is
  /// cancellable).
  public static func wait<Value: Sendable>(
    for what: String, resourceID: String, policy: WaitPolicy,
    progress: (@Sendable (String) -> Void)? = nil,
    status: (@Sendable (String) -> Void)? = nil,
    _ poll: () async throws -> PollResult<Value>
  ) async throws -> Value {
    let clock = ContinuousClock()
    let start = clock.now
    var lastState = "unknown"
    var lastReport = ""
    var approachLooks = 0
    while true {
      try Task.checkCancellation()
      var fractionDone: Double?
      let report: String
      switch try await poll() {
      case .done(let value):
        return value
      case .failed(let state, let reason):
        throw WaitError(kind: .failed, what: what, resourceID: resourceID, lastState: state, reason: reason, waited: clock.now - start)
      case .pending(let state, let figure):
        lastState = state
        report = figure.map { "\(state) (\($0))" } ?? state
      case .progressing(let state, let figure, let fraction):
        lastState = state
        report = "\(state) (\(figure))"
        fractionDone = fraction
      }
      if report != lastReport {
        progress?("waiting for \(what): \(report)")
        lastReport = report
      }
      let elapsed = clock.now - start
      if elapsed >= policy.timeout {
        throw WaitError(kind: .timedOut, what: what, resourceID: resourceID, lastState: lastState, reason: nil, waited: elapsed)
      }
      status?("waiting for \(what): \(report); gives up in \(Self.spoken(policy.timeout - elapsed))")
      if let urgency = WaitUrgency.current, !urgency.isUrgent {
        approachLooks = 0
        try await urgency.sleep(for: min(policy.maxDelay, policy.timeout - elapsed))
        continue
      }
      let pause = policy.pause(after: elapsed, fractionDone: fractionDone, approachLooks: approachLooks)
      approachLooks = pause < policy.delay ? approachLooks + 1 : 0
      try await Task.sleep(for: min(pause, policy.timeout - elapsed))
    }
  }

  /// "1h 02m", "4m 05s", "12s": a time left, rounded up to the second.
  static func spoken(_ duration: Duration) -> String {
    let seconds = Int(duration.inSeconds.rounded(.up))
    if seconds >= 3600 { return "\(seconds / 3600)h \(String(format: "%02d", seconds % 3600 / 60))m" }
    if seconds >= 60 { return "\(seconds / 60)m \(String(format: "%02d", seconds % 60))s" }
    return "\(seconds)s"
  }
}

extension EC2API {
  /// Waits for an instance to reach `target` ("running", "stopped", "terminated"), failing
  /// early on states it cannot reach it from.
  public func waitForInstance(
    _ id: String, toBe target: String, policy: WaitPolicy = .instanceState, progress: (@Sendable (String) -> Void)? = nil,
    status: (@Sendable (String) -> Void)? = nil
  ) async throws -> EC2Instance {
    let hopeless: [String: Set<String>] = [
      "running": ["shutting-down", "terminated", "stopping"], "stopped": ["pending", "terminated"], "terminated": [],
    ]
    return try await Waiter.wait(for: "instance \(id) to be \(target)", resourceID: id, policy: policy, progress: progress, status: status) {
      let instances: [EC2Instance]
      do {
        instances = try await describeInstances(instanceIDs: [id])
      } catch let error as AWSServiceError where error.code == "InvalidInstanceID.NotFound" {
        // Eventual consistency: a new instance may not be visible yet.
        return target == "terminated" ? .failed(state: "not found", reason: nil) : .pending(state: "not visible yet", progress: nil)
      }
      guard let instance = instances.first else { return .pending(state: "not visible yet", progress: nil) }
      if instance.state == target { return .done(instance) }
      if hopeless[target, default: []].contains(instance.state) { return .failed(state: instance.state, reason: instance.stateReason) }
      return .pending(state: instance.state, progress: nil)
    }
  }

  /// Waits for an AMI to be available, reporting its snapshots' progress (the least advanced
  /// one times the next look). `snapshots` hears the image's snapshots each time they are
  /// described while it is pending.
  public func waitForImage(
    _ id: String, policy: WaitPolicy = .imageAvailable, progress: (@Sendable (String) -> Void)? = nil,
    status: (@Sendable (String) -> Void)? = nil, snapshots seen: (@Sendable ([EC2Snapshot]) -> Void)? = nil
  ) async throws -> EC2Image {
    try await Waiter.wait(for: "AMI \(id) in \(region) to be available", resourceID: id, policy: policy, progress: progress, status: status) {
      let images: [EC2Image]
      do {
        images = try await describeImages(imageIDs: [id])
      } catch let error as AWSServiceError where error.code == "InvalidAMIID.NotFound" {
        return .pending(state: "not visible yet", progress: nil)
      }
      guard let image = images.first else { return .pending(state: "not visible yet", progress: nil) }
      switch image.state {
      case "available": return .done(image)
      case "failed", "deregistered", "error", "invalid": return .failed(state: image.state, reason: image.stateReason)
      default:
        guard !image.snapshotIDs.isEmpty, let snapshots = try? await describeSnapshots(snapshotIDs: image.snapshotIDs), !snapshots.isEmpty
        else { return .pending(state: image.state, progress: nil) }
        seen?(snapshots)
        let figure = snapshots.map { "\($0.snapshotID) \($0.progress.isEmpty ? "0%" : $0.progress)" }.joined(separator: ", ")
        let fractions = snapshots.compactMap { $0.state == "completed" ? 1 : EC2Snapshot.fraction(of: $0.progress) }
        guard fractions.count == image.snapshotIDs.count, let least = fractions.min()
        else { return .pending(state: image.state, progress: figure) }
        return .progressing(state: image.state, progress: figure, fractionDone: least)
      }
    }
  }

  /// Waits for a snapshot to complete, reporting its percentage.
  public func waitForSnapshot(
    _ id: String, policy: WaitPolicy = .snapshotCompleted, progress: (@Sendable (String) -> Void)? = nil, status: (@Sendable (String) -> Void)? = nil
  ) async throws -> EC2Snapshot {
    try await Waiter.wait(for: "snapshot \(id) to complete", resourceID: id, policy: policy, progress: progress, status: status) {
      guard let snapshot = try await describeSnapshots(snapshotIDs: [id]).first else { return .pending(state: "not visible yet", progress: nil) }
      switch snapshot.state {
      case "completed": return .done(snapshot)
      case "error": return .failed(state: snapshot.state, reason: nil)
      default:
        if let fraction = EC2Snapshot.fraction(of: snapshot.progress) {
          return .progressing(state: snapshot.state, progress: snapshot.progress, fractionDone: fraction)
        }
        return .pending(state: snapshot.state, progress: snapshot.progress.isEmpty ? nil : snapshot.progress)
      }
    }
  }

  /// Waits until a new security group can be described (EC2 is eventually consistent).
  public func waitForSecurityGroup(_ id: String, policy: WaitPolicy = .securityGroupExists) async throws {
    _ = try await Waiter.wait(for: "security group \(id) to exist", resourceID: id, policy: policy) { () async throws -> PollResult<Bool> in
      do {
        return try await describeSecurityGroups(groupIDs: [id]).isEmpty ? .pending(state: "not visible yet", progress: nil) : .done(true)
      } catch let error as AWSServiceError where error.code == "InvalidGroup.NotFound" {
        return .pending(state: "not visible yet", progress: nil)
      }
    }
  }
}

extension EC2Snapshot {
  /// "42%" → 0.42; nil for anything else (an empty progress, before EC2 reports one).
  static func fraction(of progress: String) -> Double? {
    guard progress.hasSuffix("%"), let percent = Double(progress.dropLast()), (0...100).contains(percent) else { return nil }
    return percent / 100
  }
}
