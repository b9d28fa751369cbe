import Foundation
import Synchronization

/// SIGINT/SIGTERM. A `sigaction` handler is in place when `init` returns, and it does the
/// one async-signal-safe thing: write the signal's number to a pipe. A thread reading the
/// pipe calls the handler with how many have arrived and which signal this one is.
///
/// (The first version ignored the signals and watched them with dispatch sources, as
/// SwiftPM's Cancellator does; but libdispatch arms a source asynchronously, so under load a
/// Ctrl-C that came right after the build started met SIG_IGN and was lost.)
final class SignalWatcher: Sendable {
  private let readEnd: Int32
  private let writeEnd: Int32

  init(_ handler: @escaping @Sendable (_ count: Int, _ signal: Int32) -> Void) {
    var ends: [Int32] = [0, 0]
    guard pipe(&ends) == 0 else { fatalError("pipe() failed: \(String(cString: strerror(errno)))") }
    readEnd = ends[0]
    writeEnd = ends[1]
    _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
    _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
    signalPipeWriteEnd.store(writeEnd, ordering: .sequentiallyConsistent)
    let readEnd = self.readEnd
    let thread = Thread {
      var count = 0
      var byte: UInt8 = 0
      while true {
        let n = read(readEnd, &byte, 1)
        if n == 1 {
          count += 1
          handler(count, Int32(byte))
        } else if n == 0 || errno != EINTR {
          close(readEnd)
          return
        }
      }
    }
    thread.name = "kiln-signals"
    thread.start()
    for signalNumber in [SIGINT, SIGTERM] {
      var action = sigaction()
      action.__sigaction_handler.sa_handler = forwardSignal
      sigemptyset(&action.sa_mask)
      action.sa_flags = SA_RESTART
      sigaction(signalNumber, &action, nil)
    }
  }

  func stop() {
    signal(SIGINT, SIG_DFL)
    signal(SIGTERM, SIG_DFL)
    signalPipeWriteEnd.store(-1, ordering: .sequentiallyConsistent)
    close(writeEnd)
  }
}

private let signalPipeWriteEnd = Atomic<Int32>(-1)

private func forwardSignal(_ signalNumber: Int32) {
  let saved = errno
  var byte = UInt8(truncatingIfNeeded: signalNumber)
  let fd = signalPipeWriteEnd.load(ordering: .sequentiallyConsistent)
  if fd >= 0 { _ = write(fd, &byte, 1) }
  errno = saved
}

/// A signal's name as Go's `os.Signal.String()` gives it, which Packer prints: "interrupt",
/// "terminated".
func goSignalName(_ signal: Int32) -> String {
  switch signal {
  case SIGINT: "interrupt"
  case SIGTERM: "terminated"
  default: "signal \(signal)"
  }
}
