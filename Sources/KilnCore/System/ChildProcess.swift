import Foundation
import Subprocess
import Synchronization
import SystemPackage

/// Kiln's one way of running a program on this machine: shell-local scripts (provisioner and
/// post-processor), a profile's `credential_process`, and every program the tests start.
///
/// Built on swift-subprocess, the Swift project's own process library. On Linux it spawns
/// with `posix_spawn`, closing every descriptor but 0-2 in the child and resetting its signal
/// mask and handlers; it learns of the exit through a pidfd on an epoll thread of its own and
/// reads the pipes without blocking, so no wait here holds a thread of the cooperative pool.
/// It stops reading when the child exits, even while a process the child left behind holds
/// the pipes open. And it needs no socket. Foundation's `Process` does: on Linux it learns of
/// an exit through a CFRunLoop whose "wakeup socket pair" cannot be made where sockets cannot
/// (`unshare -n`, a network namespace with loopback down), and there `waitUntilExit` never
/// returned, so a build with shell-local provisioners hung forever. Kiln once had four
/// runners of its own: `posix_spawn` plus threads here, another for `credential_process`, and
/// Foundation `Process` plus pipes in the tests. They are now this one, over a library
/// maintained and tested beyond Kiln (swift-subprocess 1.0).
///
/// What this adds on top of the library:
/// - `run`: output by lines, a longer line cut at `maximumLineBytes` between UTF-8 characters
///   (`LineSplitter`); on cancellation SIGTERM, then SIGKILL after `terminationGrace`, the
///   output still read until the child has gone (a script's cleanup messages are not lost);
/// - `capture`: standard output kept up to a limit past which the child is killed, the tail
///   of standard error, a timeout that kills, optionally the child's whole process group;
/// - `start`: a child kept running (a test's server) that is written to, signalled and awaited;
/// - `writeExecutable`: a script written so that no concurrently spawned child can hold it
///   open, which would make running it fail with "Text file busy" (see there).
///
/// Every form runs `executable` (an absolute path) with `arguments` (without argv[0]).
public enum ChildProcess {
  public enum Stream: Sendable { case stdout, stderr }

  public enum Termination: Sendable, Equatable {
    case exited(Int32)
    case signaled(Int32)

    /// The status a shell would report: the exit code, or 128 + the signal.
    public var shellStatus: Int32 {
      switch self {
      case .exited(let code): code
      case .signaled(let signal): 128 + signal
      }
    }
  }

  /// Longest line handed to `onLine`; a longer run of bytes without a newline is cut there,
  /// between UTF-8 characters (`LineSplitter`).
  public static let maximumLineBytes = LineSplitter.maximumLine

  /// How long a child may take to go after SIGTERM (on cancellation) before it gets SIGKILL.
  public static let terminationGrace: Duration = .seconds(10)

  public struct SpawnFailed: Error, CustomStringConvertible {
    public var executable: String
    public var reason: String
    public var description: String { "could not start \(executable): \(reason)" }
  }

  // MARK: - Run, streaming lines

  /// Runs `executable` with exactly `environment`, standard input on /dev/null. Each line of
  /// output goes to `onLine` (in the order read within each stream). Cancelling the task
  /// sends the child SIGTERM, then SIGKILL after `terminationGrace`; the call returns once
  /// the child has gone, and throws `CancellationError` if it was cancelled.
  ///
  /// Output is read until the child exits, then what is already in the pipes: a background
  /// process the script left running (holding the pipes open) does not keep the call waiting.
  public static func run(
    _ executable: String, arguments: [String], environment: [String: String],
    onLine: @escaping @Sendable (Stream, String) -> Void
  ) async throws -> Termination {
    let out = Locked(LineSplitter { onLine(.stdout, $0) })
    let err = Locked(LineSplitter { onLine(.stderr, $0) })
    let termination = try await execute(
      executable, arguments: arguments, environment: environment, directory: nil, keepInputOpen: false,
      ownProcessGroup: false, teardown: [.gracefulShutDown(allowedDurationToNextStep: terminationGrace)], commands: nil
    ) { stream, bytes in
      (stream == .stdout ? out : err).withLock { splitter in bytes.withUnsafeBytes { splitter.append($0) } }
    }
    out.withLock { $0.flush() }
    err.withLock { $0.flush() }
    try Task.checkCancellation()
    return termination
  }

  // MARK: - Capture, bounded

  /// What `capture` kept of a child's output, and how it ended.
  public struct Captured: Sendable {
    public enum Stop: Sendable, Equatable {
      /// It outlived the timeout and was killed.
      case timedOut
      /// Its standard output passed the limit; it was killed and the output cut there.
      case outputLimit
    }

    public var termination: Termination
    /// Standard output (with standard error when merged), at most the limit.
    public var output: [UInt8]
    /// The end of standard error (when not merged), at most its limit.
    public var errorTail: [UInt8]
    /// Whether earlier bytes of standard error were dropped.
    public var errorCut: Bool
    /// Why Kiln stopped the child; nil when it ended by itself.
    public var stopped: Stop?

    public var outputText: String { String(decoding: output, as: UTF8.self) }
    public var errorText: String { String(decoding: errorTail, as: UTF8.self) }
  }

  /// Runs `executable` to its end and keeps its output, bounded.
  ///
  /// - Parameters:
  ///   - environment: the whole environment; this process's when nil.
  ///   - directory: the working directory; this process's when nil.
  ///   - input: written to standard input, which is then closed; /dev/null when nil.
  ///   - mergeErrors: standard error goes into `output` too (in the order read), not `errorTail`.
  ///   - outputLimit: bytes of output kept; past them the child is killed (`.outputLimit`).
  ///   - errorLimit: bytes kept from the end of standard error; earlier ones are dropped.
  ///   - timeout: the child is killed (SIGKILL) when it runs longer (`.timedOut`).
  ///   - ownProcessGroup: the child leads a process group of its own, and every kill (timeout,
  ///     output limit, cancellation) goes to the whole group, so what it started goes too.
  ///
  /// Cancelling the task kills the child (or its group) at once; the call then throws
  /// `CancellationError` once it has gone.
  public static func capture(
    _ executable: String, arguments: [String] = [], environment: [String: String]? = nil, directory: String? = nil,
    input: [UInt8]? = nil, mergeErrors: Bool = false, outputLimit: Int = 64 << 20, errorLimit: Int = 64 << 20,
    timeout: Duration? = nil, ownProcessGroup: Bool = false
  ) async throws -> Captured {
    struct Kept {
      var output: [UInt8] = []
      var errors: [UInt8] = []
      var errorsCut = false
      var stopped: Captured.Stop?
    }
    let kept = Locked(Kept())
    let (commands, control) = AsyncStream.makeStream(of: Command.self)
    if let input {
      control.yield(.write(input))
      control.yield(.closeInput)
    }
    /// Records why the child is stopped, the first time, and kills it.
    @Sendable func stop(_ reason: Captured.Stop) {
      let first = kept.withLock { kept in
        guard kept.stopped == nil else { return false }
        kept.stopped = reason
        return true
      }
      if first { control.yield(.signal(SIGKILL)) }
    }
    let timer = timeout.map { timeout in
      Task {
        try await Task.sleep(for: timeout)
        stop(.timedOut)
      }
    }
    defer {
      timer?.cancel()
      control.finish()
    }
    let termination = try await execute(
      executable, arguments: arguments, environment: environment, directory: directory, keepInputOpen: input != nil,
      ownProcessGroup: ownProcessGroup,
      teardown: [.send(signal: .kill, toProcessGroup: ownProcessGroup, allowedDurationToNextStep: .seconds(1))],
      commands: commands
    ) { stream, bytes in
      let overflowed = kept.withLock { kept -> Bool in
        if stream == .stdout || mergeErrors {
          let room = outputLimit - kept.output.count
          kept.output.append(contentsOf: bytes.prefix(max(0, room)))
          return bytes.count > room
        }
        kept.errors.append(contentsOf: bytes)
        if kept.errors.count > 2 * errorLimit {
          kept.errors.removeFirst(kept.errors.count - errorLimit)
          kept.errorsCut = true
        }
        return false
      }
      if overflowed { stop(.outputLimit) }
    }
    try Task.checkCancellation()
    return kept.withLock { kept in
      if kept.errors.count > errorLimit {
        kept.errors.removeFirst(kept.errors.count - errorLimit)
        kept.errorsCut = true
      }
      // A timer that fired as the child was ending by itself stopped nothing.
      var stopped = kept.stopped
      if stopped == .timedOut, case .exited = termination { stopped = nil }
      return Captured(termination: termination, output: kept.output, errorTail: kept.errors, errorCut: kept.errorsCut, stopped: stopped)
    }
  }

  // MARK: - Start, keep a handle

  /// A child left running while the caller goes on (a test's server, a `kiln` a test
  /// interrupts). Signals and input reach it through the runner, and only while it has not
  /// been reaped, so a signal can never hit a recycled process id. Dropping the last
  /// reference to a child still running kills it.
  public final class Running: Sendable {
    /// The child's process id (for messages and for tools such as `pkill -P`).
    public let pid: Int32
    private let control: AsyncStream<Command>.Continuation
    private let task: Task<Termination, any Error>
    private let ended: Flag

    fileprivate init(pid: Int32, control: AsyncStream<Command>.Continuation, task: Task<Termination, any Error>, ended: Flag) {
      self.pid = pid
      self.control = control
      self.task = task
      self.ended = ended
    }

    /// Whether the child has gone (and its output has been read).
    public var hasEnded: Bool { ended.isSet }

    /// Sends `signal` to the child (to its group when started with `ownProcessGroup`).
    public func signal(_ signal: Int32) { control.yield(.signal(signal)) }

    /// Writes to the child's standard input (started with `keepInputOpen`).
    public func write(_ bytes: [UInt8]) { control.yield(.write(bytes)) }

    /// Closes the child's standard input: it reads end of file.
    public func closeInput() { control.yield(.closeInput) }

    /// Waits for the child to end.
    public func termination() async throws -> Termination { try await task.value }

    deinit {
      if !hasEnded { control.yield(.signal(SIGKILL)) }
      control.finish()
    }
  }

  /// Starts `executable` and returns once it runs. Its output goes to `onOutput` as it is
  /// read (from both streams at once: `onOutput` must be safe to call concurrently); its
  /// standard input is a pipe the caller writes to and closes (`keepInputOpen`), else
  /// /dev/null.
  public static func start(
    _ executable: String, arguments: [String] = [], environment: [String: String]? = nil, directory: String? = nil,
    keepInputOpen: Bool = false, ownProcessGroup: Bool = false,
    onOutput: @escaping @Sendable (Stream, [UInt8]) -> Void
  ) async throws -> Running {
    let (commands, control) = AsyncStream.makeStream(of: Command.self)
    let started = Promise<Int32>()
    let ended = Flag()
    let task = Task {
      defer { ended.set() }
      do {
        return try await execute(
          executable, arguments: arguments, environment: environment, directory: directory, keepInputOpen: keepInputOpen,
          ownProcessGroup: ownProcessGroup,
          teardown: [.send(signal: .kill, toProcessGroup: ownProcessGroup, allowedDurationToNextStep: .seconds(1))],
          commands: commands, started: { started.fulfil(.success($0)) },
          onOutput: onOutput)
      } catch {
        started.fulfil(.failure(error))
        throw error
      }
    }
    do {
      return Running(pid: try await started.value(), control: control, task: task, ended: ended)
    } catch {
      control.finish()
      throw error
    }
  }

  // MARK: - Scripts

  /// Writes `text` to a new file at `path` (mode 0700, never over an existing file or
  /// through a symbolic link) for a child to execute: a shell-local script.
  ///
  /// Executing a file fails with ETXTBSY ("Text file busy") while any process holds it open
  /// for writing. A descriptor open here while another thread spawns a child is in that
  /// child's table from the clone until its exec; close-on-exec, or the spawn's "close every
  /// other descriptor", only closes it there. So on a loaded machine two builds running
  /// shell-local at once failed now and then: one build's script (written by Foundation, not
  /// even close-on-exec) was still held by the other build's child when it ran. Here the file
  /// is opened close-on-exec and only while no spawn is under way (`SpawnGate`); a spawn
  /// returns only once its child has exec'd, so no child holds the file once it is closed.
  public static func writeExecutable(_ text: String, to path: String) async throws {
    await SpawnGate.shared.enterWrite()
    defer { SpawnGate.shared.leaveWrite() }
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o700)
    guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    var failure: Int32 = 0
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty, failure == 0 {
      let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if written > 0 {
        bytes = bytes.dropFirst(written)
      } else if written < 0, errno != EINTR {
        failure = errno
      }
    }
    // The umask may have narrowed the mode; the owner must be able to run it.
    if failure == 0, fchmod(fd, 0o700) != 0 { failure = errno }
    if close(fd) != 0, failure == 0, errno != EINTR { failure = errno }
    if failure != 0 {
      unlink(path)
      throw POSIXError(POSIXErrorCode(rawValue: failure) ?? .EIO)
    }
  }

  // MARK: - The runner

  /// What the caller asks of a running child.
  enum Command: Sendable {
    case write([UInt8])
    case closeInput
    case signal(Int32)
  }

  /// Spawns the child (through the gate), reads both outputs to `onOutput` until the child
  /// has gone, and carries out `commands` meanwhile.
  private static func execute(
    _ executable: String, arguments: [String], environment: [String: String]?, directory: String?, keepInputOpen: Bool,
    ownProcessGroup: Bool, teardown: [TeardownStep], commands: AsyncStream<Command>?, started: (Int32) -> Void = { _ in },
    onOutput: @escaping @Sendable (Stream, [UInt8]) -> Void
  ) async throws -> Termination {
    var options = PlatformOptions()
    options.teardownSequence = teardown
    if ownProcessGroup { options.processGroupID = 0 }
    let configuration = Subprocess.Configuration(
      executable: .path(FilePath(executable)), arguments: Arguments(arguments),
      environment: environment.map { environment in
        .custom(Dictionary(uniqueKeysWithValues: environment.map { (Environment.Key(stringLiteral: $0.key), $0.value) }))
      } ?? .inherit,
      workingDirectory: directory.map { FilePath($0) }, platformOptions: options)

    // A write to a child that has gone must fail (EPIPE), not end this process. Only runs
    // that write to a child get here; kiln itself never does, the tests do.
    if keepInputOpen { _ = ignoreBrokenPipes }
    await SpawnGate.shared.enterSpawn()
    var inGate = true
    defer { if inGate { SpawnGate.shared.leaveSpawn() } }
    do {
      let status: TerminationStatus
      if keepInputOpen {
        status = try await Subprocess.run(configuration, input: .inputWriter, output: .sequence, error: .sequence) { execution in
          SpawnGate.shared.leaveSpawn()
          inGate = false
          started(execution.processIdentifier.value)
          await supervise(
            pid: execution.processIdentifier.value, stdout: execution.standardOutput, stderr: execution.standardError,
            input: execution.standardInputWriter, commands: commands, onOutput: onOutput
          ) { signal in try? execution.send(signal: Signal(rawValue: signal), toProcessGroup: ownProcessGroup) }
        }.terminationStatus
      } else {
        status = try await Subprocess.run(configuration, input: .none, output: .sequence, error: .sequence) { execution in
          SpawnGate.shared.leaveSpawn()
          inGate = false
          started(execution.processIdentifier.value)
          await supervise(
            pid: execution.processIdentifier.value, stdout: execution.standardOutput, stderr: execution.standardError,
            input: nil, commands: commands, onOutput: onOutput
          ) { signal in try? execution.send(signal: Signal(rawValue: signal), toProcessGroup: ownProcessGroup) }
        }.terminationStatus
      }
      switch status {
      case .exited(let code): return .exited(code)
      case .signaled(let signal): return .signaled(signal)
      }
    } catch let error as SubprocessError where [.spawnFailed, .executableNotFound, .failedToChangeWorkingDirectory].contains(error.code) {
      throw SpawnFailed(executable: executable, reason: error.underlyingError.map { "\($0)" } ?? "\(error)")
    }
  }

  /// The body of a run: reads both outputs and carries out commands until the child has gone.
  private static func supervise(
    pid: pid_t, stdout: SubprocessOutputSequence, stderr: SubprocessOutputSequence, input: StandardInputWriter?,
    commands: AsyncStream<Command>?, onOutput: @escaping @Sendable (Stream, [UInt8]) -> Void,
    send: @escaping @Sendable (Int32) -> Void
  ) async {
    // The reading is a task of its own, not a child of this one: a cancellation (Ctrl-C)
    // does not stop it, and the child's last words while it goes after SIGTERM still arrive.
    // It ends when both pipes are closed, or when the child has exited and the library
    // cancels the reads (a process the child left behind may hold the pipes open forever).
    // The library still reads on while data keeps coming, so a process left behind that
    // keeps writing would keep the call going: once the child has gone, a stream gets
    // `readsAfterExit` more reads (what the child left fits in one or two), then is dropped.
    let reading = Task {
      await withTaskGroup(of: Void.self) { group in
        for (stream, sequence) in [(Stream.stdout, stdout), (.stderr, stderr)] {
          group.addTask {
            var afterExit = 0
            do {
              for try await buffer in sequence {
                onOutput(stream, buffer.withUnsafeBytes { Array($0) })
                if hasExited(pid) {
                  afterExit += 1
                  if afterExit >= readsAfterExit { break }
                }
              }
            } catch {
              // A read that fails ends that stream, as the end of file does.
            }
          }
        }
      }
    }
    await withTaskGroup(of: Void.self) { group in
      if let commands {
        group.addTask {
          for await command in commands {
            switch command {
            case .write(let bytes): _ = try? await input?.write(bytes)
            case .closeInput: try? await input?.finish()
            case .signal(let signal): send(signal)
            }
          }
        }
      }
      await reading.value
      // The output can end before the child does (it closed its descriptors or gave them
      // away): commands still reach it until it has gone. The library reaps it only once
      // this body returns, so until then its pid cannot be another process's.
      while !hasExited(pid), !Task.isCancelled {
        try? await Task.sleep(for: .milliseconds(20))
      }
      group.cancelAll()
    }
  }

  /// Reads of a stream once the child has gone (see `supervise`), as many as the runner
  /// this one replaced allowed.
  static let readsAfterExit = 64

  private static let ignoreBrokenPipes: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

  /// Whether the child has exited (without reaping it: the library does).
  private static func hasExited(_ pid: pid_t) -> Bool {
    var info = siginfo_t()
    guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 else { return errno != EINTR }
    return info._sifields._sigchld.si_pid != 0
  }
}

/// Keeps spawning children and writing files they will execute apart (see
/// `ChildProcess.writeExecutable`): any number of spawns at once, or any number of writes,
/// never both. Both are short; waiting writers go first, so spawns cannot starve them.
final class SpawnGate: Sendable {
  static let shared = SpawnGate()

  private struct State {
    var spawning = 0
    var writing = 0
    var waitingSpawns: [CheckedContinuation<Void, Never>] = []
    var waitingWrites: [CheckedContinuation<Void, Never>] = []
  }
  private let state = Mutex(State())

  func enterSpawn() async {
    await withCheckedContinuation { continuation in
      let admitted = state.withLock { state in
        guard state.writing == 0, state.waitingWrites.isEmpty else {
          state.waitingSpawns.append(continuation)
          return false
        }
        state.spawning += 1
        return true
      }
      if admitted { continuation.resume() }
    }
  }

  func leaveSpawn() {
    let admitted = state.withLock { state -> [CheckedContinuation<Void, Never>] in
      state.spawning -= 1
      guard state.spawning == 0 else { return [] }
      defer { state.waitingWrites = [] }
      state.writing += state.waitingWrites.count
      return state.waitingWrites
    }
    for waiter in admitted { waiter.resume() }
  }

  func enterWrite() async {
    await withCheckedContinuation { continuation in
      let admitted = state.withLock { state in
        guard state.spawning == 0 else {
          state.waitingWrites.append(continuation)
          return false
        }
        state.writing += 1
        return true
      }
      if admitted { continuation.resume() }
    }
  }

  func leaveWrite() {
    let admitted = state.withLock { state -> [CheckedContinuation<Void, Never>] in
      state.writing -= 1
      guard state.writing == 0, state.waitingWrites.isEmpty else { return [] }
      defer { state.waitingSpawns = [] }
      state.spawning += state.waitingSpawns.count
      return state.waitingSpawns
    }
    for waiter in admitted { waiter.resume() }
  }
}

/// A value behind a lock, shared by reference (a `Mutex` cannot be captured by a closure
/// that escapes).
final class Locked<Value>: Sendable {
  private let mutex: Mutex<Value>
  init(_ value: sending Value) { mutex = Mutex(value) }
  func withLock<Result: Sendable>(_ body: (inout sending Value) -> sending Result) -> Result { mutex.withLock(body) }
}

/// A flag set once, read from anywhere.
final class Flag: Sendable {
  private let value = Atomic<Bool>(false)
  var isSet: Bool { value.load(ordering: .acquiring) }
  func set() { value.store(true, ordering: .releasing) }
}

/// A value delivered once (the first delivery counts) to one waiter.
final class Promise<Value: Sendable>: Sendable {
  private struct State {
    var result: Result<Value, any Error>?
    var waiter: CheckedContinuation<Value, any Error>?
  }
  private let state = Mutex(State())

  func fulfil(_ result: Result<Value, any Error>) {
    let waiter = state.withLock { state -> CheckedContinuation<Value, any Error>? in
      guard state.result == nil else { return nil }
      state.result = result
      defer { state.waiter = nil }
      return state.waiter
    }
    waiter?.resume(with: result)
  }

  func value() async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
      let result = state.withLock { state -> Result<Value, any Error>? in
        if state.result == nil { state.waiter = continuation }
        return state.result
      }
      if let result { continuation.resume(with: result) }
    }
  }
}
