import Foundation
import KilnCore
import Synchronization

/// Runs a profile's `credential_process` command (the AWS CLI's JSON protocol, Version 1)
/// without letting it hang or flood Kiln:
///
/// - standard output and standard error are read together (one `poll` loop), so a command
///   that writes a lot to standard error cannot block on a full pipe while Kiln waits for its
///   standard output;
/// - standard output may hold at most `outputLimit` bytes (64 KiB; a credentials document is
///   well under 2 KiB, and the AWS SDK for Java stops at 64,000 bytes): past that the command
///   is killed and the error says so;
/// - of standard error only the last `errorLimit` bytes (4 KiB) are kept, for the message
///   when the command fails; the rest is read and dropped;
/// - the command must finish within `timeout` (1 minute by default, the AWS SDK for Go's
///   `processcreds.DefaultTimeout`), else it is killed with its whole process group (it runs
///   as `/bin/sh -c` in a group of its own, so what the shell started goes too);
/// - cancelling the task kills it the same way.
struct CredentialProcess {
  var command: String
  var profile: String
  var timeout: Duration = .seconds(60)
  var outputLimit = 64 * 1024
  var errorLimit = 4 * 1024

  /// What the command left: its standard output, the tail of its standard error, and how it ended.
  struct Finished {
    var output: [UInt8]
    var errorTail: String
    var exitStatus: Int32?
    var signal: Int32?
  }

  func run() async throws -> Finished {
    let cancelled = CancellationFlag()
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Finished, any Error>) in
        do {
          try startDedicatedThread { continuation.resume(with: Result { try self.runBlocking(cancelled: cancelled) }) }
        } catch {
          continuation.resume(throwing: failure("could not start: no thread to watch it: \(error)"))
        }
      }
    } onCancel: {
      cancelled.cancel()
    }
  }

  private var what: String { "credential_process of profile '\(profile)'" }

  private func failure(_ text: String, _ errorTail: String = "") -> AWSConfigurationError {
    let tail = errorTail.trimmingCharacters(in: .whitespacesAndNewlines)
    return AWSConfigurationError("\(what) \(text)" + (tail.isEmpty ? "" : ": \(tail)"))
  }

  private func runBlocking(cancelled: CancellationFlag) throws -> Finished {
    var outPipe: [Int32] = [-1, -1]
    var errPipe: [Int32] = [-1, -1]
    guard pipe(&outPipe) == 0 else { throw failure("could not start: pipe: \(String(cString: strerror(errno)))") }
    guard pipe(&errPipe) == 0 else {
      close(outPipe[0])
      close(outPipe[1])
      throw failure("could not start: pipe: \(String(cString: strerror(errno)))")
    }
    // Only the command gets these (as its 1 and 2): another child started meanwhile would
    // hold the write ends open, and the reads below would wait for it (to the timeout).
    for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    let pid: pid_t
    do {
      pid = try spawn(stdout: outPipe[1], stderr: errPipe[1])
    } catch {
      for fd in outPipe + errPipe { close(fd) }
      throw error
    }
    close(outPipe[1])
    close(errPipe[1])
    defer {
      close(outPipe[0])
      close(errPipe[0])
    }

    let deadline = ContinuousClock.now + timeout
    var output: [UInt8] = []
    var errors: [UInt8] = []
    var errorsCut = false
    var descriptors = [pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0), pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0)]
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    var status: Int32 = 0
    var exited = false

    func errorTail() -> String {
      (errorsCut ? "…" : "") + String(decoding: errors, as: UTF8.self)
    }
    /// Kills the command's process group and reaps the shell. The group can be signalled
    /// after the shell is reaped: its id stays taken while any member lives. The shell's own
    /// pid is signalled only while unreaped, as a reaped pid may already be another process's.
    func kill() {
      _ = Glibc.kill(-pid, SIGKILL)
      if !exited {
        _ = Glibc.kill(pid, SIGKILL)
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        exited = true
      }
    }

    // Read both streams until both are closed and the shell has exited, or the deadline.
    while descriptors.contains(where: { $0.fd >= 0 }) || !exited {
      if cancelled.isCancelled {
        kill()
        throw CancellationError()
      }
      let remaining = deadline - ContinuousClock.now
      if remaining <= .zero {
        kill()
        throw failure("did not finish within \(Int(timeout.inSeconds.rounded(.up)))s and was killed", errorTail())
      }
      let slice = Int32(min(200, max(1, remaining.inSeconds * 1000)))
      if descriptors.contains(where: { $0.fd >= 0 }) {
        let ready = poll(&descriptors, nfds_t(descriptors.count), slice)
        if ready < 0 && errno != EINTR { kill(); throw failure("could not be read: poll: \(String(cString: strerror(errno)))") }
        for index in descriptors.indices where descriptors[index].fd >= 0 && descriptors[index].revents != 0 {
          let count = read(descriptors[index].fd, &buffer, buffer.count)
          if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
          if count <= 0 {
            descriptors[index].fd = -1  // closed (the pipe itself is closed by the defer)
            continue
          }
          if index == 0 {
            output.append(contentsOf: buffer[0..<count])
            if output.count > outputLimit {
              kill()
              throw failure("wrote more than \(outputLimit / 1024) KiB to standard output, which is not a credentials document; it was killed", errorTail())
            }
          } else {
            errors.append(contentsOf: buffer[0..<count])
            if errors.count > 2 * errorLimit {
              errors.removeFirst(errors.count - errorLimit)
              errorsCut = true
            }
          }
        }
      }
      if !exited {
        let reaped = waitpid(pid, &status, WNOHANG)
        if reaped == pid {
          exited = true
        } else if reaped < 0 && errno != EINTR {
          exited = true
        } else if !descriptors.contains(where: { $0.fd >= 0 }) {
          usleep(UInt32(min(50_000, Int(slice) * 1000)))
        }
      }
    }
    // A command that ended by itself keeps what it left running (an agent it started, as
    // with the AWS CLI); only a command that is stopped loses its whole group.
    if errors.count > errorLimit {
      errors.removeFirst(errors.count - errorLimit)
      errorsCut = true
    }
    let exitedNormally = (status & 0x7f) == 0
    return Finished(
      output: output, errorTail: errorTail(),
      exitStatus: exitedNormally ? (status >> 8) & 0xff : nil, signal: exitedNormally ? nil : status & 0x7f)
  }

  /// `/bin/sh -c command` in a new process group, standard input from /dev/null, default
  /// signal handling and an empty signal mask (Kiln may block or ignore signals).
  private func spawn(stdout: Int32, stderr: Int32) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, stdout, 1)
    posix_spawn_file_actions_adddup2(&actions, stderr, 2)

    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    posix_spawnattr_setpgroup(&attributes, 0)
    var mask = sigset_t()
    sigemptyset(&mask)
    posix_spawnattr_setsigmask(&attributes, &mask)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)

    let words: [String] = ["/bin/sh", "-c", command]
    let arguments: [UnsafeMutablePointer<CChar>?] = words.map { word in word.withCString { strdup($0) } }
    defer { arguments.forEach { free($0) } }
    var pid: pid_t = 0
    let result = posix_spawn(&pid, "/bin/sh", &actions, &attributes, arguments + [nil], environ)
    guard result == 0 else {
      throw failure("could not start /bin/sh: \(String(cString: strerror(result)))")
    }
    return pid
  }

  /// Runs the command and reads its credentials.
  func credentials() async throws -> TemporaryCredentials {
    let finished = try await run()
    if let signal = finished.signal {
      throw failure("was ended by signal \(signal)", finished.errorTail)
    }
    guard finished.exitStatus == 0 else {
      throw failure("exited with \(finished.exitStatus ?? -1)", finished.errorTail)
    }
    let data = Data(finished.output)
    if let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let version = json["Version"] as? Int, version != 1 {
      throw AWSConfigurationError("\(what) returned Version \(version); only 1 is defined")
    }
    return try CredentialsChain.decodeJSONCredentials(finished.output, source: what)
  }
}
