import Foundation
import KilnCore
import KilnHCL
import _KilnTestSupport

/// `Tests/Fixtures/hclpeer/main.go`: HashiCorp's HCL and cty, built offline (GOPATH mode over
/// Debian's golang-github-hashicorp-hcl-v2-dev and golang-github-zclconf-go-cty-dev, no
/// proxy) into `.build/kiln-hclpeer`, and run on a table of cases.
struct HCLPeer {
  let executable: URL

  static let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/hclpeer/main.go")

  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  /// One case as the peer reads it.
  struct Case {
    var kind: String
    var source: String
    var variables: [String: HCLValue]

    /// `{"kind", "source", "vars": {name: {"type", "value"}}}` in cty's JSON.
    var json: String {
      let vars = variables.keys.sorted().map { name -> String in
        let (type, value) = Canonical.ctyJSON(variables[name] ?? .dynamicNull)
        return "\(HCLPeer.jsonString(name)):{\"type\":\(type),\"value\":\(value)}"
      }
      return "{\"kind\":\(HCLPeer.jsonString(kind)),\"source\":\(HCLPeer.jsonString(source)),\"vars\":{\(vars.joined(separator: ","))}}"
    }
  }

  static func jsonString(_ text: String) -> String {
    String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
  }

  /// What the peer answers.
  struct Answer: Decodable {
    var value: String
    var type: String
    var diagnostics: [Problem]?
  }

  struct Problem: Decodable {
    var summary: String
    var detail: String
    var line: Int
    var column: Int
    var byte: Int
  }

  /// The peer, built at most once per test process and cached on disk under `.build`, keyed
  /// by a hash of its source, so that later runs skip the Go build. The build (a minute of
  /// Go on a cold cache) is awaited, never waited for on a thread of the cooperative pool.
  static func build() async throws -> HCLPeer { try await shared.get() }

  private static let shared = Shared { try await buildOrReuse() }

  private static func buildOrReuse() async throws -> HCLPeer {
    let code = try Data(contentsOf: source)
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in code {
      hash ^= UInt64(byte)
      hash = hash &* 0x100_0000_01B3
    }
    let packageRoot = source.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let cache = packageRoot.appendingPathComponent(".build/kiln-hclpeer")
    let executable = cache.appendingPathComponent("hclpeer-\(String(hash, radix: 16))")
    if FileManager.default.isExecutableFile(atPath: executable.path) { return HCLPeer(executable: executable) }
    try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
    let directory = try Scratch.directory("kiln-hclpeer")
    let built = directory.appendingPathComponent("hclpeer")
    var environment = ProcessInfo.processInfo.environment
    environment["GO111MODULE"] = "off"
    environment["GOPATH"] = "/usr/share/gocode"
    environment["GOPROXY"] = "off"
    environment["GOFLAGS"] = ""
    if environment["HOME"] == nil, environment["GOCACHE"] == nil {
      environment["GOCACHE"] = directory.appendingPathComponent("cache").path
    }
    _ = try await run(["go", "build", "-o", built.path, source.path], environment: environment, limit: 600)
    // Moved into place whole, so another process never runs a half-written binary.
    _ = try? FileManager.default.removeItem(at: executable)
    try FileManager.default.moveItem(at: built, to: executable)
    return HCLPeer(executable: executable)
  }

  func answer(_ cases: [Case]) async throws -> [Answer] {
    let table = try Scratch.directory("kiln-hclpeer-cases").appendingPathComponent("cases.json")
    try Data(("[" + cases.map(\.json).joined(separator: ",") + "]").utf8).write(to: table)
    let output = try await Self.run([executable.path, table.path], environment: [:], limit: 120)
    return try JSONDecoder().decode([Answer].self, from: output)
  }

  /// Runs a command (niced) with a bound on its time, through `ChildProcess`; its output.
  static func run(_ arguments: [String], environment: [String: String], limit seconds: Double) async throws -> Data {
    let captured = try await ChildProcess.capture(
      "/usr/bin/nice", arguments: ["-n", "19"] + arguments, environment: environment, timeout: .seconds(seconds))
    if captured.stopped != nil {
      throw Failure(description: "\(arguments.joined(separator: " ")) did not finish within \(Int(seconds)) s (or wrote too much)")
    }
    guard captured.termination == .exited(0) else {
      throw Failure(description: "\(arguments.joined(separator: " ")) ended \(captured.termination): \(captured.errorText)")
    }
    return Data(captured.output)
  }
}

/// The canonical text both sides produce for a value, a type and a body.
enum Canonical {
  static func quote(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"", "\\":
        out += "\\"
        out.unicodeScalars.append(scalar)
      default:
        if scalar.value < 0x20 {
          let hex = String(scalar.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }

  static func byteOrder(_ keys: some Collection<String>) -> [String] {
    keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
  }

  static func render(_ value: HCLValue) -> String {
    switch value {
    case .unknown: return "?"
    case .null: return "null"
    case .string(let s): return quote(s)
    case .number(let n): return n.description
    case .bool(let b): return b ? "true" : "false"
    case .list(let e, _): return "list[" + e.map(render).joined(separator: ",") + "]"
    case .set(let e, _): return "set[" + e.map(render).joined(separator: ",") + "]"
    case .tuple(let e): return "tuple[" + e.map(render).joined(separator: ",") + "]"
    case .map(let e, _): return "map{" + byteOrder(e.keys).map { quote($0) + ":" + render(e[$0] ?? .dynamicNull) }.joined(separator: ",") + "}"
    case .object(let e): return "object{" + byteOrder(e.keys).map { quote($0) + ":" + render(e[$0] ?? .dynamicNull) }.joined(separator: ",") + "}"
    }
  }

  static func type(_ type: HCLType) -> String {
    switch type {
    case .dynamic: "dynamic"
    case .string: "string"
    case .number: "number"
    case .bool: "bool"
    case .list(let e): "list(\(Self.type(e)))"
    case .set(let e): "set(\(Self.type(e)))"
    case .map(let e): "map(\(Self.type(e)))"
    case .tuple(let e): "tuple([" + e.map(Self.type).joined(separator: ",") + "])"
    case .object(let a): "object({" + byteOrder(a.keys).map { "\($0)=\(Self.type(a[$0] ?? .dynamic))" }.joined(separator: ",") + "})"
    }
  }

  /// The peer's body dump: attributes by name with values and types, then blocks in order.
  static func body(_ body: HCLBody, _ context: EvalContext, _ diagnostics: inout [HCLDiagnostic]) -> String {
    guard case .native(let native) = body else { return "json" }
    var out = "{"
    for attribute in native.attributes.sorted(by: { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }) {
      let result = attribute.expression.evaluate(in: context)
      diagnostics += result.diagnostics
      out += "\(attribute.name)=\(render(result.value)):\(type(result.value.type));"
    }
    for block in native.blocks {
      out += "block " + block.type
      for label in block.labels { out += " " + quote(label) }
      out += " " + Self.body(block.body, context, &diagnostics) + ";"
    }
    return out + "}"
  }

  /// A value as cty's JSON reads it, with its type: what the peer's variables are made of.
  static func ctyJSON(_ value: HCLValue) -> (type: String, value: String) {
    (typeJSON(value.type), valueJSON(value))
  }

  static func typeJSON(_ type: HCLType) -> String {
    switch type {
    case .dynamic: "\"dynamic\""
    case .string: "\"string\""
    case .number: "\"number\""
    case .bool: "\"bool\""
    case .list(let e): "[\"list\",\(typeJSON(e))]"
    case .set(let e): "[\"set\",\(typeJSON(e))]"
    case .map(let e): "[\"map\",\(typeJSON(e))]"
    case .tuple(let e): "[\"tuple\",[" + e.map(typeJSON).joined(separator: ",") + "]]"
    case .object(let a): "[\"object\",{" + byteOrder(a.keys).map { "\(quote($0)):\(typeJSON(a[$0] ?? .dynamic))" }.joined(separator: ",") + "}]"
    }
  }

  static func valueJSON(_ value: HCLValue) -> String {
    switch value {
    case .null, .unknown: "null"
    case .string(let s): quote(s)
    case .number(let n): n.description
    case .bool(let b): b ? "true" : "false"
    case .list(let e, _), .set(let e, _), .tuple(let e): "[" + e.map(valueJSON).joined(separator: ",") + "]"
    case .map(let e, _), .object(let e):
      "{" + byteOrder(e.keys).map { "\(quote($0)):\(valueJSON(e[$0] ?? .dynamicNull))" }.joined(separator: ",") + "}"
    }
  }
}
