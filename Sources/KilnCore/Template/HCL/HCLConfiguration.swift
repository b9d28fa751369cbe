import KilnHCL

/// Turns an HCL body into the `JSONNode` a plugin decodes, as if the template were Packer
/// JSON: attributes are members (evaluated), the blocks of one type are one member holding
/// the list of their bodies (`JSONNode.hclForm` says which is which, so a plugin's reader
/// can tell a block written as an argument), and every value keeps its `.pkr.hcl` position.
/// Object and tuple constructors are walked element by element so that a value inside
/// `tags = { … }` has its own position; other expressions are evaluated whole.
///
/// A value not known yet (a data source when validating) becomes Packer's placeholder:
/// `"<unknown>"` for a string, 0, false, or an empty collection.
struct HCLConfiguration {
  let context: EvalContext
  var diagnostics: [HCLDiagnostic] = []

  init(context: EvalContext) { self.context = context }

  static func location(_ range: HCLRange) -> SourceLocation {
    SourceLocation(path: range.filename, line: range.start.line, column: range.start.column)
  }

  /// The body's attributes and blocks, less the names in `excluding` (the keys Packer itself
  /// reads, such as a provisioner's `only`), and the blocks' own bodies the same way.
  mutating func body(_ body: HCLBody, excluding: Set<String> = [], at range: HCLRange) -> JSONNode {
    switch body {
    case .native(let native):
      var members: [JSONMember] = []
      for attribute in native.attributes where !excluding.contains(attribute.name) {
        var value = expression(attribute.expression)
        value.hclForm = .attribute
        members.append(JSONMember(key: attribute.name, keyLocation: Self.location(attribute.nameRange), value: value))
      }
      var order: [String] = []
      var blocks: [String: [Block]] = [:]
      for block in native.blocks where !excluding.contains(block.type) {
        if blocks[block.type] == nil { order.append(block.type) }
        blocks[block.type, default: []].append(block)
        if let label = block.labelRanges.first {
          diagnostics.append(
            HCLDiagnostic(
              summary: "Extraneous label for \(block.type)", detail: "No labels are expected for \(block.type) blocks.", subject: label,
              context: block.definitionRange))
        }
      }
      for type in order {
        let list = blocks[type] ?? []
        let first = list[0]
        let elements = list.map { block in self.body(block.body, at: block.definitionRange) }
        var node = JSONNode(.array(elements), at: Self.location(first.typeRange))
        node.hclForm = .blocks
        members.append(JSONMember(key: type, keyLocation: Self.location(first.typeRange), value: node))
      }
      return JSONNode(.object(members), at: Self.location(range))
    case .json(let node):
      guard case .object(let properties, _, _) = node.kind else { return json(node) }
      var members: [JSONMember] = []
      for property in properties where !excluding.contains(property.name) && property.name != "//" {
        members.append(JSONMember(key: property.name, keyLocation: Self.location(property.nameRange), value: json(property.value)))
      }
      var result = JSONNode(.object(members), at: Self.location(range))
      result.hclForm = .json
      return result
    }
  }

  mutating func expression(_ expression: HCLExpression) -> JSONNode {
    switch expression {
    case .json(let node): json(node)
    case .native(let native): self.native(native)
    }
  }

  private mutating func native(_ expression: Expression) -> JSONNode {
    switch expression.kind {
    case .parentheses(let inner):
      return native(inner)
    case .tuple(let elements):
      return JSONNode(.array(elements.map { native($0) }), at: Self.location(expression.range))
    case .object(let items):
      var members: [JSONMember] = []
      for item in items {
        let key = evaluate(.native(item.key))
        guard let name = keyText(key, at: item.key.range) else { continue }
        members.append(JSONMember(key: name, keyLocation: Self.location(item.key.range), value: native(item.value)))
      }
      return JSONNode(.object(members), at: Self.location(expression.range))
    default:
      return Self.node(evaluate(.native(expression)), at: expression.range)
    }
  }

  private mutating func json(_ node: KilnHCL.JSONNode) -> JSONNode {
    var result: JSONNode
    switch node.kind {
    case .array(let elements, _):
      result = JSONNode(.array(elements.map { json($0) }), at: Self.location(node.range))
    case .object(let properties, _, _):
      var members: [JSONMember] = []
      for property in properties where property.name != "//" {
        var name = property.name
        if name.contains("${") || name.contains("%{") {
          let (template, parseDiagnostics) = HCL.parseTemplate(name, filename: property.nameRange.filename)
          diagnostics += parseDiagnostics
          guard let text = keyText(evaluate(template), at: property.nameRange) else { continue }
          name = text
        }
        members.append(JSONMember(key: name, keyLocation: Self.location(property.nameRange), value: json(property.value)))
      }
      result = JSONNode(.object(members), at: Self.location(node.range))
    default:
      result = Self.node(evaluate(.json(node)), at: node.range)
    }
    result.hclForm = .json
    return result
  }

  private mutating func keyText(_ value: HCLValue, at range: HCLRange) -> String? {
    if case .string(let text) = value { return text }
    if let text = try? HCLConvert.convert(value, to: .string), case .string(let string) = text { return string }
    if value.isKnown {
      diagnostics.append(
        HCLDiagnostic(summary: "Invalid object key", detail: "An object key must be a string, not \(value.type.friendlyName).", subject: range))
    }
    return nil
  }

  mutating func evaluate(_ expression: HCLExpression) -> HCLValue {
    let result = expression.evaluate(in: context)
    diagnostics += result.diagnostics
    return result.value
  }

  /// A value as JSON, every part of it at `range`.
  static func node(_ value: HCLValue, at range: HCLRange) -> JSONNode {
    let location = location(range)
    switch value {
    case .null: return JSONNode(.null, at: location)
    case .unknown(let type): return placeholder(type, at: location)
    case .string(let text): return JSONNode(.string(text), at: location)
    case .number(let number): return JSONNode(.number(number.description), at: location)
    case .bool(let flag): return JSONNode(.bool(flag), at: location)
    case .list(let elements, _), .set(let elements, _), .tuple(let elements):
      return JSONNode(.array(elements.map { node($0, at: range) }), at: location)
    case .map(let elements, _), .object(let elements):
      let members = elements.keys.sorted().map { key in
        JSONMember(key: key, keyLocation: location, value: node(elements[key] ?? .dynamicNull, at: range))
      }
      return JSONNode(.object(members), at: location)
    }
  }

  /// Packer's `hcl2shim.WriteUnknownPlaceholderValues`.
  static func placeholder(_ type: HCLType, at location: SourceLocation) -> JSONNode {
    switch type {
    case .number: JSONNode(.number("0"), at: location)
    case .bool: JSONNode(.bool(false), at: location)
    case .list, .set, .tuple: JSONNode(.array([]), at: location)
    case .map, .object: JSONNode(.object([]), at: location)
    case .string, .dynamic: JSONNode(.string("<unknown>"), at: location)
    }
  }
}
