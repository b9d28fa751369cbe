import Foundation
import KilnHCL

/// Which files make an HCL template, chosen by name as Packer does (`hcl2template/parser.go`).
enum HCLInputs {
  static let configSuffixes = [".pkr.hcl", ".pkr.json"]
  static let autoVariableSuffixes = [".auto.pkrvars.hcl", ".auto.pkrvars.json"]

  /// Whether `path` is read as HCL: a `.pkr.hcl` or `.pkr.json` file, or a directory.
  /// Anything else is a Packer JSON template.
  static func isHCL(_ path: String) -> Bool {
    if configSuffixes.contains(where: path.hasSuffix) { return true }
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
  }

  static func isDirectory(_ path: String) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
  }

  /// The files of `path` ending in one of `suffixes`: native-syntax files first, then JSON,
  /// each group sorted by name, as Packer's `GetHCL2Files` lists them. A file is itself when
  /// it has one of the suffixes.
  static func files(_ path: String, _ suffixes: [String]) -> [String] {
    guard isDirectory(path) else { return suffixes.contains(where: path.hasSuffix) ? [path] : [] }
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    let directory = path.hasSuffix("/") ? path : path + "/"
    return suffixes.flatMap { suffix in
      names.filter { $0.hasSuffix(suffix) && !isDirectory(directory + $0) }.map { directory + $0 }
    }
  }

  /// `path.root`: the directory given, or the file's directory, as written (Packer's `Basedir`).
  static func root(_ path: String) -> String {
    if isDirectory(path) { return path }
    let directory = (path as NSString).deletingLastPathComponent
    return directory.isEmpty ? "." : directory
  }

  static func read(_ path: String) -> HCLFile? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    return HCL.parseFile(Array(data), filename: path)
  }
}

/// A Packer version constraint (`>= 1.7.0, < 2`), as hashicorp/go-version reads them.
struct VersionConstraint {
  enum Operator: String, CaseIterable {
    case greaterOrEqual = ">="
    case lessOrEqual = "<="
    case pessimistic = "~>"
    case notEqual = "!="
    case equal = "="
    case greater = ">"
    case less = "<"
  }

  var clauses: [(Operator, SemanticVersion, precision: Int)]

  init?(_ text: String) {
    var clauses: [(Operator, SemanticVersion, Int)] = []
    for part in text.split(separator: ",") {
      var clause = part.trimmingCharacters(in: .whitespaces)
      var op = Operator.equal
      if let found = Operator.allCases.first(where: { clause.hasPrefix($0.rawValue) }) {
        op = found
        clause = String(clause.dropFirst(found.rawValue.count)).trimmingCharacters(in: .whitespaces)
      }
      let core = clause.drop { $0 == "v" }.split(separator: "-").first ?? ""
      guard let version = SemanticVersion(clause) else { return nil }
      clauses.append((op, version, core.split(separator: ".").count))
    }
    guard !clauses.isEmpty else { return nil }
    self.clauses = clauses
  }

  func allows(_ version: SemanticVersion) -> Bool {
    clauses.allSatisfy { op, wanted, precision in
      switch op {
      case .equal: version == wanted
      case .notEqual: version != wanted
      case .greater: version > wanted
      case .greaterOrEqual: version >= wanted
      case .less: version < wanted
      case .lessOrEqual: version <= wanted
      case .pessimistic:
        // `~> 1.7` allows 1.x ≥ 1.7; `~> 1.7.2` allows 1.7.x ≥ 1.7.2.
        version >= wanted && Array(version.parts.prefix(max(precision - 1, 1))) == Array(wanted.parts.prefix(max(precision - 1, 1)))
      }
    }
  }
}
