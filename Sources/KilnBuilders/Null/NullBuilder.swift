public import KilnCore

/// Packer's `null` builder: connects to an existing host (`ssh_host`) and runs the
/// provisioners there; creates nothing. Artifact: "Null".
public struct NullBuilder: BuilderPlugin {
  public static let typeName = "null"

  public var communicator: CommunicatorConfig

  public var hasCommunicator: Bool { communicator.kind != .none }

  public init(from reader: inout ConfigReader) {
    communicator = CommunicatorConfig.read(&reader)
    guard communicator.kind == .ssh else { return }
    if communicator.host.isEmpty {
      reader.error("an 'ssh_host' must be specified: the null builder connects to an existing machine", at: nil)
    }
    if !communicator.hasUserAuthentication {
      reader.error("one authentication method must be specified: 'ssh_password', 'ssh_private_key_file' or 'ssh_agent_auth'", at: nil)
    }
  }
}
