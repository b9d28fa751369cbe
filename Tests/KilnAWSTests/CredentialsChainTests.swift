import Foundation
import KilnAWS
import Testing
import _KilnTestSupport

/// The credentials chain, with temporary HOME and config files, STS against moto, and
/// container/IMDSv2 credentials from a loopback metadata server.
@Suite struct CredentialsChainTests {
  let home: URL

  init() throws {
    home = try Scratch.directory("kiln-home")
    try FileManager.default.createDirectory(at: home.appendingPathComponent(".aws"), withIntermediateDirectories: true)
  }

  func write(_ path: String, _ text: String) throws {
    try text.write(to: home.appendingPathComponent(path), atomically: true, encoding: .utf8)
  }

  /// Settings with nothing from the developer's environment, metadata off unless asked.
  func settings(_ env: [String: String] = [:]) -> CredentialsSettings {
    var settings = CredentialsSettings()
    settings.home = home.path
    settings.environment = ["AWS_EC2_METADATA_DISABLED": "true"].merging(env) { $1 }
    return settings
  }

  func chain(_ settings: CredentialsSettings) throws -> CredentialsChain {
    try CredentialsChain(settings: settings, http: try CurlHTTPClient())
  }

  /// Identity as moto sees it, signed with these credentials (moto checks signatures).
  func identity(_ credentials: SigV4.Credentials) async throws -> STSClient.CallerIdentity {
    let moto = try await SharedMoto.server.get()
    return try await STSClient(
      region: "us-east-1", customEndpoint: moto.endpoint.absoluteString, http: try CurlHTTPClient(),
      credentials: StaticCredentialsProvider(credentials)
    ).getCallerIdentity()
  }

  @Test func templateKeysComeFirst() async throws {
    var s = settings(["AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret"])
    s.accessKey = "TEMPLATEKEY"
    s.secretKey = "templatesecret"
    let chain = try chain(s)
    #expect(try await chain.credentials().accessKeyID == "TEMPLATEKEY")
    #expect(chain.source == "template access_key")
  }

  @Test func environmentThenProfileAndAnExplicitProfileSkipsTheEnvironment() async throws {
    try write(
      ".aws/credentials",
      "[default]\naws_access_key_id = FILEDEFAULT\naws_secret_access_key = s1\n\n[ci]\naws_access_key_id = FILECI\naws_secret_access_key = s2\naws_session_token = t2\n"
    )
    let env = ["AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "envtoken"]
    let fromEnvironment = try await chain(settings(env)).credentials()
    #expect(fromEnvironment == SigV4.Credentials(accessKeyID: "ENVKEY", secretAccessKey: "envsecret", sessionToken: "envtoken"))
    #expect(try await chain(settings()).credentials().accessKeyID == "FILEDEFAULT")
    #expect(try await chain(settings(["AWS_PROFILE": "ci"])).credentials().sessionToken == "t2")
    var named = settings(env)
    named.profile = "ci"
    #expect(try await chain(named).credentials().accessKeyID == "FILECI")
    named.profile = "nope"
    await #expect(throws: AWSConfigurationError.self) { try await chain(named).credentials() }
  }

  @Test func regionComesFromTemplateEnvironmentThenProfile() throws {
    try write(".aws/config", "[default]\nregion = eu-central-1\n[profile west]\nregion = us-west-2\n")
    var s = settings()
    #expect(try chain(s).region() == "eu-central-1")
    #expect(try chain(settings(["AWS_PROFILE": "west"])).region() == "us-west-2")
    #expect(try chain(settings(["AWS_DEFAULT_REGION": "ap-south-1", "AWS_PROFILE": "west"])).region() == "ap-south-1")
    s.region = "sa-east-1"
    #expect(try chain(s).region() == "sa-east-1")
  }

  @Test func roleARNWithSourceProfileAssumesTheRoleThroughSTS() async throws {
    let moto = try await SharedMoto.server.get()
    try write(".aws/credentials", "[base]\naws_access_key_id = \(moto.accessKeyID)\naws_secret_access_key = \(moto.secretAccessKey)\n")
    try write(
      ".aws/config",
      "[profile builder]\nrole_arn = arn:aws:iam::123456789012:role/kiln-builder\nsource_profile = base\nrole_session_name = kiln-test\nregion = us-east-1\n"
    )
    var s = settings(["AWS_PROFILE": "builder"])
    s.customEndpointSTS = moto.endpoint.absoluteString
    let chain = try chain(s)
    let credentials = try await chain.credentials()
    #expect(credentials.accessKeyID != moto.accessKeyID)
    #expect(credentials.sessionToken != nil)
    #expect(chain.source == "profile builder (assume role arn:aws:iam::123456789012:role/kiln-builder)")
    #expect(try await identity(credentials).arn.contains("assumed-role/kiln-builder/kiln-test"))
  }

  @Test func profilesThatLoopAreAnError() async throws {
    try write(
      ".aws/config",
      "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a\n")
    do {
      _ = try await chain(settings(["AWS_PROFILE": "a"])).credentials()
      Issue.record("a loop resolved")
    } catch let error as AWSConfigurationError {
      #expect(error.message.contains("a -> b -> a"))
    }
  }

  @Test func webIdentityFromTheEnvironmentAsInCIOIDC() async throws {
    let moto = try await MotoServer(checkSignatures: false)
    try write("token", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmtpbG4ifQ.c2lnbmF0dXJl\n")
    var s = settings([
      "AWS_WEB_IDENTITY_TOKEN_FILE": home.appendingPathComponent("token").path,
      "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/github-actions", "AWS_ROLE_SESSION_NAME": "nightly",
    ])
    s.customEndpointSTS = moto.endpoint.absoluteString
    let chain = try chain(s)
    let credentials = try await chain.credentials()
    #expect(chain.source == "web identity arn:aws:iam::123456789012:role/github-actions")
    #expect(credentials.sessionToken != nil)
  }

  @Test func templateAssumeRoleWrapsWhatWasFound() async throws {
    let moto = try await SharedMoto.server.get()
    var s = settings()
    s.accessKey = moto.accessKeyID
    s.secretKey = moto.secretAccessKey
    s.customEndpointSTS = moto.endpoint.absoluteString
    var role = STSClient.AssumeRoleRequest(roleARN: "arn:aws:iam::123456789012:role/deployer", sessionName: "kiln-build")
    role.durationSeconds = 900
    role.tags = [EC2Tag("team", "platform")]
    s.assumeRole = role
    let chain = try chain(s)
    let credentials = try await chain.credentials()
    #expect(chain.source == "template access_key, then assume_role arn:aws:iam::123456789012:role/deployer")
    #expect(try await identity(credentials).arn.contains("assumed-role/deployer/kiln-build"))
  }

  @Test func credentialProcessSpeaksTheCLIProtocol() async throws {
    try write(
      "helper.sh",
      "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"PROCKEY\", \"SecretAccessKey\": \"procsecret\", \"SessionToken\": \"proctoken\", \"Expiration\": \"2099-01-01T00:00:00Z\"}'\n"
    )
    try write("broken.sh", "#!/bin/sh\necho 'vault sealed' >&2\nexit 3\n")
    try write(
      ".aws/config",
      "[profile proc]\ncredential_process = sh \(home.path)/helper.sh\n[profile broken]\ncredential_process = sh \(home.path)/broken.sh\n")
    let credentials = try await chain(settings(["AWS_PROFILE": "proc"])).credentials()
    #expect(credentials == SigV4.Credentials(accessKeyID: "PROCKEY", secretAccessKey: "procsecret", sessionToken: "proctoken"))
    do {
      _ = try await chain(settings(["AWS_PROFILE": "broken"])).credentials()
      Issue.record("a failing credential_process gave credentials")
    } catch let error as AWSConfigurationError {
      #expect(error.message.contains("exited with 3: vault sealed"))
    }
  }

  /// 200 KiB on standard error used to fill the pipe while Kiln waited for standard output:
  /// a deadlock. Both are read together now.
  @Test(.timeLimit(.minutes(1))) func credentialProcessWritingMuchToStandardErrorStillWorks() async throws {
    try write(
      "noisy.sh",
      "#!/bin/sh\nhead -c 204800 /dev/zero | tr '\\0' 'e' >&2\necho '{\"Version\": 1, \"AccessKeyId\": \"NOISYKEY\", \"SecretAccessKey\": \"noisysecret\"}'\n"
    )
    try write(".aws/config", "[profile noisy]\ncredential_process = sh \(home.path)/noisy.sh\n")
    let s = settings(["AWS_PROFILE": "noisy"])
    #expect(try await chain(s).credentials().accessKeyID == "NOISYKEY")
  }

  /// A command that never ends is killed at the timeout (with what it started), and the error
  /// says so with the end of its standard error.
  @Test(.timeLimit(.minutes(1))) func aCredentialProcessThatNeverEndsIsKilledAtTheTimeout() async throws {
    let pidFile = home.appendingPathComponent("sleeper.pid").path
    try write("forever.sh", "#!/bin/sh\necho 'waiting for the vault' >&2\nsleep 1000 &\necho $! > \(pidFile)\nwait\n")
    try write(".aws/config", "[profile stuck]\ncredential_process = sh \(home.path)/forever.sh\n")
    var s = settings(["AWS_PROFILE": "stuck"])
    s.credentialProcessTimeout = .seconds(2)
    do {
      _ = try await chain(s).credentials()
      Issue.record("a credential_process that never ends gave credentials")
    } catch let error as AWSConfigurationError {
      #expect(error.message == "credential_process of profile 'stuck' did not finish within 2s and was killed: waiting for the vault")
    }
    // The sleep the script started was killed with it (its process group).
    let pid = try #require(try await Self.pid(in: pidFile))
    #expect(try await Self.ends(pid), "the command's child \(pid) outlived it")
  }

  /// The pid a script wrote to `file`, waiting (bounded) for it to be written.
  static func pid(in file: String) async throws -> Int32? {
    for _ in 0..<200 {
      if let pid = (try? String(contentsOfFile: file, encoding: .utf8)).flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
        return pid
      }
      try await Task.sleep(for: .milliseconds(50))
    }
    return nil
  }

  /// Whether `pid` is gone (or a zombie) within a bounded wait.
  static func ends(_ pid: Int32) async throws -> Bool {
    for _ in 0..<100 {
      if kill(pid, 0) != 0 || (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.contains(") Z ") == true { return true }
      try await Task.sleep(for: .milliseconds(50))
    }
    return false
  }

  /// Ctrl-C (task cancellation) kills a credential_process at once, whatever its timeout.
  @Test(.timeLimit(.minutes(1))) func cancellingKillsTheCredentialProcess() async throws {
    let pidFile = home.appendingPathComponent("cancelled.pid").path
    try write("slow.sh", "#!/bin/sh\necho $$ > \(pidFile)\nexec sleep 1000\n")
    try write(".aws/config", "[profile slow]\ncredential_process = sh \(home.path)/slow.sh\n")
    var s = settings(["AWS_PROFILE": "slow"])
    s.credentialProcessTimeout = .seconds(3600)
    let chain = try chain(s)
    let task = Task { try await chain.credentials() }
    let started = try #require(try await Self.pid(in: pidFile), "the command never started")
    task.cancel()
    let result = await task.result
    #expect(throws: CancellationError.self) { try result.get() }
    #expect(try await Self.ends(started), "the credential_process \(started) outlived the cancellation")
  }

  @Test(.timeLimit(.minutes(1))) func aCredentialProcessFloodingStandardOutputIsStopped() async throws {
    try write(".aws/config", "[profile flood]\ncredential_process = cat /dev/zero\n")
    let s = settings(["AWS_PROFILE": "flood"])
    do {
      _ = try await chain(s).credentials()
      Issue.record("an endless standard output gave credentials")
    } catch let error as AWSConfigurationError {
      #expect(error.message.hasPrefix("credential_process of profile 'flood' wrote more than 64 KiB to standard output"), "\(error)")
    }
  }

  /// The AWS CLI finds `~/.aws/credentials` from HOME; so does Kiln (it used the account's
  /// home directory, /root, whatever HOME said), and `~` in AWS_SHARED_CREDENTIALS_FILE and
  /// AWS_CONFIG_FILE too.
  @Test func theSharedFilesAreFoundFromHOME() async throws {
    try write(".aws/credentials", "[default]\naws_access_key_id = HOMEKEY\naws_secret_access_key = homesecret\n")
    var s = CredentialsSettings()
    s.environment = ["HOME": home.path, "AWS_EC2_METADATA_DISABLED": "true"]
    #expect(s.home == home.path)
    let chain = try CredentialsChain(settings: s, http: try CurlHTTPClient())
    #expect(try await chain.credentials().accessKeyID == "HOMEKEY")
    #expect(chain.source == "profile default")

    try FileManager.default.createDirectory(at: home.appendingPathComponent("elsewhere"), withIntermediateDirectories: true)
    try write("elsewhere/creds", "[tilde]\naws_access_key_id = TILDEKEY\naws_secret_access_key = tildesecret\n")
    try write("elsewhere/conf", "[profile tilde]\nregion = eu-west-3\n")
    s.environment["AWS_SHARED_CREDENTIALS_FILE"] = "~/elsewhere/creds"
    s.environment["AWS_CONFIG_FILE"] = "~/elsewhere/conf"
    s.environment["AWS_PROFILE"] = "tilde"
    let tilde = try CredentialsChain(settings: s, http: try CurlHTTPClient())
    #expect(try await tilde.credentials().accessKeyID == "TILDEKEY")
    #expect(tilde.region() == "eu-west-3")
  }

  func metadataServer(expiresIn: Int = 3600) async throws -> LoopbackServer {
    try await LoopbackServer(python: TestPaths.fixture("metadata_server.py"), arguments: ["ROLEKEY", "rolesecret", String(expiresIn)])
  }

  func hits(_ server: LoopbackServer) async throws -> Int {
    Int(try await CurlHTTPClient().send(HTTPRequest(method: "GET", url: server.baseURL.appendingPathComponent("__hits"))).text) ?? -1
  }

  @Test func containerCredentialsWithAnAuthorizationToken() async throws {
    let server = try await metadataServer()
    try write("container-token", "Bearer container-secret\n")
    let chain = try chain(
      settings([
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.baseURL.appendingPathComponent("container").absoluteString,
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": home.appendingPathComponent("container-token").path,
      ]))
    let credentials = try await chain.credentials()
    #expect(credentials.accessKeyID == "ROLEKEY" && credentials.sessionToken == "session-token-1")
    #expect(chain.source == "container credentials")
    _ = try await chain.credentials()
    #expect(try await hits(server) == 1, "an hour-long credential is cached")
  }

  @Test func instanceRoleThroughIMDSv2AndRefreshBeforeExpiry() async throws {
    // Expires in 60 s: inside the 5-minute refresh margin, so every call fetches anew.
    let server = try await metadataServer(expiresIn: 60)
    let chain = try chain(settings(["AWS_EC2_METADATA_DISABLED": "false", "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.baseURL.absoluteString]))
    let first = try await chain.credentials()
    #expect(first.accessKeyID == "ROLEKEY")
    #expect(chain.source == "instance role (IMDSv2)")
    let second = try await chain.credentials()
    #expect(second.sessionToken == "session-token-2")
    #expect(try await hits(server) == 2)
  }

  @Test func nothingFoundListsEverySourceTriedWithoutSecrets() async throws {
    do {
      _ = try await chain(settings()).credentials()
      Issue.record("credentials from nowhere")
    } catch let error as AWSConfigurationError {
      for source in ["template keys", "environment", "shared files", "web identity", "container", "instance role: AWS_EC2_METADATA_DISABLED=true"] {
        #expect(error.message.contains(source), "\(error.message)")
      }
    }
    let credentials = SigV4.Credentials(accessKeyID: "AKIDVISIBLE", secretAccessKey: "very-secret", sessionToken: "tok")
    #expect("\(credentials)" == "credentials AKIDVISIBLE (secret hidden, with session token)")
    #expect(!String(reflecting: credentials).contains("very-secret"))
  }
}
