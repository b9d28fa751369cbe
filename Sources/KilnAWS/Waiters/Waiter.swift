import Foundation
import KilnCore

/// How long and how often to poll one kind of resource.
public struct WaitPolicy: Sendable, Equatable {
  /// The first delay; later delays double up to `maxDelay` (fixed when overridden).
  public var delay: Duration
  public var maxDelay: Duration
  public var timeout: Duration

  public init(delay: Duration, maxDelay: Duration, timeout: Duration) {
    self.delay = delay
    self.maxDelay = maxDelay
    self.timeout = timeout
  }

  /// Kiln's defaults per operation: short first polls (moto and fast APIs answer at once),
  /// backing off to AWS's usual 15 s, with deadlines sized for the slow cases (a large AMI copy).
  public static let instanceState = WaitPolicy(delay: .seconds(2), maxDelay: .seconds(15), timeout: .seconds(600))
  public static let imageAvailable = WaitPolicy(delay: .seconds(5), maxDelay: .seconds(15), timeout: .seconds(3600))
  public static let imageCopy = WaitPolicy(delay: .seconds(5), maxDelay: .seconds(30), timeout: .seconds(7200))
  public static let snapshotCompleted = WaitPolicy(delay: .seconds(5), maxDelay: .seconds(15), timeout: .seconds(3600))
  public static let securityGroupExists = WaitPolicy(delay: .milliseconds(500), maxDelay: .seconds(5), timeout: .seconds(200))

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
    return WaitPolicy(delay: fixedDelay, maxDelay: fixedDelay, timeout: fixedDelay * count)
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
  /// immediate; `progress` hears every state change and progress figure. Cancellation ends
  /// the wait at once (the sleep is cancellable).
  public static func wait<Value: Sendable>(
    for what: String, resourceID: String, policy: WaitPolicy,
    progress: (@Sendable (String) -> Void)? = nil,
    _ poll: () async throws -> PollResult<Value>
  ) async throws -> Value {
    let clock = ContinuousClock()
    let start = clock.now
    var delay = policy.delay
    var lastState = "unknown"
    var lastReport = ""
    while true {
      try Task.checkCancellation()
      switch try await poll() {
      case .done(let value):
        return value
      case .failed(let state, let reason):
        throw WaitError(kind: .failed, what: what, resourceID: resourceID, lastState: state, reason: reason, waited: clock.now - start)
      case .pending(let state, let figure):
        lastState = state
        let report = figure.map { "\(state) (\($0))" } ?? state
        if report != lastReport {
          progress?("waiting for \(what): \(report)")
          lastReport = report
        }
      }
      let elapsed = clock.now - start
      if elapsed >= policy.timeout {
        throw WaitError(kind: .timedOut, what: what, resourceID: resourceID, lastState: lastState, reason: nil, waited: elapsed)
      }
      try await Task.sleep(for: min(delay, policy.timeout - elapsed))
      delay = min(delay * 2, policy.maxDelay)
    }
  }
}

extension EC2API {
  /// Waits for an instance to reach `target` ("running", "stopped", "terminated"), failing
  /// early on states it cannot reach it from.
  public func waitForInstance(_ id: String, toBe target: String, policy: WaitPolicy = .instanceState, progress: (@Sendable (String) -> Void)? = nil)
    async throws -> EC2Instance
  {
    let hopeless: [String: Set<String>] = [
      "running": ["shutting-down", "terminated", "stopping"], "stopped": ["pending", "terminated"], "terminated": [],
    ]
    return try await Waiter.wait(for: "instance \(id) to be \(target)", resourceID: id, policy: policy, progress: progress) {
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

  /// Waits for an AMI to be available, reporting its snapshots' progress.
  public func waitForImage(_ id: String, policy: WaitPolicy = .imageAvailable, progress: (@Sendable (String) -> Void)? = nil) async throws -> EC2Image
  {
    try await Waiter.wait(for: "AMI \(id) in \(region) to be available", resourceID: id, policy: policy, progress: progress) {
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
        var figure: String?
        if !image.snapshotIDs.isEmpty, let snapshots = try? await describeSnapshots(snapshotIDs: image.snapshotIDs) {
          figure = snapshots.map { "\($0.snapshotID) \($0.progress.isEmpty ? "0%" : $0.progress)" }.joined(separator: ", ")
        }
        return .pending(state: image.state, progress: figure)
      }
    }
  }

  /// Waits for a snapshot to complete, reporting its percentage.
  public func waitForSnapshot(_ id: String, policy: WaitPolicy = .snapshotCompleted, progress: (@Sendable (String) -> Void)? = nil) async throws
    -> EC2Snapshot
  {
    try await Waiter.wait(for: "snapshot \(id) to complete", resourceID: id, policy: policy, progress: progress) {
      guard let snapshot = try await describeSnapshots(snapshotIDs: [id]).first else { return .pending(state: "not visible yet", progress: nil) }
      switch snapshot.state {
      case "completed": return .done(snapshot)
      case "error": return .failed(state: snapshot.state, reason: nil)
      default: return .pending(state: snapshot.state, progress: snapshot.progress.isEmpty ? nil : snapshot.progress)
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
