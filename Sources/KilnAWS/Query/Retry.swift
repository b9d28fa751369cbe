import Foundation
import KilnCore
import Synchronization

/// When and how long to wait before trying a request again: exponential backoff with full
/// jitter (AWS's recommendation), on throttling, transient service errors, 5xx and connection
/// failures, at most `maxRetries` times (Packer's default is 10).
public struct RetryPolicy: Sendable {
  public var maxRetries: Int
  /// First backoff step for transient errors; throttling starts at 5× this.
  public var baseDelay: Duration
  public var maxDelay: Duration

  public init(maxRetries: Int = 10, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(20)) {
    self.maxRetries = maxRetries
    self.baseDelay = baseDelay
    self.maxDelay = maxDelay
  }

  /// The delay before retry number `attempt` (0-based), or nil when the error is final.
  public func delay(after error: any Error, attempt: Int, random: (ClosedRange<Double>) -> Double = { Double.random(in: $0) }) -> Duration? {
    guard attempt < maxRetries else { return nil }
    let throttled: Bool
    switch error {
    case let error as AWSServiceError:
      guard error.isRetryable else { return nil }
      throttled = error.isThrottling
    case let error as TransportError:
      guard error.isRetryable else { return nil }
      throttled = false
    default:
      return nil
    }
    let base = baseDelay.inSeconds * (throttled ? 5 : 1)
    let ceiling = min(maxDelay.inSeconds, base * pow(2, Double(min(attempt, 30))))
    return .milliseconds(Int(random(0...ceiling) * 1000))
  }

}

extension RetryPolicy {
  /// One AWS request, tried until it succeeds or fails for good: `send` makes an attempt (the
  /// same request every time), `decode` turns an answer into the result or throws the
  /// service's error. Each retry is said to `log` and waited for (cancellably); `observer`
  /// hears every attempt (the answer's status, then the error when there is one). Throws the
  /// final error: `AWSServiceError`, `TransportError` (naming the service and action) or
  /// `CancellationError`.
  ///
  /// What the Query (EC2, STS) and JSON (SSM) clients share, so both retry alike.
  func run<T>(
    service: String, action: String, log: AWSClientLog?, observer: (@Sendable (String, Int, Result<Int, any Error>) -> Void)?,
    send: () async throws -> HTTPResponse, decode: (HTTPResponse) throws -> T
  ) async throws -> T {
    let started = ContinuousClock.now
    var attempt = 0
    while true {
      try Task.checkCancellation()
      do {
        let response = try await send()
        observer?(action, attempt, .success(response.status))
        return try decode(response)
      } catch {
        if error is CancellationError { throw error }
        var error = error
        if var transport = error as? TransportError {
          transport.action = "\(service.uppercased()) \(action)"
          error = transport
        }
        observer?(action, attempt, .failure(error))
        guard let delay = self.delay(after: error, attempt: attempt) else { throw error }
        attempt += 1
        log?.retrying(
          AWSRetryNotice(
            service: service, action: action, failedAttempt: attempt, attempts: maxRetries + 1, delay: delay,
            cause: error, elapsed: ContinuousClock.now - started))
        try await Task.sleep(for: delay)
      }
    }
  }
}

/// A token bucket shared by every client of one account and region, so parallel builds slow
/// down together instead of each hammering the API (Packer has none: hashicorp/packer#1688).
public final class RateLimiter: Sendable {
  public let ratePerSecond: Double
  public let burst: Double
  private let state: Mutex<(tokens: Double, updated: ContinuousClock.Instant)>

  public init(ratePerSecond: Double, burst: Double) {
    self.ratePerSecond = ratePerSecond
    self.burst = burst
    state = Mutex((burst, ContinuousClock.now))
  }

  /// Waits until a token is available (cancellable), then takes it.
  public func acquire() async throws {
    while true {
      let wait: Double = state.withLock { state in
        let now = ContinuousClock.now
        let elapsed = (now - state.updated).inSeconds
        state.tokens = min(burst, state.tokens + elapsed * ratePerSecond)
        state.updated = now
        if state.tokens >= 1 {
          state.tokens -= 1
          return 0
        }
        return (1 - state.tokens) / ratePerSecond
      }
      if wait == 0 { return }
      try await Task.sleep(for: .milliseconds(Int(wait * 1000) + 1))
    }
  }

  private static let registry = Mutex<[String: RateLimiter]>([:])

  /// The limiter for an account (access key) and region, created on first use. EC2's API
  /// allows bursts of about 100 requests and refills at about 20 per second for most actions.
  public static func shared(for key: String, ratePerSecond: Double = 20, burst: Double = 50) -> RateLimiter {
    registry.withLock { registry in
      if let limiter = registry[key] { return limiter }
      let limiter = RateLimiter(ratePerSecond: ratePerSecond, burst: burst)
      registry[key] = limiter
      return limiter
    }
  }
}
