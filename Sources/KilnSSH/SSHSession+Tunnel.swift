internal import CLibSSH2
import Foundation
import KilnCore

extension SSHSession {
  /// Opens a `direct-tcpip` channel to `host:port` through this (bastion) session and returns
  /// one end of a socket pair; a pump on this session's queue copies bytes between the other
  /// end and the channel until either side closes. The target session uses the returned
  /// descriptor as its socket, so libssh2 on it works exactly as over TCP.
  func tunnel(to host: String, port: Int, _ cancelled: CancellationFlag) throws -> Int32 {
    guard let session else { throw SSHError(kind: .connectionLost, message: "the bastion session is closed") }
    var channel: OpaquePointer?
    let deadline = ContinuousClock.now + config.connectTimeout
    while channel == nil {
      channel = libssh2_channel_direct_tcpip_ex(session, host, Int32(port), "127.0.0.1", 22)
      if channel == nil {
        let code = libssh2_session_last_errno(session)
        guard code == LIBSSH2_ERROR_EAGAIN else {
          throw SSHError(
            kind: .connect, message: "the bastion \(config.host):\(config.port) could not open a tunnel to \(host):\(port): \(lastError(code))")
        }
        try waitForSocket(cancelled, deadline: deadline, "opening a tunnel to \(host):\(port)")
      }
    }
    var pair: [Int32] = [0, 0]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else {
      libssh2_channel_free(channel)
      throw SSHError(kind: .connect, message: "socketpair failed: \(String(cString: strerror(errno)))")
    }
    for fd in pair { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    let local = pair[1]
    let box = ChannelBox(channel: channel)
    tunnelDone.enter()
    DispatchQueue(label: "kiln.ssh.tunnel").async {
      self.pump(box.channel, local)
      libssh2_channel_free(box.channel)
      Foundation.close(local)
      self.tunnelDone.leave()
    }
    return pair[0]
  }

  /// Copies bytes both ways until the target side closes or the channel ends. Runs on its
  /// own thread; nothing else uses the bastion session once the tunnel is open.
  private func pump(_ channel: OpaquePointer?, _ local: Int32) {
    guard let session else { return }
    var fromChannel = [CChar](repeating: 0, count: 65536)
    var fromLocal = [CChar](repeating: 0, count: 65536)
    var pendingToLocal: ArraySlice<CChar> = []
    var pendingToChannel: ArraySlice<CChar> = []
    var localOpen = true
    while true {
      var progressed = false
      // Channel -> local.
      if pendingToLocal.isEmpty {
        let count = libssh2_channel_read_ex(channel, 0, &fromChannel, fromChannel.count)
        if count > 0 {
          pendingToLocal = fromChannel[0..<count]
          progressed = true
        } else if count < 0, count != Int(LIBSSH2_ERROR_EAGAIN) {
          return
        } else if count == 0, libssh2_channel_eof(channel) == 1 {
          return
        }
      }
      if !pendingToLocal.isEmpty {
        let written = pendingToLocal.withUnsafeBufferPointer { Foundation.write(local, $0.baseAddress, $0.count) }
        if written > 0 {
          pendingToLocal = pendingToLocal.dropFirst(written)
          progressed = true
        } else if written < 0, errno != EAGAIN {
          return
        }
      }
      // Local -> channel.
      if pendingToChannel.isEmpty, localOpen {
        let count = Foundation.read(local, &fromLocal, fromLocal.count)
        if count > 0 {
          pendingToChannel = fromLocal[0..<count]
          progressed = true
        } else if count == 0 {
          localOpen = false
          _ = libssh2_channel_send_eof(channel)
          return
        } else if errno != EAGAIN {
          return
        }
      }
      if !pendingToChannel.isEmpty {
        let written = pendingToChannel.withUnsafeBufferPointer { libssh2_channel_write_ex(channel, 0, $0.baseAddress, $0.count) }
        if written > 0 {
          pendingToChannel = pendingToChannel.dropFirst(written)
          progressed = true
        } else if written < 0, written != Int(LIBSSH2_ERROR_EAGAIN) {
          return
        }
      }
      if progressed { continue }
      var descriptors = [
        pollfd(
          fd: socket,
          events: Int16(POLLIN) | (libssh2_session_block_directions(session) & Int32(LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0 ? Int16(POLLOUT) : 0),
          revents: 0),
        pollfd(fd: local, events: Int16(POLLIN) | (pendingToLocal.isEmpty ? 0 : Int16(POLLOUT)), revents: 0),
      ]
      _ = poll(&descriptors, 2, 1000)
    }
  }
}

/// A channel handed to the pump's thread, which is then its only user.
private struct ChannelBox: @unchecked Sendable {
  let channel: OpaquePointer?
}
