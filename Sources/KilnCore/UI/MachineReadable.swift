import Foundation

/// Packer's `-machine-readable` line format (reference §6.3):
/// `<unix-timestamp>,<target>,<type>,<data>...`, where in each field a comma becomes
/// `%!(PACKER_COMMA)`, a newline `\n` and a carriage return `\r`.
public enum MachineReadable {
  public static func escape(_ field: String) -> String {
    field.replacingOccurrences(of: ",", with: "%!(PACKER_COMMA)")
      .replacingOccurrences(of: "\n", with: "\\n")
      .replacingOccurrences(of: "\r", with: "\\r")
  }

  public static func line(timestamp: Int, target: String = "", type: String, _ data: [String]) -> String {
    ([String(timestamp), escape(target), escape(type)] + data.map(escape)).joined(separator: ",")
  }

  /// Splits a line back into timestamp, target, type and data fields (for tests and tools).
  public static func parse(_ line: String) -> (timestamp: Int, target: String, type: String, data: [String])? {
    let fields = line.split(separator: ",", omittingEmptySubsequences: false).map {
      String($0).replacingOccurrences(of: "%!(PACKER_COMMA)", with: ",")
        .replacingOccurrences(of: "\\n", with: "\n").replacingOccurrences(of: "\\r", with: "\r")
    }
    guard fields.count >= 3, let timestamp = Int(fields[0]) else { return nil }
    return (timestamp, fields[1], fields[2], Array(fields.dropFirst(3)))
  }
}
