import Foundation
import Synchronization

/// Runs a program to its end, streaming its output by lines: `posix_spawn`, then two threads
/// of its own, one blocked in `waitid` for the exit, one in `poll` over the output pipes.
///
/// Why not Foundation's `Process`: on Linux it learns of a child's exit through a CFRunLoop
/// source, and that run loop needs a "wakeup socket pair". Where sockets cannot be made
/// (`unshare -n`: a network namespace whose loopback is down), Foundation logs "Could not
/// create wakeup socket pair for CFSocket" and `waitUntilExit` never returns: a build with
/// shell-local provisioners hung forever. Nothing here needs a socket or a run loop; every
/// failure to spawn or to observe the child is thrown, never waited on.
///
/// Why not swift-subprocess: it would do, but it is a new dependency (and a tools-version
/// bump) for one call site whose whole need is spawn, read two pipes, wait; this file is that
/// and nothing more, and keeps the blocking calls off the cooperative pool.
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

  /// Runs `executable` (an absolute path) with `arguments` (without argv[0]) and exactly
  /// `environment`, standard input on /dev/null. Each line of output goes to `onLine` (from
  /// a thread of its own, in the order read). Cancelling the task sends the child SIGTERM,
  /// then SIGKILL after `terminationGrace`; the call returns once the child has gone, and
  /// throws `CancellationError` if it was cancelled.
  ///
  /// Output is read until the child exits, then what is already in the pipes: a background
  /// process the script left running (holding the pipes open) does not keep the call waiting.
  public static func run(
    _ executable: String, arguments: [String], environment: [String: String],
    onLine: @escaping @Sendable (Stream, String) -> Void
  ) async throws -> Termination {
    let spawned = try Spawned(executable, arguments: arguments, environment: environment)
    let watch = Watch(pid: spawned.pid)
    do {
      try startDedicatedThread { watch.waitForExit(wakeWrite: spawned.wakeWrite) }
    } catch {
      // Nothing can observe the child: end it rather than leave it unwatched.
      kill(spawned.pid, SIGKILL)
      var status: Int32 = 0
      _ = waitpid(spawned.pid, &status, 0)
      spawned.closeAll()
      throw error
    }
    do {
      try startDedicatedThread {
        readLines(spawned, onLine: onLine)
        watch.outputFinished()
      }
    } catch {
      watch.terminate(SIGKILL)
      // The exit watcher closes nothing it does not own; the pipes' ends are ours.
      close(spawned.stdout)
      close(spawned.stderr)
      watch.outputFinished()
      _ = await watch.termination()
      close(spawned.wakeRead)
      throw error
    }
    let termination = await withTaskCancellationHandler {
      await watch.termination()
    } onCancel: {
      watch.terminate(SIGTERM)
      Task.detached {
        try? await Task.sleep(for: terminationGrace)
        watch.terminate(SIGKILL)
      }
    }
    try Task.checkCancellation()
    return termination
  }

  /// The spawned child and the parent's ends of its pipes (all close-on-exec).
  private struct Spawned: Sendable {
    let pid: pid_t
    let stdout: Int32
    let stderr: Int32
    /// Becomes readable when the exit watcher has seen the child go.
    let wakeRead: Int32
    let wakeWrite: Int32

    init(_ executable: String, arguments: [String], environment: [String: String]) throws {
      var pipes: [Int32] = []
      func makePipe() throws -> (Int32, Int32) {
        var ends: [Int32] = [-1, -1]
        guard GNU.pipe(&ends) == 0 else {
          let error = POSIXError(POSIXErrorCode(rawValue: errno) ?? .EMFILE)
          for fd in pipes { close(fd) }
          throw error
        }
        pipes += ends
        return (ends[0], ends[1])
      }
      let (outRead, outWrite) = try makePipe()
      let (errRead, errWrite) = try makePipe()
      let (wakeRead, wakeWrite) = try makePipe()

      var actions = posix_spawn_file_actions_t()
      posix_spawn_file_actions_init(&actions)
      defer { posix_spawn_file_actions_destroy(&actions) }
      posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
      posix_spawn_file_actions_adddup2(&actions, outWrite, 1)
      posix_spawn_file_actions_adddup2(&actions, errWrite, 2)
      // Whatever else kiln has open (sockets, SSH sessions, a lifeline pipe) stays here.
      GNU.closeFrom(&actions, 3)

      var attributes = posix_spawnattr_t()
      posix_spawnattr_init(&attributes)
      defer { posix_spawnattr_destroy(&attributes) }
      var noSignals = sigset_t()
      sigemptyset(&noSignals)
      posix_spawnattr_setsigmask(&attributes, &noSignals)
      var defaults = sigset_t()
      sigemptyset(&defaults)
      for signal in [SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGHUP, SIGQUIT] { sigaddset(&defaults, signal) }
      posix_spawnattr_setsigdefault(&attributes, &defaults)
      posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

      let argv = ([executable] + arguments).map { strdup($0) } + [nil]
      let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
      defer {
        for pointer in argv { free(pointer) }
        for pointer in envp { free(pointer) }
      }
      var pid = pid_t()
      let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
      close(outWrite)
      close(errWrite)
      guard result == 0 else {
        for fd in [outRead, errRead, wakeRead, wakeWrite] { close(fd) }
        throw SpawnFailed(executable: executable, code: result)
      }
      self.pid = pid
      self.stdout = outRead
      self.stderr = errRead
      self.wakeRead = wakeRead
      self.wakeWrite = wakeWrite
    }

    func closeAll() {
      for fd in [stdout, stderr, wakeRead, wakeWrite] { close(fd) }
    }
  }

  public struct SpawnFailed: Error, CustomStringConvertible {
    public var executable: String
    public var code: Int32
    public var description: String { "could not start \(executable): \(String(cString: strerror(code)))" }
  }

  /// glibc functions that Swift's Glibc module leaves out (they need `_GNU_SOURCE`), found
  /// at run time, with the portable fallback when this libc lacks them.
  private enum GNU {
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    static let pipe2 = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pipe2").map { unsafeBitCast($0, to: Pipe2.self) }
    static let addCloseFrom = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
      .map { unsafeBitCast($0, to: AddCloseFrom.self) }

    /// A pipe whose ends are close-on-exec from the start (no other thread's child inherits them).
    static func pipe(_ ends: UnsafeMutablePointer<Int32>) -> Int32 {
      if let pipe2 { return pipe2(ends, O_CLOEXEC) }
      guard Glibc.pipe(ends) == 0 else { return -1 }
      _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
      _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
      return 0
    }

    /// Closes every descriptor from `lowest` up in the child (those not marked close-on-exec).
    static func closeFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ lowest: Int32) {
      _ = addCloseFrom?(actions, lowest)
    }
  }

  /// The child's exit, and who waits for it. `kill` and the reaping `waitpid` happen under
  /// one lock, so a signal can never reach a recycled process id.
  private final class Watch: Sendable {
    struct State {
      var reaped = false
      var termination: Termination?
      var outputDone = false
      var waiter: CheckedContinuation<Termination, Never>?
    }

    let pid: pid_t
    let state = Mutex(State())

    init(pid: pid_t) { self.pid = pid }

    /// On the exit thread: waits without reaping, then reaps under the lock.
    func waitForExit(wakeWrite: Int32) {
      var info = siginfo_t()
      var waited: Int32
      repeat { waited = waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) } while waited != 0 && errno == EINTR
      let resume = state.withLock { state -> (CheckedContinuation<Termination, Never>, Termination)? in
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, 0)
        state.reaped = true
        // ECHILD: someone else reaped it; it is gone all the same.
        let termination: Termination =
          reaped != pid ? .signaled(SIGKILL) : (status & 0x7f) == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f)
        state.termination = termination
        return Self.takeWaiter(&state)
      }
      var byte: UInt8 = 1
      _ = write(wakeWrite, &byte, 1)
      close(wakeWrite)
      if let (waiter, termination) = resume { waiter.resume(returning: termination) }
    }

    func outputFinished() {
      let resume = state.withLock { state in
        state.outputDone = true
        return Self.takeWaiter(&state)
      }
      if let (waiter, termination) = resume { waiter.resume(returning: termination) }
    }

    func termination() async -> Termination {
      await withCheckedContinuation { continuation in
        let resume = state.withLock { state in
          state.waiter = continuation
          return Self.takeWaiter(&state)
        }
        if let (waiter, termination) = resume { waiter.resume(returning: termination) }
      }
    }

    func terminate(_ signal: Int32) {
      state.withLock { state in
        if !state.reaped { kill(pid, signal) }
      }
    }

    private static func takeWaiter(_ state: inout State) -> (CheckedContinuation<Termination, Never>, Termination)? {
      guard state.outputDone, let termination = state.termination, let waiter = state.waiter else { return nil }
      state.waiter = nil
      return (waiter, termination)
    }
  }

  /// On the output thread: lines from both pipes until the child has exited, then what is
  /// left in them. Closes the read ends.
  private static func readLines(_ spawned: Spawned, onLine: @escaping @Sendable (Stream, String) -> Void) {
    var fds = [
      pollfd(fd: spawned.stdout, events: Int16(POLLIN), revents: 0),
      pollfd(fd: spawned.stderr, events: Int16(POLLIN), revents: 0),
      pollfd(fd: spawned.wakeRead, events: Int16(POLLIN), revents: 0),
    ]
    var splitters = [LineSplitter { onLine(.stdout, $0) }, LineSplitter { onLine(.stderr, $0) }]
    var buffer = [UInt8](repeating: 0, count: 65536)

    /// Reads once; false at end of file or on an error.
    func readOnce(_ index: Int) -> Bool {
      let count = read(fds[index].fd, &buffer, buffer.count)
      if count < 0 && errno == EINTR { return true }
      guard count > 0 else { return false }
      buffer.withUnsafeBytes { splitters[index].append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
      return true
    }

    var exited = false
    while !exited {
      let ready = poll(&fds, nfds_t(fds.count), -1)
      if ready < 0 {
        if errno == EINTR { continue }
        break
      }
      for index in 0..<2 where fds[index].fd >= 0 && fds[index].revents != 0 {
        if !readOnce(index) {
          close(fds[index].fd)
          fds[index].fd = -1
        }
      }
      if fds[2].revents != 0 { exited = true }
    }
    // The child is gone: take what it left in the pipes, without waiting for writers it
    // may have left behind.
    for index in 0..<2 where fds[index].fd >= 0 {
      _ = fcntl(fds[index].fd, F_SETFL, fcntl(fds[index].fd, F_GETFL) | O_NONBLOCK)
      var budget = 64
      while budget > 0, readOnce(index) { budget -= 1 }
      close(fds[index].fd)
    }
    for index in 0..<2 { splitters[index].flush() }
    close(spawned.wakeRead)
  }
}
