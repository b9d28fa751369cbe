import Foundation
import KilnAWS
import KilnCore

#if canImport(Glibc)
  import Glibc
#endif

/// `temporary_security_group_source_public_ip`: the public address of the machine running
/// Kiln, as `checkip.amazonaws.com` sees it (Packer's `CheckPublicIp`), as the one source the
/// temporary security group admits: `<ip>/32`, or `<ip>/128` for IPv6.
///
/// `KILN_CHECKIP_URL` replaces the service (a proxy's own, or a loopback server in tests).
enum HostPublicIP {
  static let defaultURL = "https://checkip.amazonaws.com"

  /// `caBundle`: the CA file the AWS calls trust (a TLS-inspecting proxy's CA reaches
  /// checkip.amazonaws.com the same way).
  static func cidr(environment: [String: String], caBundle: String?) async throws -> String {
    let address = environment["KILN_CHECKIP_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultURL
    guard let url = URL(string: address), url.host != nil else {
      throw BuildError("KILN_CHECKIP_URL is not a URL: \"\(address)\"")
    }
    var options = CurlHTTPClient.Options()
    options.totalTimeout = .seconds(30)
    options.caBundle = caBundle
    let response: HTTPResponse
    do {
      response = try await CurlHTTPClient(options: options).send(HTTPRequest(method: "GET", url: url))
    } catch let error as CancellationError {
      throw error
    } catch {
      throw BuildError("cannot find this host's public IP for 'temporary_security_group_source_public_ip' (\(address)): \(error)")
    }
    // The answer is one address and a newline; anything else is not trusted.
    let text = String(decoding: response.body.prefix(100), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    guard response.status == 200, let cidr = Self.cidr(of: text) else {
      throw BuildError(
        "cannot find this host's public IP for 'temporary_security_group_source_public_ip': \(address) answered \(response.status) \"\(text.prefix(60))\""
      )
    }
    return cidr
  }

  /// `<ip>/32` or `<ip>/128` for an address; nil for anything else, and for the unspecified
  /// address (which would open the group to everyone).
  static func cidr(of text: String) -> String? {
    var v4 = in_addr()
    if inet_pton(AF_INET, text, &v4) == 1 {
      return v4.s_addr == 0 ? nil : "\(text)/32"
    }
    var v6 = in6_addr()
    guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
    let bytes = withUnsafeBytes(of: &v6) { Array($0) }
    if bytes.allSatisfy({ $0 == 0 }) { return nil }
    if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
      // IPv4-mapped (::ffff:a.b.c.d): an IPv4 address, as Go's To4 finds it.
      return bytes[12...].allSatisfy({ $0 == 0 }) ? nil : "\(bytes[12...].map { String($0) }.joined(separator: "."))/32"
    }
    return "\(text)/128"
  }
}
