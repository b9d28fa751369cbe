public import KilnAWS
import KilnCore

/// The AWS side of an amazon plugin (builder or data source): the credentials chain of its
/// access options, the region, and makers of EC2 and SSM clients with the same transport,
/// endpoints form, retries and retry log.
public struct AWSConnection: Sendable {
  /// The template's `region`, else the environment's or the profile's.
  public let region: String
  /// `AWS_CA_BUNDLE` or the profile's `ca_bundle`.
  public let caBundle: String?
  public let http: any HTTPClient
  public let credentials: any CredentialsProvider
  public let variant: EndpointVariant
  public let retry: RetryPolicy
  public let log: AWSClientLog
  let access: AWSAccessConfig
  let environment: [String: String]
  /// Decodes the encoded message of an `UnauthorizedOperation`, when the identity may
  /// (sts:DecodeAuthorizationMessage); a diagnosis, so it gives up sooner than other calls.
  let sts: STSClient

  /// An EC2 client for `region` (at `custom_endpoint_ec2` when set), sharing the rate
  /// limiter of `limiterKey` and the region.
  public func ec2(_ region: String, limiterKey: String) throws -> EC2Client {
    try EC2Client(
      region: region, customEndpoint: access.customEndpointEC2.isEmpty ? nil : access.customEndpointEC2, variant: variant, http: http,
      credentials: credentials, retry: retry, limiterKey: limiterKey, log: log, authorizationDecoder: sts)
  }

  /// An SSM client for the region. The access options have no SSM endpoint (the plugin's
  /// have none either); its endpoint is SSM's public one, or what the AWS SDKs' standard
  /// service endpoint variable `AWS_ENDPOINT_URL_SSM` names (the plugin's SDK reads it too).
  public func ssm(limiterKey: String) throws -> SSMClient {
    let custom = environment["AWS_ENDPOINT_URL_SSM"].flatMap { $0.isEmpty ? nil : $0 }
    return try SSMClient(
      region: region, customEndpoint: custom, variant: variant, http: http, credentials: credentials, retry: retry, limiterKey: limiterKey,
      log: log)
  }
}

extension AWSAccessConfig {
  /// The connection these options describe: credentials from the AWS CLI's chain (template
  /// keys, profile, `assume_role`, environment, web identity, containers, the instance role),
  /// the region, the endpoint variant (FIPS, dual-stack), TLS settings and retries.
  ///
  /// - Throws: `BuildError` when no region can be found, `AWSConfigurationError` for a bad
  ///   setting.
  public func connect(environment: [String: String], sessionName: String, log: AWSClientLog) throws -> AWSConnection {
    var settings = CredentialsSettings()
    settings.accessKey = accessKey
    settings.secretKey = secretKey
    settings.token = token
    settings.profile = profile
    settings.sharedCredentialsFile = sharedCredentialsFile
    settings.region = region
    settings.customEndpointSTS = customEndpointSTS
    settings.environment = environment
    if let role = assumeRole {
      var request = STSClient.AssumeRoleRequest(roleARN: role.roleARN, sessionName: role.sessionName.isEmpty ? sessionName : role.sessionName)
      request.externalID = role.externalID.isEmpty ? nil : role.externalID
      request.durationSeconds = role.durationSeconds == 0 ? nil : role.durationSeconds
      request.policy = role.policy.isEmpty ? nil : role.policy
      request.policyARNs = role.policyARNs
      request.tags = role.tags.map { EC2Tag($0.key, $0.value) }
      request.transitiveTagKeys = role.transitiveTagKeys
      settings.assumeRole = request
    }
    var options = CurlHTTPClient.Options()
    options.insecureSkipTLSVerify = insecureSkipTLSVerify
    options.userAgent = "kiln/\(KilnVersion.kiln)"
    options.caBundle = settings.caBundle
    let http = try CurlHTTPClient(options: options)
    let credentials = try CredentialsChain(settings: settings, http: http, log: log)
    guard let region = credentials.region(), !region.isEmpty else {
      throw BuildError("no region: set 'region' in the template, or AWS_REGION, or a region in the profile")
    }
    let variant = try settings.endpointVariant()
    let sts = try STSClient(
      region: region, customEndpoint: customEndpointSTS.isEmpty ? nil : customEndpointSTS, variant: variant,
      http: http, credentials: credentials, retry: RetryPolicy(maxRetries: 2), log: log)
    return AWSConnection(
      region: region, caBundle: settings.caBundle, http: http, credentials: credentials, variant: variant,
      retry: RetryPolicy(maxRetries: maxRetries), log: log, access: self, environment: environment, sts: sts)
  }
}
