import Foundation

/// A value while a template is evaluated: Go's dynamic values, narrowed to what Packer
/// templates produce.
public indirect enum TemplateValue: Sendable, Equatable {
  case string(String)
  case integer(Int)
  case float(Double)
  case bool(Bool)
  case list([TemplateValue])
  case map([String: TemplateValue])
  case null
  /// A value only known in a later phase; the action that needed it is kept as written.
  case deferred

  /// Printed as Go's `fmt.Sprint` would.
  public var rendered: String {
    switch self {
    case .string(let s): s
    case .integer(let i): String(i)
    case .float(let d):
      d == d.rounded() && abs(d) < 1e21 ? String(format: "%.0f", d) : String(d)
    case .bool(let b): b ? "true" : "false"
    case .list(let items): "[" + items.map(\.rendered).joined(separator: " ") + "]"
    case .map(let dict): "map[" + dict.keys.sorted().map { "\($0):\(dict[$0]!.rendered)" }.joined(separator: " ") + "]"
    case .null: "<no value>"
    case .deferred: ""
    }
  }

  /// Go's truth: false, 0, nil and empty strings, lists and maps are false.
  public var isTruthy: Bool {
    switch self {
    case .string(let s): !s.isEmpty
    case .integer(let i): i != 0
    case .float(let d): d != 0
    case .bool(let b): b
    case .list(let l): !l.isEmpty
    case .map(let m): !m.isEmpty
    case .null: false
    case .deferred: true
    }
  }

  var typeName: String {
    switch self {
    case .string: "string"
    case .integer: "int"
    case .float: "float64"
    case .bool: "bool"
    case .list: "list"
    case .map: "map"
    case .null: "nil"
    case .deferred: "deferred value"
    }
  }
}
