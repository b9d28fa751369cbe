internal import CLibSSH2
import Foundation
public import KilnCore

/// File transfer over SFTP, streamed from and to disk in 1 MiB pieces (libssh2 pipelines each
/// piece as several SFTP packets), so a file of any size uses constant memory.
extension SSHSession {
  static let chunkSize = 1 << 20

  // MARK: - Public operations

  /// Uploads a local file or directory, with Packer's rules (reference §4.2): a directory
  /// `src` (no trailing slash) lands as `dst/src`; `src/` copies its contents into `dst`; a file
  /// goes to `dst`, or into it when `dst` ends with `/`.
  public func upload(_ localPath: String, to remotePath: String, progress: TransferProgress? = nil) async throws {
    try await onQueue(cancellable: { try self.uploadPath(localPath, remotePath, $0, progress) })
  }

  /// Downloads a remote file or directory. A file goes to `localPath` (or into it when it ends
  /// with `/`), written 0644; a directory `src` lands as `localPath/src`, `src/` as its
  /// contents. Local parent directories are created (0755).
  public func download(_ remotePath: String, to localPath: String, progress: TransferProgress? = nil) async throws {
    try await onQueue(cancellable: { try self.downloadPath(remotePath, localPath, $0, progress) })
  }

  /// Sets the mode over SFTP (no remote shell started: on a host whose login shell is slow
  /// to start, each command saved is that start-up saved).
  public func setMode(_ remotePath: String, _ mode: Int) async throws {
    try await onQueue(cancellable: { cancelled in
      try self.withSFTP(cancelled) { sftp in try self.setPermissions(remotePath, mode, sftp, cancelled) }
    })
  }

  /// Removes files over SFTP; a missing file is not an error.
  public func remove(_ remotePaths: [String]) async throws {
    try await onQueue(cancellable: { cancelled in
      try self.withSFTP(cancelled) { sftp in
        for path in remotePaths {
          do {
            _ = try self.sftpIO(sftp, cancelled, "removing \(path)") { Int(libssh2_sftp_unlink_ex(sftp, path, UInt32(path.utf8.count))) }
          } catch let error as SSHError where error.kind == .channel {
            let status = libssh2_sftp_last_error(sftp)
            guard status == UInt(LIBSSH2_FX_NO_SUCH_FILE) || status == UInt(LIBSSH2_FX_NO_SUCH_PATH) else { throw error }
          }
        }
      }
    })
  }

  // MARK: - Upload

  private func uploadPath(_ local: String, _ remote: String, _ cancelled: CancellationFlag, _ progress: TransferProgress?) throws {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: local, isDirectory: &isDirectory) else {
      throw SSHError(kind: .channel, message: "upload: the local file \(local) does not exist")
    }
    try withSFTP(cancelled) { sftp in
      try uploadPath(local, isDirectory: isDirectory.boolValue, remote, sftp, cancelled, progress)
    }
  }

  private func uploadPath(
    _ local: String, isDirectory: Bool, _ remote: String, _ sftp: OpaquePointer, _ cancelled: CancellationFlag, _ progress: TransferProgress?
  ) throws {
    if !isDirectory {
      let target = remote.hasSuffix("/") ? remote + (local as NSString).lastPathComponent : remote
      try uploadFile(local, target, sftp, cancelled, progress)
      return
    }
    let base = local.hasSuffix("/") ? remote : (remote.hasSuffix("/") ? remote : remote + "/") + ((local as NSString).lastPathComponent)
    try makeDirectory(base, mode: Self.mode(of: local) ?? 0o755, sftp, cancelled)
    let root = URL(fileURLWithPath: local)
    guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isDirectoryKey], options: []) else { return }
    let rootPath = root.standardizedFileURL.path
    for case let url as URL in walker {
      let relative = String(url.standardizedFileURL.path.dropFirst(rootPath.count + 1))
      let target = (base.hasSuffix("/") ? base : base + "/") + relative
      if (try? url.resourceValues(forKeys: [.isDirectoryKey]))?.isDirectory == true {
        try makeDirectory(target, mode: Self.mode(of: url.path) ?? 0o755, sftp, cancelled)
      } else {
        try uploadFile(url.path, target, sftp, cancelled, progress)
      }
    }
  }

  private func uploadFile(_ local: String, _ remote: String, _ sftp: OpaquePointer, _ cancelled: CancellationFlag, _ progress: TransferProgress?)
    throws
  {
    let descriptor = Foundation.open(local, O_RDONLY)
    guard descriptor >= 0 else {
      throw SSHError(kind: .channel, message: "upload: cannot read \(local): \(String(cString: strerror(errno)))")
    }
    defer { Foundation.close(descriptor) }
    let mode = Self.mode(of: local) ?? 0o644
    let total = Int64((try? FileManager.default.attributesOfItem(atPath: local)[.size] as? Int) ?? 0)
    let flags = UInt(LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC)
    try withRemoteFile(remote, flags: flags, mode: mode, sftp, cancelled) { handle in
      var buffer = [CChar](repeating: 0, count: Self.chunkSize)
      var done: Int64 = 0
      while true {
        let count = Foundation.read(descriptor, &buffer, buffer.count)
        guard count >= 0 else { throw SSHError(kind: .channel, message: "upload: reading \(local) failed: \(String(cString: strerror(errno)))") }
        if count == 0 { break }
        var offset = 0
        while offset < count {
          let written = try sftpIO(sftp, cancelled, "writing \(remote)") {
            buffer.withUnsafeBufferPointer { libssh2_sftp_write(handle, $0.baseAddress! + offset, count - offset) }
          }
          offset += written
        }
        done += Int64(count)
        progress?(remote, done, total)
      }
    }
    // The open mode is filtered by the server's umask; set the exact mode as Packer does.
    try setPermissions(remote, mode, sftp, cancelled)
  }

  private func setPermissions(_ remote: String, _ mode: Int, _ sftp: OpaquePointer, _ cancelled: CancellationFlag) throws {
    var attributes = LIBSSH2_SFTP_ATTRIBUTES()
    attributes.flags = UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS)
    attributes.permissions = UInt(mode)
    _ = try sftpIO(sftp, cancelled, "setting the mode of \(remote)") {
      Int(libssh2_sftp_stat_ex(sftp, remote, UInt32(remote.utf8.count), LIBSSH2_SFTP_SETSTAT, &attributes))
    }
  }

  private func makeDirectory(_ remote: String, mode: Int, _ sftp: OpaquePointer, _ cancelled: CancellationFlag) throws {
    let path = remote.hasSuffix("/") && remote.count > 1 ? String(remote.dropLast()) : remote
    do {
      _ = try sftpIO(sftp, cancelled, "creating the directory \(path)") {
        Int(libssh2_sftp_mkdir_ex(sftp, path, UInt32(path.utf8.count), Int(mode)))
      }
    } catch let error as SSHError {
      // An existing directory is fine (FAILURE or FILE_ALREADY_EXISTS, depending on server).
      guard let attributes = try? stat(path, sftp, cancelled), Self.isDirectory(attributes) else { throw error }
    }
  }

  // MARK: - Download

  private func downloadPath(_ remote: String, _ local: String, _ cancelled: CancellationFlag, _ progress: TransferProgress?) throws {
    try withSFTP(cancelled) { sftp in
      let trimmed = remote.count > 1 && remote.hasSuffix("/") ? String(remote.dropLast()) : remote
      let attributes = try stat(trimmed, sftp, cancelled)
      if !Self.isDirectory(attributes) {
        let target = local.hasSuffix("/") ? local + (trimmed as NSString).lastPathComponent : local
        try downloadFile(trimmed, target, Int64(attributes.filesize), sftp, cancelled, progress)
        return
      }
      let base = remote.hasSuffix("/") ? local : (local as NSString).appendingPathComponent((trimmed as NSString).lastPathComponent)
      try downloadDirectory(trimmed, base, sftp, cancelled, progress)
    }
  }

  private func downloadDirectory(
    _ remote: String, _ local: String, _ sftp: OpaquePointer, _ cancelled: CancellationFlag, _ progress: TransferProgress?
  ) throws {
    try FileManager.default.createDirectory(atPath: local, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    let entries = try withRemoteFile(remote, flags: 0, mode: 0, sftp, cancelled, type: LIBSSH2_SFTP_OPENDIR) { handle in
      var entries: [(String, LIBSSH2_SFTP_ATTRIBUTES)] = []
      var name = [CChar](repeating: 0, count: 4096)
      while true {
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        let length = try sftpIO(sftp, cancelled, "listing \(remote)") {
          Int(libssh2_sftp_readdir_ex(handle, &name, name.count, nil, 0, &attributes))
        }
        if length == 0 { break }
        let entry = String(decoding: name.prefix(length).map(UInt8.init(bitPattern:)), as: UTF8.self)
        if entry != "." && entry != ".." { entries.append((entry, attributes)) }
      }
      return entries
    }
    for (entry, attributes) in entries {
      let source = remote + "/" + entry
      let target = (local as NSString).appendingPathComponent(entry)
      if Self.isDirectory(attributes) {
        try downloadDirectory(source, target, sftp, cancelled, progress)
      } else {
        try downloadFile(source, target, Int64(attributes.filesize), sftp, cancelled, progress)
      }
    }
  }

  private func downloadFile(
    _ remote: String, _ local: String, _ total: Int64, _ sftp: OpaquePointer, _ cancelled: CancellationFlag, _ progress: TransferProgress?
  ) throws {
    let directory = (local as NSString).deletingLastPathComponent
    if !directory.isEmpty {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    }
    try withRemoteFile(remote, flags: UInt(LIBSSH2_FXF_READ), mode: 0, sftp, cancelled) { handle in
      try downloadFile(handle, remote, local, total, sftp, cancelled, progress)
    }
  }

  private func downloadFile(
    _ handle: OpaquePointer, _ remote: String, _ local: String, _ total: Int64, _ sftp: OpaquePointer, _ cancelled: CancellationFlag,
    _ progress: TransferProgress?
  ) throws {
    // Into a temporary file beside the target, renamed when complete: no half-written file.
    let temporary = local + ".kiln-partial"
    let descriptor = Foundation.open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard descriptor >= 0 else {
      throw SSHError(kind: .channel, message: "download: cannot write \(local): \(String(cString: strerror(errno)))")
    }
    var renamed = false
    defer {
      Foundation.close(descriptor)
      if !renamed { unlink(temporary) }
    }
    var buffer = [CChar](repeating: 0, count: Self.chunkSize)
    var done: Int64 = 0
    while true {
      let count = try sftpIO(sftp, cancelled, "reading \(remote)") { libssh2_sftp_read(handle, &buffer, buffer.count) }
      if count == 0 { break }
      var offset = 0
      while offset < count {
        let written = buffer.withUnsafeBufferPointer { Foundation.write(descriptor, $0.baseAddress! + offset, count - offset) }
        guard written > 0 else {
          throw SSHError(kind: .channel, message: "download: writing \(local) failed: \(String(cString: strerror(errno)))")
        }
        offset += written
      }
      done += Int64(count)
      progress?(remote, done, total)
    }
    fchmod(descriptor, 0o644)
    guard rename(temporary, local) == 0 else {
      throw SSHError(kind: .channel, message: "download: cannot move the file into \(local): \(String(cString: strerror(errno)))")
    }
    renamed = true
  }

  // MARK: - SFTP plumbing

  /// Runs `body` with the session's SFTP subsystem, started on first use. The subsystem is not
  /// scoped to one call: each start costs a channel, a server process and, here, an extra
  /// channel to see that it answers (`checkSFTPAnswers`), and a build transfers many files. It
  /// lives as long as the session and is shut down, checked, by the session's `close()`.
  /// The handles opened in it are scoped (`withRemoteFile`). On the session's queue.
  func withSFTP<T>(_ cancelled: CancellationFlag, _ body: (OpaquePointer) throws -> T) throws -> T {
    try body(try openSFTP(cancelled))
  }

  private func openSFTP(_ cancelled: CancellationFlag) throws -> OpaquePointer {
    if let sftp { return sftp }
    guard let session else { throw SSHError(kind: .connectionLost, message: "the SSH session is closed") }
    try checkSFTPAnswers(session, cancelled)
    while true {
      if let opened = libssh2_sftp_init(session) {
        sftp = opened
        return opened
      }
      let code = libssh2_session_last_errno(session)
      guard code == LIBSSH2_ERROR_EAGAIN else {
        throw SSHError(kind: Self.isConnectionError(code) ? .connectionLost : .channel, message: "cannot start SFTP: \(lastError(code))")
      }
      try waitForSocket(cancelled, deadline: config.readWriteTimeout.map { lastActivity + $0 }, "starting SFTP")
    }
  }

  /// Starts the sftp subsystem on a channel of its own and waits for any answer to
  /// SSH_FXP_INIT. libssh2 1.10's `libssh2_sftp_init` takes a subsystem that ends without
  /// answering (sshd failing to enter an unsafe `ChrootDirectory`, `Subsystem sftp
  /// /bin/false`) for "no data yet" and would be retried forever; here that end is seen.
  private func checkSFTPAnswers(_ session: OpaquePointer, _ cancelled: CancellationFlag) throws {
    func deadline() -> ContinuousClock.Instant? { config.readWriteTimeout.map { lastActivity + $0 } }
    let place = "\(config.host):\(config.port)"
    let channel = try openChannel(session, cancelled, deadline: deadline)
    defer { libssh2_channel_free(channel) }
    do {
      try io(cancelled, deadline: deadline(), "requesting the sftp subsystem") {
        libssh2_channel_process_startup(channel, "subsystem", 9, "sftp", 4)
      }
    } catch var error as SSHError where error.kind == .channel {
      error.message = "cannot start SFTP on \(place): the server refused the sftp subsystem (\(error.message)); sshd needs a \"Subsystem sftp\" line"
      throw error
    }
    // SSH_FXP_INIT, protocol version 3: length 5, type 1, version 3.
    let initPacket: [CChar] = [0, 0, 0, 5, 1, 0, 0, 0, 3]
    var sent = 0
    while sent < initPacket.count {
      sent += try ioSize(cancelled, deadline: deadline(), "starting SFTP") {
        initPacket.withUnsafeBufferPointer { libssh2_channel_write_ex(channel, 0, $0.baseAddress! + sent, initPacket.count - sent) }
      }
    }
    var answer = [CChar](repeating: 0, count: 256)
    while true {
      let count = libssh2_channel_read_ex(channel, 0, &answer, answer.count)
      if count > 0 { break }
      if count < 0, count != Int(LIBSSH2_ERROR_EAGAIN) {
        throw SSHError(
          kind: Self.isConnectionError(Int32(count)) ? .connectionLost : .channel,
          message: "starting SFTP on \(place) failed: \(lastError(Int32(count)))")
      }
      if libssh2_channel_eof(channel) == 1 {
        var said = ""
        let length = libssh2_channel_read_ex(channel, 1, &answer, answer.count)
        if length > 0 {
          said = String(decoding: answer.prefix(length).map(UInt8.init(bitPattern:)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        _ = try? io(cancelled, deadline: ContinuousClock.now + .seconds(5), "closing the channel") { libssh2_channel_close(channel) }
        _ = try? io(cancelled, deadline: ContinuousClock.now + .seconds(5), "closing the channel") { libssh2_channel_wait_closed(channel) }
        let status = libssh2_channel_get_exit_status(channel)
        throw SSHError(
          kind: .channel,
          message:
            "cannot start SFTP on \(place): the server's sftp subsystem ended without answering (exit status \(status)\(said.isEmpty ? "" : ", it said: \(said)")); sshd does this when it cannot enter its ChrootDirectory (which must be owned by root and not group- or world-writable, with all its parents) or its Subsystem sftp program fails"
        )
      }
      try waitForSocket(cancelled, deadline: deadline(), "starting SFTP")
    }
    // It answers: end it (the server's EOF must come before libssh2 waits for the close).
    try io(cancelled, deadline: deadline(), "closing the channel") { libssh2_channel_send_eof(channel) }
    while libssh2_channel_eof(channel) != 1 {
      let count = libssh2_channel_read_ex(channel, 0, &answer, answer.count)
      if count < 0, count != Int(LIBSSH2_ERROR_EAGAIN) {
        throw SSHError(
          kind: Self.isConnectionError(Int32(count)) ? .connectionLost : .channel,
          message: "starting SFTP on \(place) failed: \(lastError(Int32(count)))")
      }
      if count == Int(LIBSSH2_ERROR_EAGAIN) { try waitForSocket(cancelled, deadline: deadline(), "starting SFTP") }
    }
    try io(cancelled, deadline: deadline(), "closing the channel") { libssh2_channel_close(channel) }
    try io(cancelled, deadline: deadline(), "closing the channel") { libssh2_channel_wait_closed(channel) }
  }

  private func openRemote(
    _ path: String, flags: UInt, mode: Int, _ sftp: OpaquePointer, _ cancelled: CancellationFlag, type: Int32 = LIBSSH2_SFTP_OPENFILE
  ) throws -> OpaquePointer {
    while true {
      if let handle = libssh2_sftp_open_ex(sftp, path, UInt32(path.utf8.count), flags, mode, type) { return handle }
      let code = libssh2_session_last_errno(session)
      if code == LIBSSH2_ERROR_EAGAIN {
        try waitForSocket(cancelled, deadline: config.readWriteTimeout.map { lastActivity + $0 }, "opening \(path)")
        continue
      }
      throw sftpError(code, sftp, "opening \(path)")
    }
  }

  /// Opens `path` (a file, or with `LIBSSH2_SFTP_OPENDIR` a directory), runs `body` with the
  /// handle and closes it on every way out, cancellation included (the close does not stop
  /// for it, and waits at most 10 s). The close is checked: after `body` returned, a failed
  /// close is thrown (a server may report a write error only there); after `body` threw,
  /// that error is the one kept.
  private func withRemoteFile<T>(
    _ path: String, flags: UInt, mode: Int, _ sftp: OpaquePointer, _ cancelled: CancellationFlag,
    type: Int32 = LIBSSH2_SFTP_OPENFILE, _ body: (OpaquePointer) throws -> T
  ) throws -> T {
    let handle = try openRemote(path, flags: flags, mode: mode, sftp, cancelled, type: type)
    func close() -> Int32 { finishing(within: .seconds(10)) { libssh2_sftp_close_handle(handle) } }
    let result: T
    do {
      result = try body(handle)
    } catch {
      _ = close()
      throw error
    }
    let closed = close()
    guard closed == 0 else { throw sftpError(closed, sftp, "closing \(path)") }
    lastActivity = .now
    return result
  }

  private func stat(_ path: String, _ sftp: OpaquePointer, _ cancelled: CancellationFlag) throws -> LIBSSH2_SFTP_ATTRIBUTES {
    var attributes = LIBSSH2_SFTP_ATTRIBUTES()
    _ = try sftpIO(sftp, cancelled, "reading the attributes of \(path)") {
      Int(libssh2_sftp_stat_ex(sftp, path, UInt32(path.utf8.count), LIBSSH2_SFTP_STAT, &attributes))
    }
    return attributes
  }

  /// A non-blocking SFTP call: EAGAIN waits, errors carry the SFTP status in words.
  private func sftpIO(_ sftp: OpaquePointer, _ cancelled: CancellationFlag, _ what: @autoclosure () -> String, _ call: () -> Int) throws -> Int {
    while true {
      let result = call()
      if result >= 0 {
        lastActivity = .now
        return result
      }
      guard result == Int(LIBSSH2_ERROR_EAGAIN) else { throw sftpError(Int32(result), sftp, what()) }
      try waitForSocket(cancelled, deadline: config.readWriteTimeout.map { lastActivity + $0 }, what())
    }
  }

  private func sftpError(_ code: Int32, _ sftp: OpaquePointer, _ what: String) -> SSHError {
    if code == LIBSSH2_ERROR_SFTP_PROTOCOL {
      let status = libssh2_sftp_last_error(sftp)
      let words: String
      switch status {
      case UInt(LIBSSH2_FX_NO_SUCH_FILE), UInt(LIBSSH2_FX_NO_SUCH_PATH): words = "no such file or directory"
      case UInt(LIBSSH2_FX_PERMISSION_DENIED): words = "permission denied"
      case UInt(LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM): words = "no space left on the remote file system"
      case UInt(LIBSSH2_FX_QUOTA_EXCEEDED): words = "disk quota exceeded"
      case UInt(LIBSSH2_FX_FILE_ALREADY_EXISTS): words = "file already exists"
      case UInt(LIBSSH2_FX_FAILURE): words = "failure (the server gave no reason; a full disk or a directory where a file was expected are common)"
      default: words = "SFTP status \(status)"
      }
      return SSHError(kind: .channel, message: "\(what) on \(config.host): \(words)")
    }
    return SSHError(kind: Self.isConnectionError(code) ? .connectionLost : .channel, message: "\(what) failed: \(lastError(code))")
  }

  static func isDirectory(_ attributes: LIBSSH2_SFTP_ATTRIBUTES) -> Bool {
    attributes.permissions & UInt(LIBSSH2_SFTP_S_IFMT) == UInt(LIBSSH2_SFTP_S_IFDIR)
  }

  static func mode(of path: String) -> Int? {
    (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int).map { $0 & 0o7777 }
  }
}
