/// `regex`, `regexall` and `regex_replace` over `RegexEngine`, with cty's result shapes: the
/// whole match when the pattern has no groups, a list of the groups when they are unnamed, an
/// object when they are named.
enum RegexFunctions {
  /// Work bound: input scalars × program size, so that no call runs for long.
  static let maximumWork = 40_000_000

  static func compile(_ pattern: String, argument: Int) throws(HCLFunctionError) -> RegexEngine {
    do {
      return try RegexEngine(pattern)
    } catch {
      throw .argument(argument, "invalid regexp pattern: \(error.message)")
    }
  }

  static func scalars(_ text: String, _ engine: RegexEngine) throws(HCLFunctionError) -> [Unicode.Scalar] {
    let scalars = Array(text.unicodeScalars)
    guard scalars.count <= maximumWork / 200 else { throw .general("the string is too long for a regular expression search") }
    return scalars
  }

  static func resultType(_ engine: RegexEngine) throws(HCLFunctionError) -> HCLType {
    if engine.groupCount == 0 { return .string }
    let named = engine.groupNames.compactMap { $0 }
    if named.isEmpty { return .tuple([HCLType](repeating: .string, count: engine.groupCount)) }
    guard named.count == engine.groupCount else {
      throw .argument(0, "invalid regexp pattern: cannot use both named and unnamed capture groups in the same pattern")
    }
    return .object(Dictionary(uniqueKeysWithValues: named.map { ($0, HCLType.string) }))
  }

  static func result(_ engine: RegexEngine, _ input: [Unicode.Scalar], _ captures: [Int]) -> HCLValue {
    func text(_ group: Int) -> HCLValue {
      let (start, end) = (captures[2 * group], captures[2 * group + 1])
      guard start >= 0, end >= start else { return .null(.string) }
      return .string(String(String.UnicodeScalarView(input[start..<end])))
    }
    if engine.groupCount == 0 { return text(0) }
    if engine.groupNames.allSatisfy({ $0 == nil }) {
      return .tuple((1...engine.groupCount).map(text))
    }
    var attributes: [String: HCLValue] = [:]
    for (offset, name) in engine.groupNames.enumerated() {
      if let name { attributes[name] = text(offset + 1) }
    }
    return .object(attributes)
  }

  static func regex(_ pattern: String, _ text: String, all: Bool, _ limits: EvalLimits) throws(HCLFunctionError) -> HCLValue {
    let engine = try compile(pattern, argument: 0)
    let type = try resultType(engine)
    let input = try scalars(text, engine)
    if all {
      let matches = engine.allMatches(input, limit: limits.elements)
      return .list(matches.map { result(engine, input, $0) }, elementType: type)
    }
    guard let found = engine.match(input, from: 0) else {
      throw .general("pattern did not match any part of the given string")
    }
    return result(engine, input, found)
  }

  /// Go's `ReplaceAllString`: `$1`, `${1}`, `$name`, `${name}` expand to groups, `$$` to `$`.
  static func replace(_ text: String, _ pattern: String, _ replacement: String, _ limits: EvalLimits) throws(HCLFunctionError) -> HCLValue {
    let engine = try compile(pattern, argument: 1)
    let input = try scalars(text, engine)
    let matches = engine.allMatches(input, limit: Int.max)
    var out = String.UnicodeScalarView()
    var last = 0
    let template = Array(replacement.unicodeScalars)
    for captures in matches {
      out.append(contentsOf: input[last..<captures[0]])
      expand(template, captures, input, engine, into: &out)
      last = captures[1]
      if out.count > limits.stringBytes { throw .general("the result would be too large") }
    }
    out.append(contentsOf: input[last...])
    return .normalized(String(out))
  }

  private static func expand(
    _ template: [Unicode.Scalar], _ captures: [Int], _ input: [Unicode.Scalar], _ engine: RegexEngine,
    into out: inout String.UnicodeScalarView
  ) {
    func isNameScalar(_ s: Unicode.Scalar) -> Bool {
      s == "_" || (s.isASCII && (s.properties.isAlphabetic || s.properties.numericType != nil))
    }
    var index = 0
    while index < template.count {
      let scalar = template[index]
      guard scalar == "$", index + 1 < template.count else {
        out.append(scalar)
        index += 1
        continue
      }
      if template[index + 1] == "$" {
        out.append("$")
        index += 2
        continue
      }
      var name = ""
      var end = index + 1
      if template[end] == "{" {
        var cursor = end + 1
        while cursor < template.count, isNameScalar(template[cursor]) {
          name.unicodeScalars.append(template[cursor])
          cursor += 1
        }
        guard cursor < template.count, template[cursor] == "}", !name.isEmpty else {
          out.append("$")
          index += 1
          continue
        }
        end = cursor + 1
      } else {
        while end < template.count, isNameScalar(template[end]) {
          name.unicodeScalars.append(template[end])
          end += 1
        }
        guard !name.isEmpty else {
          out.append("$")
          index += 1
          continue
        }
      }
      var group: Int?
      if let number = Int(name) {
        group = number <= engine.groupCount ? number : nil
      } else if let position = engine.groupNames.firstIndex(of: name) {
        group = position + 1
      }
      if let group, captures[2 * group] >= 0 {
        out.append(contentsOf: input[captures[2 * group]..<captures[2 * group + 1]])
      }
      index = end
    }
  }
}
