import KilnCore
internal import CCurl
internal import CCurlShims
import Foundation
import Synchronization

/// `HTTPClient` over libcurl.
///
/// - One `CurlEasyHandle` (the Swift owner of a `CURL *`) per request in flight; handles are
///   kept in a pool between requests, so connections (and TLS sessions) are reused.
/// - TLS peer and host verification are on unless `insecureSkipTLSVerify`.
/// - Proxies come from the environment as curl reads them (`https_proxy`, `no_proxy`, ...).
/// - A transfer runs on a thread of its own; cancelling the Swift task makes curl's progress
///   callback abort it, and the call throws `CancellationError`.
public final class CurlHTTPClient: HTTPClient {
  public struct Options: Sendable {
    public var connectTimeout: Duration = .seconds(10)
    public var totalTimeout: Duration = .seconds(120)
    public var insecureSkipTLSVerify = false
    public var userAgent = "kiln"

    public init() {}
  }

  public let options: Options
  private let pool = Mutex<[CurlEasyHandle]>([])

  public init(options: Options = Options()) throws {
    try CurlLibrary.ensureInitialized()
    self.options = options
  }

  public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
    try Task.checkCancellation()
    let handle = try pool.withLock { $0.popLast() } ?? CurlEasyHandle()
    let transfer = CurlTransfer(request: request)
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
  let cancelled = Atomic<Bool>(false)
  let received = Mutex<(body: [UInt8], headers: [(name: String, value: String)])>(([], []))
  let uploadOffset = Mutex<Int>(0)

  init(request: HTTPRequest) { self.request = request }
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
    }

    let code = curl_easy_perform(handle)
    if code == CURLE_ABORTED_BY_CALLBACK, transfer.cancelled.load(ordering: .relaxed) {
      throw CancellationError()
    }
    guard code == CURLE_OK else {
      let buffer = String(decoding: UnsafeRawBufferPointer(start: errorBuffer, count: strlen(errorBuffer)), as: UTF8.self)
      let message = buffer.isEmpty ? String(cString: curl_easy_strerror(code)) : buffer
      throw TransportError(kind: Self.kind(of: code), code: Int(code.rawValue), message: message, url: url)
    }
    var status = 0
    try check(CCurlShims_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status), "response code", url)
    let (body, headers) = transfer.received.withLock { $0 }
    return HTTPResponse(status: status, headers: headers, body: body)
  }

  static func milliseconds(_ duration: Duration) -> Int {
    Int((duration.inSeconds * 1000).rounded())
  }

  static func kind(of code: CURLcode) -> TransportError.Kind {
    switch code {
    case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT, CURLE_SEND_ERROR,
      CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2, CURLE_HTTP2_STREAM:
      .connection
    case CURLE_OPERATION_TIMEDOUT: .timeout
    case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE:
      .tls
    default: .other
    }
  }
}

// MARK: - Callbacks (C function pointers: no captures, state through userdata)

private func transfer(_ userdata: UnsafeMutableRawPointer?) -> CurlTransfer {
  Unmanaged<CurlTransfer>.fromOpaque(userdata!).takeUnretainedValue()
}

private func curlWrite(_ pointer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?) -> Int {
  let length = size * count
  guard let pointer else { return 0 }
  let bytes = UnsafeRawBufferPointer(start: pointer, count: length)
  transfer(userdata).received.withLock { $0.body.append(contentsOf: bytes) }
  return length
}

private func curlHeader(_ pointer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?) -> Int {
  let length = size * count
  guard let pointer else { return 0 }
  let line = String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
  let state = transfer(userdata)
  if line.hasPrefix("HTTP/") {
    // A new response (after a 100 Continue or a redirect): forget the previous headers.
    state.received.withLock { $0.headers.removeAll() }
  } else if let colon = line.firstIndex(of: ":") {
    let name = String(line[..<colon])
    let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
    state.received.withLock { $0.headers.append((name, value)) }
  }
  return length
}

private func curlRead(_ pointer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?) -> Int {
  guard let pointer else { return 0 }
  let state = transfer(userdata)
  return state.uploadOffset.withLock { offset in
    let body = state.request.body
    let length = min(size * count, body.count - offset)
    guard length > 0 else { return 0 }
    body.withUnsafeBytes { source in
      UnsafeMutableRawPointer(pointer).copyMemory(from: source.baseAddress! + offset, byteCount: length)
    }
    offset += length
    return length
  }
}

private func curlProgress(_ userdata: UnsafeMutableRawPointer?, _: curl_off_t, _: curl_off_t, _: curl_off_t, _: curl_off_t) -> Int32 {
  transfer(userdata).cancelled.load(ordering: .relaxed) ? 1 : 0
}
