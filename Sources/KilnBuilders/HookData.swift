import Foundation
import KilnCore

extension CommunicatorConfig {
  /// What provisioners read through `{{build `…`}}` about the machine (the SDK's provisioning
  /// hook data): what the template configured, overridden by what the builder learned at run
  /// time (the instance, its address, a temporary key). `SSHPrivateKey` is the temporary key,
  /// else the contents of `ssh_private_key_file`. Packer's HTTP-server keys are empty.
  func hookData(runUUID: String, instanceID: String = "", host: String? = nil, publicKey: String = "", privateKeyPEM: String? = nil) -> [String:
    String]
  {
    var privateKey = privateKeyPEM ?? ""
    if privateKey.isEmpty, !privateKeyFile.isEmpty {
      privateKey = (try? String(contentsOfFile: privateKeyFile, encoding: .utf8)) ?? ""
    }
    return [
      "ID": instanceID, "Host": host ?? self.host, "Port": String(port), "User": username, "Password": password,
      "ConnType": kind.rawValue, "SSHPublicKey": publicKey, "SSHPrivateKey": privateKey,
      "SSHPrivateKeyFile": privateKeyFile, "SSHAgentAuth": String(agentAuth), "WinRMPassword": "",
      "PackerRunUUID": runUUID, "PackerHTTPIP": "", "PackerHTTPPort": "", "PackerHTTPAddr": "",
    ]
  }
}
