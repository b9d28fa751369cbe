/// An expression of either syntax: native, or a JSON value (whose strings are templates).
public enum HCLExpression: Sendable {
  case native(Expression)
  case json(JSONNode)

  public var range: HCLRange {
    switch self {
    case .native(let expression): expression.range
    case .json(let node): node.range
    }
  }
}

/// The body of a file or block, in either syntax. What is an attribute and what is a block
/// is known for certain only given a schema (in JSON the two look alike), as in HCL.
public enum HCLBody: Sendable {
  case native(NativeBody)
  case json(JSONNode)

  /// Where a "missing argument" diagnostic points.
  public var missingItemRange: HCLRange {
    switch self {
    case .native(let body): .empty(body.range.filename, at: body.range.start)
    case .json(let node):
      switch node.kind {
      case .object(_, _, let close): close
      case .array(_, let open): open
      default: node.startRange
      }
    }
  }

  /// The attributes and blocks `schema` names; anything else is an error ("Unsupported
  /// argument"), and so is a missing required attribute or a block with the wrong labels.
  public func content(_ schema: BodySchema) -> (BodyContent, [HCLDiagnostic]) {
    switch self {
    case .native(let body): Self.nativeContent(body, schema)
    case .json(let node): Self.jsonContent(node, schema)
    }
  }

  /// Every attribute, for a body that has no blocks (a `locals` block, say).
  public func justAttributes() -> ([Attribute], [HCLDiagnostic]) {
    switch self {
    case .native(let body):
      var diagnostics: [HCLDiagnostic] = []
      if let first = body.blocks.first {
        diagnostics.append(.error("Unexpected \"\(first.type)\" block", "Blocks are not allowed here.", first.typeRange))
      }
      return (body.attributes, diagnostics)
    case .json(let node):
      guard case .object(let properties, _, _) = node.kind else {
        return ([], [.error("Incorrect JSON value type", "A JSON object is required here, setting the arguments for this block.", node.startRange)])
      }
      var attributes: [Attribute] = []
      var seen: [String: HCLRange] = [:]
      var diagnostics: [HCLDiagnostic] = []
      for property in properties where property.name != "//" {
        if let existing = seen[property.name] {
          diagnostics.append(
            .error(
              "Duplicate attribute definition", "The argument \"\(property.name)\" was already set at \(existing).", property.nameRange))
          continue
        }
        seen[property.name] = property.range
        attributes.append(Attribute(name: property.name, expression: .json(property.value), range: property.range, nameRange: property.nameRange))
      }
      return (attributes, diagnostics)
    }
  }

  private static func nativeContent(_ body: NativeBody, _ schema: BodySchema) -> (BodyContent, [HCLDiagnostic]) {
    var diagnostics: [HCLDiagnostic] = []
    var attributes: [Attribute] = []
    let missing = HCLRange.empty(body.range.filename, at: body.range.start)
    for attributeSchema in schema.attributes {
      if let attribute = body.attributes.first(where: { $0.name == attributeSchema.name }) {
        attributes.append(attribute)
      } else if attributeSchema.required {
        diagnostics.append(
          .error(
            "Missing required argument", "The argument \"\(attributeSchema.name)\" is required, but no definition was found.", missing))
      }
    }
    var blocks: [Block] = []
    for block in body.blocks {
      guard let blockSchema = schema.blocks.first(where: { $0.type == block.type }) else { continue }
      if block.labels.count > blockSchema.labelNames.count {
        let detail =
          blockSchema.labelNames.isEmpty
          ? "No labels are expected for \(block.type) blocks."
          : "Only \(blockSchema.labelNames.count) labels (\(blockSchema.labelNames.joined(separator: ", "))) are expected for \(block.type) blocks."
        diagnostics.append(
          .error(
            "Extraneous label for \(block.type)", detail, block.labelRanges[blockSchema.labelNames.count], context: block.definitionRange))
        continue
      }
      if block.labels.count < blockSchema.labelNames.count {
        diagnostics.append(
          .error(
            "Missing \(blockSchema.labelNames[block.labels.count]) for \(block.type)",
            "All \(block.type) blocks must have \(blockSchema.labelNames.count) labels (\(blockSchema.labelNames.joined(separator: ", "))).",
            block.openBraceRange, context: block.definitionRange))
        continue
      }
      blocks.append(block)
    }
    for attribute in body.attributes where !schema.attributes.contains(where: { $0.name == attribute.name }) {
      let candidates = schema.attributes.map(\.name).filter { name in !attributes.contains { $0.name == name } }
      var suggestion = Suggestions.closest(attribute.name, among: candidates).map { " Did you mean \"\($0)\"?" } ?? ""
      if suggestion.isEmpty, schema.blocks.contains(where: { $0.type == attribute.name }) {
        suggestion = " Did you mean to define a block of type \"\(attribute.name)\"?"
      }
      diagnostics.append(
        .error(
          "Unsupported argument", "An argument named \"\(attribute.name)\" is not expected here.\(suggestion)", attribute.nameRange))
    }
    for block in body.blocks where !schema.blocks.contains(where: { $0.type == block.type }) {
      var suggestion = Suggestions.closest(block.type, among: schema.blocks.map(\.type)).map { " Did you mean \"\($0)\"?" } ?? ""
      if suggestion.isEmpty, schema.attributes.contains(where: { $0.name == block.type }) {
        suggestion = " Did you mean to define argument \"\(block.type)\"? If so, use the equals sign to assign it a value."
      }
      diagnostics.append(
        .error(
          "Unsupported block type", "Blocks of type \"\(block.type)\" are not expected here.\(suggestion)", block.typeRange))
    }
    return (BodyContent(attributes: attributes, blocks: blocks, missingItemRange: missing), diagnostics)
  }

  private static func jsonContent(_ node: JSONNode, _ schema: BodySchema) -> (BodyContent, [HCLDiagnostic]) {
    var diagnostics: [HCLDiagnostic] = []
    let (properties, collectDiagnostics) = collectProperties(node, labelName: nil)
    diagnostics += collectDiagnostics
    var attributes: [Attribute] = []
    var blocks: [Block] = []
    var used: Set<String> = []
    for property in properties {
      if schema.attributes.contains(where: { $0.name == property.name }) {
        if let existing = attributes.first(where: { $0.name == property.name }) {
          diagnostics.append(
            .error(
              "Duplicate argument", "The argument \"\(property.name)\" was already set at \(existing.range).", property.nameRange,
              context: property.range))
          continue
        }
        attributes.append(Attribute(name: property.name, expression: .json(property.value), range: property.range, nameRange: property.nameRange))
        used.insert(property.name)
      } else if let blockSchema = schema.blocks.first(where: { $0.type == property.name }) {
        diagnostics += unpackBlock(
          property.value, type: blockSchema.type, typeRange: property.nameRange, labelsLeft: blockSchema.labelNames[...], labels: [],
          labelRanges: [], into: &blocks)
        used.insert(property.name)
      }
    }
    let missingRange = HCLBody.json(node).missingItemRange
    for attributeSchema in schema.attributes where attributeSchema.required && !attributes.contains(where: { $0.name == attributeSchema.name }) {
      diagnostics.append(
        .error(
          "Missing required argument", "The argument \"\(attributeSchema.name)\" is required, but no definition was found.", missingRange))
    }
    let names = schema.attributes.map(\.name) + schema.blocks.map(\.type)
    for property in properties where property.name != "//" && !used.contains(property.name) {
      let suggestion = Suggestions.closest(property.name, among: names).map { " Did you mean \"\($0)\"?" } ?? ""
      diagnostics.append(
        .error(
          "Extraneous JSON object property", "No argument or block type is named \"\(property.name)\".\(suggestion)", property.nameRange,
          context: property.range))
    }
    return (BodyContent(attributes: attributes, blocks: blocks, missingItemRange: missingRange), diagnostics)
  }

  private static func unpackBlock(
    _ value: JSONNode, type: String, typeRange: HCLRange, labelsLeft: ArraySlice<String>, labels: [String], labelRanges: [HCLRange],
    into blocks: inout [Block]
  ) -> [HCLDiagnostic] {
    if let labelName = labelsLeft.first {
      var (properties, diagnostics) = collectProperties(value, labelName: labelName)
      if properties.isEmpty {
        diagnostics.append(
          .error(
            "Missing block label", "At least one object property is required, whose name represents the \(type) block's \(labelName).",
            value.startRange))
        return diagnostics
      }
      for property in properties {
        diagnostics += unpackBlock(
          property.value, type: type, typeRange: typeRange, labelsLeft: labelsLeft.dropFirst(), labels: labels + [property.name],
          labelRanges: labelRanges + [property.nameRange], into: &blocks)
      }
      return diagnostics
    }
    switch value.kind {
    case .null:
      return []
    case .object(_, let open, let close):
      blocks.append(
        Block(
          type: type, labels: labels, body: .json(value), typeRange: typeRange, labelRanges: labelRanges, openBraceRange: open,
          closeBraceRange: close))
      return []
    case .array(let elements, let open):
      for element in elements {
        blocks.append(
          Block(
            type: type, labels: labels, body: .json(element), typeRange: typeRange, labelRanges: labelRanges, openBraceRange: open,
            closeBraceRange: open))
      }
      return []
    default:
      return [
        .error(
          "Incorrect JSON value type",
          "Either a JSON object or a JSON array is required, representing the contents of one or more \"\(type)\" blocks.", value.startRange)
      ]
    }
  }

  /// The properties of an object, or of each object of an array, in order.
  private static func collectProperties(_ node: JSONNode, labelName: String?) -> ([JSONNode.Property], [HCLDiagnostic]) {
    switch node.kind {
    case .null:
      return ([], [])
    case .object(let properties, _, _):
      return (properties, [])
    case .array(let elements, _):
      var properties: [JSONNode.Property] = []
      var diagnostics: [HCLDiagnostic] = []
      for element in elements {
        if case .object(let more, _, _) = element.kind {
          properties += more
        } else {
          let detail =
            labelName.map { "A JSON object is required here, to specify \($0) labels for this block." }
            ?? "A JSON object is required here, to define arguments and child blocks."
          diagnostics.append(.error("Incorrect JSON value type", detail, element.startRange))
        }
      }
      return (properties, diagnostics)
    default:
      let detail =
        labelName.map { "Either a JSON object or JSON array of objects is required here, to specify \($0) labels for this block." }
        ?? "Either a JSON object or JSON array of objects is required here, to define arguments and child blocks."
      return ([], [.error("Incorrect JSON value type", detail, node.startRange)])
    }
  }
}

/// What a body is expected to contain.
public struct BodySchema: Sendable {
  public struct AttributeSchema: Sendable {
    public var name: String
    public var required: Bool
    public init(_ name: String, required: Bool = false) {
      self.name = name
      self.required = required
    }
  }

  public struct BlockSchema: Sendable {
    public var type: String
    public var labelNames: [String]
    public init(_ type: String, labels: [String] = []) {
      self.type = type
      self.labelNames = labels
    }
  }

  public var attributes: [AttributeSchema]
  public var blocks: [BlockSchema]

  public init(attributes: [AttributeSchema] = [], blocks: [BlockSchema] = []) {
    self.attributes = attributes
    self.blocks = blocks
  }
}

/// A body's content under a schema: attributes (in schema order) and blocks (in source order).
public struct BodyContent: Sendable {
  public var attributes: [Attribute]
  public var blocks: [Block]
  public var missingItemRange: HCLRange

  public subscript(attribute name: String) -> Attribute? { attributes.first { $0.name == name } }
}

/// A parsed file: its body, its bytes (for excerpts), and what parsing found.
public struct HCLFile: Sendable {
  public var filename: String
  public var bytes: [UInt8]
  public var body: HCLBody
  public var diagnostics: [HCLDiagnostic]

  /// Every diagnostic rendered with its source line and carets.
  public func rendered(_ diagnostics: [HCLDiagnostic]) -> String {
    diagnostics.map { $0.rendered(source: bytes) }.joined(separator: "\n")
  }
}

/// The entry points: parse a native (`.pkr.hcl`) or JSON (`.pkr.json`) file, an expression,
/// or a standalone template.
public enum HCL {
  public static func parseConfig(_ bytes: [UInt8], filename: String) -> HCLFile {
    let (body, diagnostics) = Parser.parseBody(bytes, filename: filename)
    return HCLFile(filename: filename, bytes: bytes, body: .native(body), diagnostics: diagnostics)
  }

  public static func parseJSONConfig(_ bytes: [UInt8], filename: String) -> HCLFile {
    var (node, diagnostics) = JSONSyntax.parse(bytes, filename: filename)
    switch node.kind {
    case .object, .array:
      break
    default:
      diagnostics.append(
        .error(
          "Root value must be object",
          "The root value in a JSON-based configuration must be either a JSON object or a JSON array of objects.", node.startRange))
      // An empty body stands in, so reading its content does not say the same thing again.
      let start = HCLRange.empty(filename, at: .start)
      node = JSONNode(kind: .object([], openRange: start, closeRange: start), range: start)
    }
    return HCLFile(filename: filename, bytes: bytes, body: .json(node), diagnostics: diagnostics)
  }

  /// `.pkr.json` / `.json` files as JSON, anything else as native syntax.
  public static func parseFile(_ bytes: [UInt8], filename: String) -> HCLFile {
    filename.hasSuffix(".json") ? parseJSONConfig(bytes, filename: filename) : parseConfig(bytes, filename: filename)
  }

  public static func parseExpression(_ text: String, filename: String = "<expression>") -> (HCLExpression, [HCLDiagnostic]) {
    let (expression, diagnostics) = Parser.parseExpression(Array(text.utf8), filename: filename)
    return (.native(expression), diagnostics)
  }

  public static func parseJSONExpression(_ text: String, filename: String = "<expression>") -> (HCLExpression, [HCLDiagnostic]) {
    let (node, diagnostics) = JSONSyntax.parse(Array(text.utf8), filename: filename)
    return (.json(node), diagnostics)
  }

  public static func parseTemplate(_ text: String, filename: String = "<template>") -> (HCLExpression, [HCLDiagnostic]) {
    let (expression, diagnostics) = Parser.parseTemplate(Array(text.utf8), filename: filename)
    return (.native(expression), diagnostics)
  }
}
