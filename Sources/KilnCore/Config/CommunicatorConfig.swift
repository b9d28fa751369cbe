/// The communicator options every builder that connects to a machine shares (Packer SDK
/// `communicator/config.go`), decoded and checked.
public struct CommunicatorConfig: Sendable {
  public enum Kind: String, Sendable { case ssh, none }

  public struct Bastion: Sendable {
    public var host: String
    public var port = 22
    public var username = ""
    public var password = ""
    public var privateKeyFile = ""
    public var agentAuth = false
  }

  public var kind: Kind = .ssh
  public var host = ""
  public var port = 22
  public var username = ""
  public var password = ""
  public var privateKeyFile = ""
  public var keyPairName = ""
  public var agentAuth = false
  public var temporaryKeyPairName = ""
  /// Kiln defaults to ed25519 (Packer: rsa): libssh2 1.10 can only sign RSA with SHA-1,
  /// which current OpenSSH servers refuse.
  public var temporaryKeyPairType = "ed25519"
  public var temporaryKeyPairBits = 0
  /// Seconds.
  public var timeout: Double = 300
  public var handshakeAttempts = 10
  public var keepAliveInterval: Double = 5
  public var readWriteTimeout: Double = 0
  public var pty = false
  public var clearAuthorizedKeys = false
  public var hostKeyFingerprint = ""
  public var bastion: Bastion?
  public var pauseBeforeConnecting: Double = 0

  public init() {}

  /// Reads the communicator keys from a builder's reader.
  ///
  /// - Parameter defaultKind: `ssh` for most builders.
  public static func read(_ reader: inout ConfigReader) -> CommunicatorConfig {
    var config = CommunicatorConfig()
    switch reader.string("communicator") ?? "ssh" {
    case "", "ssh": config.kind = .ssh
    case "none": config.kind = .none
    case "winrm":
      reader.error(key: "communicator", "\"winrm\" is not supported by kiln yet (supported: \"ssh\", \"none\")")
    case let other:
      reader.error(key: "communicator", "must be \"ssh\" or \"none\", not \"\(other)\"")
    }
    config.host = reader.string("ssh_host") ?? ""
    config.port = reader.int("ssh_port", range: 1...65535) ?? 22
    config.username = reader.string("ssh_username") ?? ""
    config.password = reader.string("ssh_password") ?? ""
    config.privateKeyFile = reader.string("ssh_private_key_file") ?? ""
    config.keyPairName = reader.string("ssh_keypair_name") ?? ""
    config.agentAuth = reader.bool("ssh_agent_auth") ?? false
    config.temporaryKeyPairName = reader.string("temporary_key_pair_name") ?? ""
    if let type = reader.choice("temporary_key_pair_type", ["rsa", "ed25519", "ecdsa", "dsa"]) {
      if type == "rsa" {
        reader.warning(
          "'temporary_key_pair_type' rsa: libssh2 1.10 signs RSA keys with SHA-1 only, which OpenSSH 8.8 and later refuse by default; ed25519 (kiln's default) works everywhere",
          at: reader.location(of: "temporary_key_pair_type"))
      }
      if type == "dsa" || type == "ecdsa" {
        reader.error(key: "temporary_key_pair_type", "must be \"rsa\" or \"ed25519\" (EC2 key pairs), not \"\(type)\"")
      }
      config.temporaryKeyPairType = type
    }
    config.temporaryKeyPairBits = reader.int("temporary_key_pair_bits") ?? 0
    if config.temporaryKeyPairType == "rsa", config.temporaryKeyPairBits != 0, config.temporaryKeyPairBits != 2048 {
      reader.error(
        key: "temporary_key_pair_bits",
        "must be 2048 with \"temporary_key_pair_type\": \"rsa\": kiln has EC2 make RSA key pairs (CreateKeyPair), and EC2's are 2048 bits")
    } else {
      // Packer ignores the size of an ed25519 key too (ed25519 keys have one size).
      reader.acceptWithoutEffect(
        "temporary_key_pair_bits", because: "kiln's temporary keys are ed25519, which have one size, or RSA keys made by EC2, which are 2048 bits")
    }
    let timeout = reader.duration("ssh_timeout")
    reader.deprecated["ssh_wait_timeout"] = "use 'ssh_timeout'"
    let waitTimeout = reader.duration("ssh_wait_timeout")
    config.timeout = timeout ?? waitTimeout ?? 300
    config.handshakeAttempts = reader.int("ssh_handshake_attempts") ?? 10
    config.keepAliveInterval = reader.duration("ssh_keep_alive_interval") ?? 5
    config.readWriteTimeout = reader.duration("ssh_read_write_timeout") ?? 0
    config.pty = reader.bool("ssh_pty") ?? false
    // Kiln never forwards the ssh agent: libssh2 1.10 can ask for it, but refuses the
    // auth-agent channels sshd then opens. So `true` is what kiln does anyway, and an
    // explicit `false` (Packer: forward when SSH_AUTH_SOCK is set) cannot be honoured.
    // So the key needs no property: `true` is kiln's only behaviour, `false` is refused.
    if reader.bool("ssh_disable_agent_forwarding") == false {
      reader.error(
        key: "ssh_disable_agent_forwarding",
        "kiln cannot forward the ssh agent (libssh2 1.10 refuses the agent channels sshd opens); remove the key or set it to true")
    }
    config.clearAuthorizedKeys = reader.bool("ssh_clear_authorized_keys") ?? false
    // Files always go over SFTP, so "sftp" is what kiln does and "scp" is refused (libssh2's
    // SCP sends single files only; Packer's SCP sends trees).
    if reader.choice("ssh_file_transfer_method", ["scp", "sftp"]) == "scp" {
      reader.error(key: "ssh_file_transfer_method", "\"scp\" is not supported by kiln: files go over SFTP (\"sftp\")")
    }
    config.hostKeyFingerprint = reader.string("ssh_host_key_fingerprint") ?? ""
    config.pauseBeforeConnecting = reader.duration("pause_before_connecting") ?? 0

    if let host = reader.string("ssh_bastion_host"), !host.isEmpty {
      var bastion = Bastion(host: host)
      bastion.port = reader.int("ssh_bastion_port", range: 1...65535) ?? 22
      bastion.username = reader.string("ssh_bastion_username") ?? ""
      bastion.password = reader.string("ssh_bastion_password") ?? ""
      bastion.privateKeyFile = reader.string("ssh_bastion_private_key_file") ?? config.privateKeyFile
      bastion.agentAuth = reader.bool("ssh_bastion_agent_auth") ?? false
      if bastion.password.isEmpty, bastion.privateKeyFile.isEmpty, !bastion.agentAuth {
        reader.error(
          "ssh_bastion_password, ssh_bastion_private_key_file or ssh_bastion_agent_auth must be specified for the bastion host",
          at: reader.location(of: "ssh_bastion_host"))
      }
      if !bastion.privateKeyFile.isEmpty, reader.has("ssh_bastion_private_key_file") {
        reader.checkExists(bastion.privateKeyFile, key: "ssh_bastion_private_key_file", what: "a private key file")
      }
      config.bastion = bastion
    } else {
      reader.accept("ssh_bastion_port", "ssh_bastion_username", "ssh_bastion_password", "ssh_bastion_private_key_file", "ssh_bastion_agent_auth")
    }
    // Options Packer acts on and kiln does not have: refused, never silently dropped.
    for key in [
      "ssh_bastion_interactive", "ssh_bastion_certificate_file", "ssh_proxy_host", "ssh_proxy_port", "ssh_proxy_username", "ssh_proxy_password",
      "ssh_ciphers", "ssh_key_exchange_algorithms", "ssh_certificate_file", "ssh_local_tunnels", "ssh_remote_tunnels", "ssh_interface_ip_version",
    ] {
      if let node = reader.raw(key), !Self.isUnset(node) {
        reader.error(key: key, "is not supported by kiln")
      }
    }
    if reader.has("ssh_proxy_host"), config.bastion != nil {
      reader.error("'ssh_bastion_host' and 'ssh_proxy_host' cannot both be set", at: reader.location(of: "ssh_proxy_host"))
    }
    // WinRM keys: accepted so a template written for Packer still reads ("winrm" itself is
    // refused above); with SSH, Packer ignores them too.
    for key in [
      "winrm_username", "winrm_password", "winrm_host", "winrm_port", "winrm_timeout", "winrm_use_ssl", "winrm_insecure", "winrm_use_ntlm",
      "winrm_no_proxy",
    ] {
      reader.acceptWithoutEffect(key, because: "it is used only with \"communicator\": \"winrm\"")
    }

    if config.kind == .ssh {
      if config.username.isEmpty {
        reader.error("an 'ssh_username' must be specified", at: reader.has("ssh_username") ? reader.location(of: "ssh_username") : nil)
      }
      if !config.privateKeyFile.isEmpty {
        reader.checkExists(config.privateKeyFile, key: "ssh_private_key_file", what: "a private key file")
      }
    }
    return config
  }

  /// Whether a value means "not set" as Packer's zero value does: null, "", false, 0, [] or {}.
  static func isUnset(_ node: JSONNode) -> Bool {
    switch node.value {
    case .null: return true
    case .string(let text): return text.isEmpty
    case .bool(let flag): return !flag
    case .number(let text): return Double(text) == 0
    case .array(let elements): return elements.isEmpty
    case .object(let members): return members.isEmpty
    }
  }

  /// Whether the user gave a way to log in (so no temporary key pair is needed).
  public var hasUserAuthentication: Bool {
    !password.isEmpty || !privateKeyFile.isEmpty || agentAuth
  }
}
