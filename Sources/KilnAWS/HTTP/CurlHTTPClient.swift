internal import CCurl
internal import CCurlShims
import Foundation
import KilnCore
import Synchronization

/// `HTTPClient` over libcurl.
///
/// - One `CurlEasyHandle` (the Swift owner of a `CURL *`) per request in flight; handles are
///   kept in a pool between requests, so connections (and TLS sessions) are reused.
/// - TLS peer and host verification are on unless `insecureSkipTLSVerify`; `caBundle` replaces
///   the system's trusted CAs (`AWS_CA_BUNDLE`, a profile's `ca_bundle`).
/// - An answer's body is kept up to `maxResponseBytes` and its headers up to
///   `maxHeaderBytes`; past either the transfer stops with a `.responseTooLarge` error.
/// - Proxies come from the environment as curl reads them (`https_proxy`, `no_proxy`, ...).
/// - A transfer runs on a thread of its own; cancelling the Swift task makes curl's progress
///   callback abort it, and the call throws `CancellationError`.
public final class CurlHTTPClient: HTTPClient {
  public struct Options: Sendable {
    public var connectTimeout: Duration = .seconds(10)
    public var totalTimeout: Duration = .seconds(120)
    public var insecureSkipTLSVerify = false
    /// A PEM file of the CAs to trust instead of the system's; nil for the system's.
    public var caBundle: String?
    public var userAgent = "kiln"
    /// The largest body kept. EC2's biggest answers (a page of DescribeImages) are a few
    /// MiB; 32 MiB leaves room and still stops a runaway answer long before memory does.
    public var maxResponseBytes = 32 * 1024 * 1024
    /// The largest total of header lines kept (curl bounds each line, not their number).
    public var maxHeaderBytes = 256 * 1024

    public init() {}
  }

  public let options: Options
  private let pool = Mutex<[CurlEasyHandle]>([])

  /// - Throws: `AWSConfigurationError` when `options.caBundle` names a file that cannot be
  ///   read, `CurlGlobalError` when libcurl cannot start.
  public init(options: Options = Options()) throws {
    try CurlLibrary.ensureInitialized()
    if let bundle = options.caBundle, !FileManager.default.isReadableFile(atPath: bundle) {
      throw AWSConfigurationError("the CA bundle \"\(bundle)\" (AWS_CA_BUNDLE or the profile's ca_bundle) cannot be read")
    }
    self.options = options
  }

  public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
    try Task.checkCancellation()
    let handle = try pool.withLock { $0.popLast() } ?? CurlEasyHandle()
    let transfer = CurlTransfer(request: request, maxBodyBytes: options.maxResponseBytes, maxHeaderBytes: options.maxHeaderBytes)
    let response = try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, any Error>) in
        let options = self.options
        Thread.detachNewThread {
          continuation.resume(with: Result { try handle.perform(transfer, options: options) })
        }
      }
    } onCancel: {
      transfer.cancelled.store(true, ordering: .relaxed)
    }
    pool.withLock { if $0.count < 8 { $0.append(handle) } }
    return response
  }
}

/// The state one transfer shares with curl's callbacks (reached through `userdata`).
final class CurlTransfer: Sendable {
  let request: HTTPRequest
  let maxBodyBytes: Int
  let maxHeaderBytes: Int
  let cancelled = Atomic<Bool>(false)
  let received = Mutex<Received>(Received())
  let uploadOffset = Mutex<Int>(0)

  struct Received {
    var body: [UInt8] = []
    var headers: [(name: String, value: String)] = []
    var headerBytes = 0
    /// Set when a limit stopped the transfer: which one.
    var overflow: String?
  }

  init(request: HTTPRequest, maxBodyBytes: Int, maxHeaderBytes: Int) {
    self.request = request
    self.maxBodyBytes = maxBodyBytes
    self.maxHeaderBytes = maxHeaderBytes
  }
}

/// The one Swift owner of a `CURL *`. Not shared between threads while a transfer runs.
final class CurlEasyHandle: @unchecked Sendable {
  private let handle: UnsafeMutableRawPointer
  /// curl writes its message here during `perform`, so it needs a stable address.
  private let errorBuffer: UnsafeMutablePointer<CChar>
  private static let errorBufferSize = Int(CURL_ERROR_SIZE) + 1

  init() throws(TransportError) {
    guard let handle = curl_easy_init() else {
      throw TransportError(kind: .other, code: -1, message: "curl_easy_init failed", url: "")
    }
    self.handle = handle
    errorBuffer = .allocate(capacity: Self.errorBufferSize)
    errorBuffer.initialize(repeating: 0, count: Self.errorBufferSize)
  }

  deinit {
    curl_easy_cleanup(handle)
    errorBuffer.deallocate()
  }

  /// Every `setopt` goes through here: a failure keeps curl's message.
  private func check(_ code: CURLcode, _ what: String, _ url: String) throws(TransportError) {
    guard code != CURLE_OK else { return }
    throw TransportError(kind: .other, code: Int(code.rawValue), message: "\(what): \(String(cString: curl_easy_strerror(code)))", url: url)
  }

  func perform(_ transfer: CurlTransfer, options: CurlHTTPClient.Options) throws -> HTTPResponse {
    let request = transfer.request
    let url = request.url.absoluteString
    curl_easy_reset(handle)
    errorBuffer.update(repeating: 0, count: Self.errorBufferSize)
    let context = Unmanaged.passRetained(transfer)
    defer { context.release() }
    let userdata = context.toOpaque()

    var headerList: UnsafeMutablePointer<curl_slist>?
    defer { curl_slist_free_all(headerList) }
    // curl adds "Expect: 100-continue" to large POSTs; AWS answers faster without it.
    for line in request.headers.map({ "\($0.name): \($0.value)" }) + ["Expect:"] {
      guard let appended = curl_slist_append(headerList, line) else {
        throw TransportError(kind: .other, code: -1, message: "curl_slist_append failed", url: url)
      }
      headerList = appended
    }

    try check(CCurlShims_easy_setopt_string(handle, CURLOPT_URL, url), "URL", url)
    try check(CCurlShims_easy_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method), "method", url)
    try check(CCurlShims_easy_setopt_pointer(handle, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headerList)), "headers", url)
    try check(CCurlShims_easy_setopt_string(handle, CURLOPT_USERAGENT, options.userAgent), "user agent", url)
    try check(CCurlShims_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1), "nosignal", url)
    try check(CCurlShims_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(options.connectTimeout)), "connect timeout", url)
    try check(CCurlShims_easy_setopt_long(handle, CURLOPT_TIMEOUT_MS, Self.milliseconds(options.totalTimeout)), "timeout", url)
    try check(CCurlShims_easy_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, options.insecureSkipTLSVerify ? 0 : 1), "TLS verify peer", url)
    try check(CCurlShims_easy_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, options.insecureSkipTLSVerify ? 0 : 2), "TLS verify host", url)
    if let bundle = options.caBundle {
      try check(CCurlShims_easy_setopt_string(handle, CURLOPT_CAINFO, bundle), "CA bundle \(bundle)", url)
    }
    try check(CCurlShims_easy_setopt_string(handle, CURLOPT_ACCEPT_ENCODING, ""), "accept encoding", url)
    try check(CCurlShims_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer), "error buffer", url)

    try check(CCurlShims_easy_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, curlWrite), "write callback", url)
    try check(CCurlShims_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, userdata), "write data", url)
    try check(CCurlShims_easy_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION, curlHeader), "header callback", url)
    try check(CCurlShims_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, userdata), "header data", url)
    try check(CCurlShims_easy_setopt_long(handle, CURLOPT_NOPROGRESS, 0), "progress", url)
    try check(CCurlShims_easy_setopt_xferinfo_callback(handle, curlProgress), "progress callback", url)
    try check(CCurlShims_easy_setopt_pointer(handle, CURLOPT_XFERINFODATA, userdata), "progress data", url)
    if !request.body.isEmpty || ["POST", "PUT"].contains(request.method) {
      try check(CCurlShims_easy_setopt_long(handle, CURLOPT_UPLOAD, 1), "upload", url)
      try check(CCurlShims_easy_setopt_off_t(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(request.body.count)), "body size", url)
      try check(CCurlShims_easy_setopt_data_callback(handle, CURLOPT_READFUNCTION, curlRead), "read callback", url)
      try check(CCurlShims_easy_setopt_pointer(handle, CURLOPT_READDATA, userdata), "read data", url)
      // When a kept-alive connection turns out dead after the request went out (the server
      // closed it without answering), curl sends the request again on a new connection, and
      // must rewind the body to do so; without this it fails with CURLE_SEND_FAIL_REWIND.
      try check(CCurlShims_easy_setopt_seek_callback(handle, curlSeek), "seek callback", url)
      try check(CCurlShims_easy_setopt_pointer(handle, CURLOPT_SEEKDATA, userdata), "seek data", url)
    }

    let code = curl_easy_perform(handle)
    if code == CURLE_ABORTED_BY_CALLBACK, transfer.cancelled.load(ordering: .relaxed) {
      throw CancellationError()
    }
    if let overflow = transfer.received.withLock({ $0.overflow }) {
      throw TransportError(kind: .responseTooLarge, code: Int(code.rawValue), message: "the answer was cut: \(overflow)", url: url)
    }
    guard code == CURLE_OK else {
      let buffer = String(decoding: UnsafeRawBufferPointer(start: errorBuffer, count: strlen(errorBuffer)), as: UTF8.self)
      let message = buffer.isEmpty ? String(cString: curl_easy_strerror(code)) : buffer
      throw TransportError(kind: Self.kind(of: code), code: Int(code.rawValue), message: message, url: url)
    }
    var status = 0
    try check(CCurlShims_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status), "response code", url)
    let received = transfer.received.withLock { $0 }
    return HTTPResponse(status: status, headers: received.headers, body: received.body)
  }

  static func milliseconds(_ duration: Duration) -> Int {
    Int((duration.inSeconds * 1000).rounded())
  }

  static func kind(of code: CURLcode) -> TransportError.Kind {
    switch code {
    // A rewind that failed is a connection that died with the request sent: the client's own
    // retry sends the whole request again.
    case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT, CURLE_SEND_ERROR,
      CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_SEND_FAIL_REWIND:
      .connection
    case CURLE_OPERATION_TIMEDOUT: .timeout
    case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE:
      .tls
    default: .other
    }
  }
}

// MARK: - Callbacks (C function pointers: no captures, state through userdata)

/// The transfer behind `userdata` (always set by `perform`; nil only if curl broke its contract).
private func transfer(_ userdata: UnsafeMutableRawPointer?) -> CurlTransfer? {
  userdata.map { Unmanaged<CurlTransfer>.fromOpaque($0).takeUnretainedValue() }
}

/// Returning less than `length` makes curl stop the transfer (`CURLE_WRITE_ERROR`).
private func curlWrite(_ pointer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?) -> Int {
  let length = size * count
  guard let pointer, let state = transfer(userdata) else { return 0 }
  let bytes = UnsafeRawBufferPointer(start: pointer, count: length)
  return state.received.withLock { received in
    guard received.body.count + length <= state.maxBodyBytes else {
      received.overflow = "its body is larger than \(byteCount(state.maxBodyBytes)), the most Kiln reads"
      return 0
    }
    received.body.append(contentsOf: bytes)
    return length
  }
}

private func curlHeader(_ pointer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?) -> Int {
  let length = size * count
  guard let pointer, let state = transfer(userdata) else { return 0 }
  let line = String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
  return state.received.withLock { received in
    received.headerBytes += length
    guard received.headerBytes <= state.maxHeaderBytes else {
      received.overflow = "its headers are larger than \(byteCount(state.maxHeaderBytes)), the most Kiln reads"
      return 0
    }
    if line.hasPrefix("HTTP/") {
      // A new response (after a 100 Continue or a redirect): forget the previous headers.
      received.headers.removeAll()
    } else if let colon = line.firstIndex(of: ":") {
      let name = String(line[..<colon])
      let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
      received.headers.append((name, value))
    }
    return length
  }
}

private func curlRead(_ pointer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?) -> Int {
  guard let pointer, let state = transfer(userdata) else { return 0 }
  return state.uploadOffset.withLock { offset in
    let body = state.request.body
    let length = min(size * count, body.count - offset)
    guard length > 0 else { return 0 }
    body.withUnsafeBytes { source in
      guard let base = source.baseAddress else { return }
      UnsafeMutableRawPointer(pointer).copyMemory(from: base + offset, byteCount: length)
    }
    offset += length
    return length
  }
}

/// Moves the upload back (curl asks for offset 0 before it resends the body).
private func curlSeek(_ userdata: UnsafeMutableRawPointer?, _ offset: curl_off_t, _ origin: Int32) -> Int32 {
  guard let state = transfer(userdata), origin == SEEK_SET, offset >= 0, offset <= state.request.body.count else {
    return Int32(CURL_SEEKFUNC_CANTSEEK)
  }
  state.uploadOffset.withLock { $0 = Int(offset) }
  return Int32(CURL_SEEKFUNC_OK)
}

private func curlProgress(_ userdata: UnsafeMutableRawPointer?, _: curl_off_t, _: curl_off_t, _: curl_off_t, _: curl_off_t) -> Int32 {
  guard let state = transfer(userdata) else { return 1 }
  return state.cancelled.load(ordering: .relaxed) ? 1 : 0
}

/// "32 MiB", "256 KiB", "100 bytes".
private func byteCount(_ bytes: Int) -> String {
  if bytes >= 1024 * 1024, bytes % (1024 * 1024) == 0 { return "\(bytes / (1024 * 1024)) MiB" }
  if bytes >= 1024, bytes % 1024 == 0 { return "\(bytes / 1024) KiB" }
  return "\(bytes) bytes"
}
