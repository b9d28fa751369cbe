import Foundation
import KilnAWS
public import KilnCore

/// The amazon plugin's `AccessConfig`: credentials (keys, profile, `assume_role`), region,
/// custom endpoints, TLS, retries and `aws_polling`, decoded the same way for the
/// `amazon-ebs` builder and the `amazon-ami` and `amazon-parameterstore` data sources.
/// `connect` (`AWSAccessConfig+Connect.swift`) turns it into credentials and clients.
public struct AWSAccessConfig: Sendable {
  public var accessKey = ""
  public var secretKey = ""
  public var token = ""
  public var profile = ""
  public var sharedCredentialsFile = ""
  public var assumeRole: AssumeRole?
  public var customEndpointEC2 = ""
  public var customEndpointSTS = ""
  public var insecureSkipTLSVerify = false
  public var region = ""
  public var skipRegionValidation = false
  public var maxRetries = 10
  public var polling: Polling?

  public init() {}

  public struct AssumeRole: Sendable {
    public var roleARN = ""
    public var sessionName = ""
    public var externalID = ""
    public var durationSeconds = 0
    public var policy = ""
    public var policyARNs: [String] = []
    public var tags: [(key: String, value: String)] = []
    public var transitiveTagKeys: [String] = []
  }

  public struct Polling: Sendable {
    public var delaySeconds: Int?
    public var maxAttempts: Int?
  }
}

extension AWSAccessConfig {
  /// Decodes the access options from `r` (they stand at the top of the plugin's
  /// configuration), reporting every problem through it.
  public init(from r: inout ConfigReader) {
    self.init()
    accessKey = r.string("access_key") ?? ""
    secretKey = r.string("secret_key") ?? ""
    token = r.string("token") ?? ""
    profile = r.string("profile") ?? ""
    sharedCredentialsFile = r.string("shared_credentials_file") ?? ""
    if accessKey.isEmpty != secretKey.isEmpty {
      r.error("'access_key' and 'secret_key' must both be set or both be empty", at: r.location(of: accessKey.isEmpty ? "secret_key" : "access_key"))
    }
    if var block = r.object("assume_role") {
      var role = AssumeRole()
      role.roleARN = block.requiredString("role_arn") ?? ""
      role.sessionName = block.string("session_name") ?? ""
      role.externalID = block.string("external_id") ?? ""
      role.durationSeconds = block.int("duration_seconds", range: 900...43200) ?? 0
      role.policy = block.string("policy") ?? ""
      role.policyARNs = block.stringList("policy_arns") ?? []
      role.tags = block.stringMap("tags") ?? []
      role.transitiveTagKeys = block.stringList("transitive_tag_keys") ?? []
      block.finish()
      assumeRole = role
    }
    if r.raw("vault_aws_engine") != nil {
      r.error(key: "vault_aws_engine", "is not supported by kiln: give credentials through the environment, a profile or 'assume_role'")
    }
    if let code = r.string("mfa_code"), !code.isEmpty {
      r.error(
        key: "mfa_code",
        "is not supported by kiln: use a profile whose role kiln can assume without a code, 'assume_role', or temporary credentials in the environment"
      )
    }
    customEndpointEC2 = r.string("custom_endpoint_ec2") ?? ""
    customEndpointSTS = r.string("custom_endpoint_sts") ?? ""
    for (key, endpoint) in [("custom_endpoint_ec2", customEndpointEC2), ("custom_endpoint_sts", customEndpointSTS)] {
      if !endpoint.isEmpty, URL(string: endpoint.contains("://") ? endpoint : "https://" + endpoint)?.host == nil {
        r.error(key: key, "is not a URL: \"\(endpoint)\"")
      }
    }
    insecureSkipTLSVerify = r.bool("insecure_skip_tls_verify") ?? false
    region = r.string("region") ?? ""
    if !region.isEmpty {
      // The same shape check the client makes before any request: `kiln validate` says it, not a build.
      do { try AWSRegion.validate(region) } catch { r.error(key: "region", "\(error)") }
    }
    skipRegionValidation = r.bool("skip_region_validation") ?? false
    maxRetries = r.int("max_retries", range: 0...100) ?? 10
    if var block = r.object("aws_polling") {
      polling = Polling(
        delaySeconds: block.int("delay_seconds", range: WaitPolicy.delaySecondsRange),
        maxAttempts: block.int("max_attempts", range: WaitPolicy.maxAttemptsRange))
      block.finish()
    }
    if r.bool("decode_authorization_messages") == true {
      r.error(
        key: "decode_authorization_messages",
        "is not supported by kiln: it cannot decode EC2's encoded authorization failures (run `aws sts decode-authorization-message` on the message)")
    }
    if r.bool("skip_metadata_api_check") == true {
      r.error(key: "skip_metadata_api_check", "is not supported by kiln: its credential chain always ends with the instance metadata service")
    }
    r.acceptWithoutEffect(
      "skip_credential_validation", because: "kiln does not check the credentials before the build (no STS GetCallerIdentity call)")
    r.acceptWithoutEffect("skip_requesting_account_id", because: "kiln never asks for the account id")
  }
}
