import Foundation
import KilnHCL
import Testing

/// HCL's own language test suite (`/work/shared/hcl-specsuite/specsuite/tests`, MPL-2.0, read
/// in place, not copied): each test is an input `.hcl` (or `.hcl.json`), an hcldec spec saying
/// how to decode it, and a `.t` file with the expected result, result type, or diagnostics
/// (severity and exact range).
///
/// HCL runs it through its `hcldec` command; here a small hcldec-like interpreter (`Spec`)
/// does the same in process, reading the spec and expectation files with KilnHCL itself.
/// Every input is also parsed by the Go peer, which must agree on success or failure.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: specSuiteRoot.path)))
struct HCLSpecSuiteTests {
  static let root = specSuiteRoot

  /// Every `.t` file, by its path without the extension.
  static func tests() -> [String] {
    guard let walker = FileManager.default.enumerator(atPath: root.path) else { return [] }
    return walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".t") }.map { String($0.dropLast(2)) }.sorted()
  }

  static func read(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: root.appendingPathComponent(path)))
  }

  @Test func suiteIsThere() {
    #expect(Self.tests().count >= 15)
  }

  @Test func everyTestPasses() throws {
    var passed: [String] = []
    for test in Self.tests() {
      let problems = try Self.run(test)
      #expect(problems.isEmpty, "\(test): \(problems.joined(separator: "\n"))")
      if problems.isEmpty { passed.append(test) }
    }
    print("HCL spec suite: \(passed.count)/\(Self.tests().count) tests pass")
  }

  /// The test's problems (empty when it passes).
  static func run(_ test: String) throws -> [String] {
    let expectations = HCL.parseConfig(try read(test + ".t"), filename: test + ".t")
    let specFile = HCL.parseConfig(try read(test + ".hcldec"), filename: test + ".hcldec")
    guard !expectations.diagnostics.hasErrors, !specFile.diagnostics.hasErrors else {
      return (expectations.diagnostics + specFile.diagnostics).map(\.description)
    }
    var problems: [String] = []
    let (spec, variables) = try Spec.read(specFile.body)
    let expected = try Expectations.read(expectations.body)
    for (inputPath, input) in try inputs(test) {
      var diagnostics = input.diagnostics
      var value = HCLValue.dynamicNull
      if !diagnostics.hasErrors {
        let decoded = spec.decode(input.body, EvalContext(variables: variables))
        value = decoded.value
        diagnostics += decoded.diagnostics
      }
      let errors = diagnostics.filter { $0.severity == .error }
      if let wanted = expected.diagnostics {
        let got = Set(errors.compactMap { $0.subject.map(Expectations.Range.init) })
        if got != Set(wanted) || got.count != errors.count {
          problems.append("\(inputPath): diagnostics \(errors.map(\.description)) are not the expected \(wanted)")
        }
        continue
      }
      if !errors.isEmpty {
        problems.append("\(inputPath): \(errors.map(\.description))")
        continue
      }
      if let type = expected.resultType, !conforms(value.type, type) {
        problems.append("\(inputPath): produced \(value.type), expected \(type)")
      }
      if let result = expected.result {
        guard let wanted = try? HCLConvert.convert(result, to: expected.resultType ?? .dynamic) else {
          problems.append("\(inputPath): the expected result does not conform to the result type")
          continue
        }
        if !value.rawEquals(wanted) { problems.append("\(inputPath): produced \(value), expected \(wanted)") }
      }
    }
    return problems
  }

  /// cty's `TestConformance`: `dynamic` in the wanted type accepts anything.
  static func conforms(_ got: HCLType, _ wanted: HCLType) -> Bool {
    switch (got, wanted) {
    case (_, .dynamic): return true
    case (.list(let a), .list(let b)), (.set(let a), .set(let b)), (.map(let a), .map(let b)): return conforms(a, b)
    case (.tuple(let a), .tuple(let b)): return a.count == b.count && zip(a, b).allSatisfy { conforms($0, $1) }
    case (.object(let a), .object(let b)):
      return Set(a.keys) == Set(b.keys) && a.allSatisfy { key, type in b[key].map { conforms(type, $0) } ?? false }
    default: return got == wanted
    }
  }

  static func inputs(_ test: String) throws -> [(String, HCLFile)] {
    var files: [(String, HCLFile)] = []
    for (suffix, json) in [(".hcl", false), (".hcl.json", true)] {
      let path = test + suffix
      guard FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path) else { continue }
      let bytes = try read(path)
      files.append((path, json ? HCL.parseJSONConfig(bytes, filename: path) : HCL.parseConfig(bytes, filename: path)))
    }
    return files
  }

  /// Every input parsed by HashiCorp's HCL too: both must accept it, or both refuse it.
  @Test func parsingAgreesWithThePeer() async throws {
    let peer = try await HCLPeer.build()
    var cases: [HCLPeer.Case] = []
    var files: [(String, HCLFile)] = []
    for test in Self.tests() {
      let path = test + ".hcl"
      guard FileManager.default.fileExists(atPath: Self.root.appendingPathComponent(path).path) else { continue }
      let bytes = try Self.read(path)
      cases.append(HCLPeer.Case(kind: "body", source: String(decoding: bytes, as: UTF8.self), variables: [:]))
      files.append((path, HCL.parseConfig(bytes, filename: "test.hcl")))
    }
    let answers = try await peer.answer(cases)
    try #require(answers.count == files.count)
    var agreed = 0
    for ((path, file), answer) in zip(files, answers) {
      // A body dump evaluates attributes too; only parse errors count here.
      let goParseErrors = (answer.diagnostics ?? []).filter { problem in
        !["Unknown variable", "Variables not allowed"].contains(problem.summary)
      }
      let same = file.diagnostics.hasErrors == !goParseErrors.isEmpty
      #expect(same, "\(path): Kiln \(file.diagnostics.map(\.description)), HCL \(goParseErrors.map(\.summary))")
      if same { agreed += 1 }
    }
    print("HCL spec suite inputs: \(agreed)/\(files.count) parse the same as HashiCorp's HCL")
  }
}

/// `../shared/hcl-specsuite/specsuite/tests` from the package root.
let specSuiteRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent().appendingPathComponent("shared/hcl-specsuite/specsuite/tests")

/// A `.t` file: the expected `result`, `result_type`, or `diagnostics { error { from {…} to {…} } }`.
struct Expectations {
  struct Range: Hashable, CustomStringConvertible {
    var from: HCLPosition
    var to: HCLPosition
    init(from: HCLPosition, to: HCLPosition) {
      self.from = from
      self.to = to
    }
    init(_ range: HCLRange) { self.init(from: range.start, to: range.end) }
    var description: String { "\(from.line):\(from.column)(\(from.byte))-\(to.line):\(to.column)(\(to.byte))" }
  }

  var result: HCLValue?
  var resultType: HCLType?
  var diagnostics: [Range]?

  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  static func read(_ body: HCLBody) throws -> Expectations {
    let schema = BodySchema(
      attributes: [.init("result"), .init("result_type")], blocks: [.init("diagnostics"), .init("traversals")])
    let (content, problems) = body.content(schema)
    guard !problems.hasErrors else { throw Failure(description: problems.map(\.description).joined(separator: "\n")) }
    var expectations = Expectations()
    if let result = content[attribute: "result"] {
      expectations.result = try result.expression.value(in: EvalContext(variables: [:], functions: [:]))
    }
    if let type = content[attribute: "result_type"] {
      let (read, typeProblems) = HCLTypeExpression.type(of: type.expression)
      guard let read else { throw Failure(description: typeProblems.map(\.description).joined(separator: "\n")) }
      expectations.resultType = read
    }
    for block in content.blocks where block.type == "diagnostics" {
      var ranges: [Range] = []
      let (inner, _) = block.body.content(BodySchema(blocks: [.init("error"), .init("warning")]))
      for diagnostic in inner.blocks where diagnostic.type == "error" {
        let (ends, _) = diagnostic.body.content(BodySchema(blocks: [.init("from"), .init("to")]))
        func position(_ name: String) throws -> HCLPosition {
          guard let block = ends.blocks.first(where: { $0.type == name }) else { throw Failure(description: "no \(name)") }
          let (attributes, _) = block.body.justAttributes()
          func number(_ key: String) throws -> Int {
            guard let attribute = attributes.first(where: { $0.name == key }),
              case .number(let n) = try attribute.expression.value(in: .empty), let value = n.exactInt
            else { throw Failure(description: "no \(key) in \(name)") }
            return value
          }
          return HCLPosition(byte: try number("byte"), line: try number("line"), column: try number("column"))
        }
        ranges.append(Range(from: try position("from"), to: try position("to")))
      }
      expectations.diagnostics = ranges
    }
    return expectations
  }
}

/// An hcldec specification: how to turn a body into a value (`object`, `attr`, `block`,
/// `block_list`, `block_map`, `literal`), read from its HCL form.
indirect enum Spec {
  case object([(String, Spec)])
  case attribute(name: String, type: HCLType, required: Bool)
  case block(type: String, required: Bool, nested: Spec)
  case blockList(type: String, nested: Spec)
  case blockMap(type: String, labels: [String], nested: Spec)
  case literal(HCLValue)

  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  static let kinds = ["object", "attr", "block", "block_list", "block_map", "literal"]

  /// The file's root spec and its `variables` block.
  static func read(_ body: HCLBody) throws -> (Spec, [String: HCLValue]) {
    // Spec blocks may or may not have a label: read them without a schema.
    guard case .native(let native) = body else { throw Failure(description: "a spec file is native syntax") }
    var variables: [String: HCLValue] = [:]
    var root: Spec?
    for block in native.blocks {
      if block.type == "variables" {
        let (attributes, _) = block.body.justAttributes()
        for attribute in attributes { variables[attribute.name] = try attribute.expression.value(in: .empty) }
      } else {
        root = try read(block)
      }
    }
    guard let root else { throw Failure(description: "no root spec") }
    return (root, variables)
  }

  static func read(_ block: Block) throws -> Spec {
    guard case .native(let body) = block.body else { throw Failure(description: "a spec is native syntax") }
    func attribute(_ name: String) throws -> HCLValue? {
      try body.attributes.first { $0.name == name }?.expression.value(in: .empty)
    }
    func nested() throws -> Spec {
      guard let inner = body.blocks.first else { throw Failure(description: "\(block.type) needs a nested spec") }
      return try read(inner)
    }
    let label = block.labels.first
    switch block.type {
    case "object":
      return .object(try body.blocks.map { ($0.labels.first ?? "", try read($0)) })
    case "attr":
      var type = HCLType.dynamic
      if let expression = body.attributes.first(where: { $0.name == "type" })?.expression {
        guard let read = HCLTypeExpression.type(of: expression).0 else { throw Failure(description: "bad type") }
        type = read
      }
      let name = (try attribute("name")).map(\.description).map { String($0.dropFirst().dropLast()) } ?? label ?? ""
      let required: Bool
      if case .bool(let flag) = try attribute("required") { required = flag } else { required = false }
      return .attribute(name: name, type: type, required: required)
    case "block", "block_list", "block_map":
      var type = label ?? ""
      if case .string(let given) = try attribute("block_type") { type = given }
      switch block.type {
      case "block":
        let required: Bool
        if case .bool(let flag) = try attribute("required") { required = flag } else { required = false }
        return .block(type: type, required: required, nested: try nested())
      case "block_list":
        return .blockList(type: type, nested: try nested())
      default:
        let labels =
          (try attribute("labels"))?.sequenceElements?.compactMap { value -> String? in
            if case .string(let text) = value { text } else { nil }
          } ?? []
        return .blockMap(type: type, labels: labels, nested: try nested())
      }
    case "literal":
      return .literal(try attribute("value") ?? .dynamicNull)
    default:
      throw Failure(description: "unknown spec \(block.type)")
    }
  }

  /// What this spec needs from a body.
  var schema: BodySchema {
    switch self {
    case .object(let children):
      var schema = BodySchema()
      for (_, child) in children {
        let more = child.schema
        schema.attributes += more.attributes
        schema.blocks += more.blocks
      }
      return schema
    case .attribute(let name, _, let required): return BodySchema(attributes: [.init(name, required: required)])
    case .block(let type, _, _), .blockList(let type, _): return BodySchema(blocks: [.init(type)])
    case .blockMap(let type, let labels, _): return BodySchema(blocks: [.init(type, labels: labels)])
    case .literal: return BodySchema()
    }
  }

  func decode(_ body: HCLBody, _ context: EvalContext) -> Evaluated {
    if case .literal(let value) = self { return Evaluated(value) }
    let (content, diagnostics) = body.content(schema)
    var result = decode(content, body, context)
    result.diagnostics = diagnostics + result.diagnostics
    return result
  }

  private func decode(_ content: BodyContent, _ body: HCLBody, _ context: EvalContext) -> Evaluated {
    switch self {
    case .literal(let value):
      return Evaluated(value)
    case .object(let children):
      var attributes: [String: HCLValue] = [:]
      var diagnostics: [HCLDiagnostic] = []
      for (name, child) in children {
        let result = child.decode(content, body, context)
        attributes[name] = result.value
        diagnostics += result.diagnostics
      }
      return Evaluated(.object(attributes), diagnostics)
    case .attribute(let name, let type, _):
      guard let attribute = content[attribute: name] else { return Evaluated(.null(type)) }
      let result = attribute.expression.evaluate(in: context)
      do throws(ConversionError) {
        return Evaluated(try HCLConvert.convert(result.value, to: type), result.diagnostics)
      } catch {
        return Evaluated(
          .unknown(type),
          result.diagnostics + [
            HCLDiagnostic(
              summary: "Incorrect attribute value type", detail: "Inappropriate value for attribute \"\(name)\": \(error.message).",
              subject: attribute.expression.range)
          ])
      }
    case .block(let type, let required, let nested):
      let blocks = content.blocks.filter { $0.type == type }
      if blocks.count > 1 {
        return Evaluated(
          .dynamicUnknown,
          [
            HCLDiagnostic(
              summary: "Duplicate \(type) block", detail: "Only one block of type \"\(type)\" is allowed.", subject: blocks[1].definitionRange)
          ])
      }
      guard let block = blocks.first else {
        if required {
          return Evaluated(
            .dynamicUnknown,
            [
              HCLDiagnostic(
                summary: "Missing \(type) block", detail: "A block of type \"\(type)\" is required here.", subject: content.missingItemRange)
            ])
        }
        return Evaluated(.dynamicNull)
      }
      return nested.decode(block.body, context)
    case .blockList(let type, let nested):
      var values: [HCLValue] = []
      var diagnostics: [HCLDiagnostic] = []
      for block in content.blocks where block.type == type {
        let result = nested.decode(block.body, context)
        values.append(result.value)
        diagnostics += result.diagnostics
      }
      if let first = values.first?.type, values.allSatisfy({ $0.type == first }) {
        return Evaluated(.list(values, elementType: first), diagnostics)
      }
      return Evaluated(values.isEmpty ? .list([], elementType: .dynamic) : .tuple(values), diagnostics)
    case .blockMap(let type, let labels, let nested):
      var diagnostics: [HCLDiagnostic] = []
      var tree: [String: HCLValue] = [:]
      for block in content.blocks where block.type == type {
        let result = nested.decode(block.body, context)
        diagnostics += result.diagnostics
        Spec.insert(result.value, at: block.labels[...], into: &tree, depth: labels.count)
      }
      return Evaluated(Spec.mapOf(tree), diagnostics)
    }
  }

  private static func insert(_ value: HCLValue, at labels: ArraySlice<String>, into tree: inout [String: HCLValue], depth: Int) {
    guard let first = labels.first else { return }
    if labels.count == 1 {
      tree[first] = value
      return
    }
    var inner: [String: HCLValue] = [:]
    if case .map(let existing, _) = tree[first] { inner = existing }
    insert(value, at: labels.dropFirst(), into: &inner, depth: depth - 1)
    tree[first] = mapOf(inner)
  }

  private static func mapOf(_ elements: [String: HCLValue]) -> HCLValue {
    .map(elements, elementType: elements.values.first?.type ?? .dynamic)
  }
}
