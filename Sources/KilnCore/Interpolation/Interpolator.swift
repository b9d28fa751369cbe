import Foundation

/// Renders strings with `{{ }}` actions in a `RenderContext`.
///
/// Pure: the only inputs are the string and the context (the clock, the environment and the
/// directories are in the context), so the same call always gives the same answer.
public enum Interpolator {
  public struct Result: Sendable {
    public var output: String
    /// Problems that do not stop rendering (an undeclared variable, a deprecated function).
    public var warnings: [InterpolationError]
    /// True when some action was left as written for a later phase.
    public var hasDeferred: Bool
  }

  /// Renders `text`. Like Packer's `interpolate.Render`, output that still contains actions is
  /// rendered again until it stops changing (so a variable whose value is `{{timestamp}}`
  /// works), at most `maximumPasses` times.
  public static func render(_ text: String, in context: RenderContext) throws(InterpolationError) -> Result {
    guard text.contains("{{") else { return Result(output: text, warnings: [], hasDeferred: false) }
    var template = try InterpolationTemplate.parse(text)
    var evaluation = Evaluation(context: context)
    var output = try evaluation.render(template.nodes)
    var passes = 1
    while output.contains("{{"), output != template.source, passes < maximumPasses {
      // Errors in a second pass come from a value, not from the template: keep the first
      // pass's output if the value is not a valid template.
      guard let next = try? InterpolationTemplate.parse(output) else { break }
      template = next
      let rendered: String
      do {
        rendered = try evaluation.render(template.nodes)
      } catch {
        var error = error
        error.inValue = true
        error.offset = 0
        throw error
      }
      if rendered == output { break }
      output = rendered
      passes += 1
    }
    return Result(output: output, warnings: evaluation.warnings, hasDeferred: evaluation.deferred)
  }

  public static let maximumPasses = 100
  /// The largest value or output one string may render to.
  public static let maximumOutputBytes = 64 << 20
  /// The most nodes one string may render, counting each time a `{{range}}` body repeats.
  public static let maximumSteps = 100_000

  /// Parses `text` and checks every function is allowed in `context` without evaluating:
  /// used by `validate -syntax-only`.
  public static func check(_ text: String) throws(InterpolationError) {
    _ = try InterpolationTemplate.parse(text)
  }
}

private struct Evaluation {
  let context: RenderContext
  var warnings: [InterpolationError] = []
  var deferred = false
  /// Nodes rendered so far: nested `{{range}}`s multiply their work without growing the output.
  var steps = 0

  init(context: RenderContext) { self.context = context }

  /// Renders `nodes` with `dot` as `.`; `nil` is the top level, where `.Field` names the
  /// context's fields (known now, or deferred to a later phase).
  mutating func render(_ nodes: [InterpolationTemplate.Node], dot: TemplateValue? = nil) throws(InterpolationError) -> String {
    var out = ""
    func append(_ text: String, at offset: Int) throws(InterpolationError) {
      out += text
      try Self.checkSize(out, at: offset)
    }
    for node in nodes {
      steps += 1
      if steps > Interpolator.maximumSteps {
        throw InterpolationError("rendering takes more than \(Interpolator.maximumSteps) steps (nested {{range}}?); stopped there", at: 0)
      }
      switch node {
      case .text(let text):
        out += text
      case .action(let pipeline):
        let value = try evaluate(pipeline, dot: dot)
        if value == .deferred {
          deferred = true
          try append(pipeline.source, at: pipeline.offset)
        } else {
          try append(value.rendered, at: pipeline.offset)
        }
      case .conditional(let kind, let pipeline, let then, let otherwise):
        let value = try evaluate(pipeline, dot: dot)
        if value == .deferred {
          throw InterpolationError(
            "this {{\(kind.rawValue)}} depends on a value that is only known later in the build; it cannot be used here", at: pipeline.offset)
        }
        switch kind {
        case .if:
          try append(try render(value.isTruthy ? then : otherwise, dot: dot), at: pipeline.offset)
        case .with:
          // Go: `{{with x}}` renders its body with `.` set to x, or its else branch as is.
          try append(value.isTruthy ? try render(then, dot: value) : try render(otherwise, dot: dot), at: pipeline.offset)
        case .range:
          let items: [TemplateValue]
          switch value {
          case .list(let l): items = l
          // Go visits a map's values in the order of their sorted keys.
          case .map(let m): items = m.keys.sorted().map { m[$0]! }
          case .null: items = []
          default: throw InterpolationError("range can't iterate over \(value.rendered)", at: pipeline.offset)
          }
          if items.isEmpty { try append(try render(otherwise, dot: dot), at: pipeline.offset) }
          for item in items { try append(try render(then, dot: item), at: pipeline.offset) }
        }
      }
    }
    return out
  }

  /// Every value and output is bounded, so a short template cannot grow without limit
  /// (`replace_all` nested in itself doubles a string at each level).
  static func checkSize(_ text: String, at offset: Int) throws(InterpolationError) {
    guard text.utf8.count <= Interpolator.maximumOutputBytes else {
      throw Self.tooLarge(at: offset)
    }
  }

  static func tooLarge(at offset: Int) -> InterpolationError {
    InterpolationError("the result grows past \(Interpolator.maximumOutputBytes >> 20) MiB; rendering stopped there", at: offset)
  }

  mutating func evaluate(_ pipeline: InterpolationTemplate.Pipeline, dot: TemplateValue?) throws(InterpolationError) -> TemplateValue {
    var previous: TemplateValue?
    for command in pipeline.commands {
      previous = try evaluate(command, dot: dot, piped: previous)
    }
    return previous ?? .null
  }

  mutating func evaluate(_ command: InterpolationTemplate.Command, dot: TemplateValue?, piped: TemplateValue?) throws(InterpolationError)
    -> TemplateValue
  {
    let first = command.operands[0]
    if case .function(let function, let offset) = first {
      var arguments: [TemplateValue] = []
      for operand in command.operands.dropFirst() {
        arguments.append(try value(of: operand, dot: dot))
      }
      if let piped { arguments.append(piped) }
      // Go evaluates `and`/`or` lazily, but no argument here has side effects.
      if function != .build, arguments.contains(.deferred) { return .deferred }
      let result = try call(function, arguments, at: offset)
      if case .string(let text) = result { try Self.checkSize(text, at: offset) }
      return result
    }
    if command.operands.count > 1 || piped != nil {
      throw InterpolationError("can't give an argument to a non-function", at: command.operands[command.operands.count > 1 ? 1 : 0].offset)
    }
    return try value(of: first, dot: dot)
  }

  mutating func value(of operand: InterpolationTemplate.Operand, dot: TemplateValue?) throws(InterpolationError) -> TemplateValue {
    switch operand {
    case .function(let function, let offset): return try call(function, [], at: offset)
    case .string(let s, _): return .string(s)
    case .integer(let i, _): return .integer(i)
    case .float(let d, _): return .float(d)
    case .bool(let b, _): return .bool(b)
    case .null: return .null
    case .pipeline(let p): return try evaluate(p, dot: dot)
    case .field(let path, let offset):
      if let dot { return try Self.field(path, of: dot, at: offset) }
      guard let head = path.first else { return .map(context.fields) }
      if context.deferredFields.contains(head) { return .deferred }
      guard let current = context.fields[head] else {
        let available = Set(context.fields.keys).union(context.deferredFields)
        if available.isEmpty {
          throw InterpolationError(".\(head) is not available here: this field has no template data", at: offset)
        }
        let hint = Suggestions.closest(to: head, in: available).map { "; did you mean .\($0)?" } ?? ""
        throw InterpolationError(
          ".\(head) is not available here (available: \(available.sorted().map { "." + $0 }.joined(separator: ", ")))\(hint)", at: offset)
      }
      return try Self.field(Array(path.dropFirst()), of: current, at: offset)
    }
  }

  /// `.A.B` below `value`: a map's missing key is nil (`<no value>`), as in Go.
  static func field(_ path: [String], of value: TemplateValue, at offset: Int) throws(InterpolationError) -> TemplateValue {
    var current = value
    for name in path {
      guard case .map(let fields) = current else {
        throw InterpolationError("can't evaluate field \(name) in type \(current.typeName)", at: offset)
      }
      current = fields[name] ?? .null
    }
    return current
  }

  // MARK: - Functions

  /// Calls `function` (its arity as `InterpolationFunction` gives it) with `args`.
  mutating func call(_ function: InterpolationFunction, _ args: [TemplateValue], at offset: Int) throws(InterpolationError) -> TemplateValue {
    let name = function.name
    if let range = function.arity, !range.contains(args.count) {
      let expected =
        switch (range.lowerBound, range.upperBound) {
        case (let low, let high) where low == high: "\(low)"
        case (let low, Int.max): "at least \(low)"
        case (let low, let high): "\(low) to \(high)"
        }
      throw InterpolationError("wrong number of arguments for \(name): want \(expected), got \(args.count)", at: offset)
    }
    func tooLarge() -> InterpolationError { Self.tooLarge(at: offset) }
    func sprint(_ args: [TemplateValue], line: Bool = false) throws(InterpolationError) -> String {
      guard let text = Self.goSprint(args, line: line) else { throw tooLarge() }
      return text
    }
    // Packer's functions take typed Go arguments: text/template converts nothing.
    func string(_ i: Int) throws(InterpolationError) -> String {
      guard case .string(let s) = args[i] else {
        throw InterpolationError("argument \(i + 1) of \(name) must be a string, not \(args[i].typeName)", at: offset)
      }
      return s
    }
    func integer(_ i: Int) throws(InterpolationError) -> Int {
      switch args[i] {
      case .integer(let n): return n
      // Only constants are floats here, and Go takes an integral constant as an int.
      case .float(let d): if d == d.rounded(), abs(d) < 9e18 { return Int(d) }
      default: break
      }
      throw InterpolationError(
        "argument \(i + 1) of \(name) must be an integer, not \(args[i].rendered.isEmpty ? args[i].typeName : "\"\(args[i].rendered)\"")", at: offset)
    }

    switch function {
    case .user:
      let key = try string(0)
      if let value = context.variables[key] { return .string(value) }
      if context.pendingVariables.contains(key) {
        var error = InterpolationError("variable '\(key)' is not rendered yet", at: offset)
        error.pendingVariable = key
        throw error
      }
      if context.phase == .variables {
        throw InterpolationError(
          "variable not set: \(key): make sure the variable you reference is defined; every variable used to build another is required", at: offset)
      }
      if !context.declaredVariables.contains(key) {
        warnings.append(
          InterpolationError(
            "variable '\(key)' is not declared in \"variables\" and was not given with -var; it renders as an empty string", at: offset))
      }
      return .string("")
    case .env:
      guard context.phase == .variables else {
        throw InterpolationError(
          "env vars are not allowed here: {{env}} works only in a variable's default; declare a variable with this default and use {{user}}",
          at: offset)
      }
      return .string(context.environment[try string(0)] ?? "")
    case .timestamp:
      return .string(String(context.clock.unixSeconds))
    case .isotime:
      let layout = args.isEmpty ? GoTimeLayout.rfc3339 : try string(0)
      return .string(GoTimeLayout.format(context.clock.start, layout: layout))
    case .strftime:
      return .string(Self.strftime(try string(0), context.clock))
    case .uuid:
      return .string(Self.timeOrderedUUID(context.clock))
    case .cleanResourceName, .cleanAMIName:
      if function == .cleanAMIName {
        warnings.append(InterpolationError("clean_ami_name is deprecated (removed in Packer 1.5); use clean_resource_name", at: offset))
      }
      return .string(AMIName.cleaned(try string(0)))
    case .buildName:
      guard let buildName = context.buildName else {
        throw InterpolationError("build_name is not available here (it works in builders, provisioners and post-processors)", at: offset)
      }
      return .string(buildName)
    case .buildType:
      guard let buildType = context.buildType else {
        throw InterpolationError("build_type is not available here (it works in builders, provisioners and post-processors)", at: offset)
      }
      return .string(buildType)
    case .templateDir:
      guard let directory = context.templateDirectory else {
        throw InterpolationError("template_dir is not available: the template was not read from a file", at: offset)
      }
      return .string(directory)
    case .pwd:
      return .string(context.workingDirectory)
    case .packerVersion:
      return .string(context.packerVersion)
    case .split:
      let parts = try string(0).components(separatedBy: try string(1))
      let index = try integer(2)
      guard index >= 0, index < parts.count else {
        throw InterpolationError("split: index \(index) out of range: the string has \(parts.count) part(s)", at: offset)
      }
      return .string(parts[index])
    case .replace:
      return .string(try Self.replace(try string(3), try string(0), try string(1), limit: try integer(2), at: offset))
    case .replaceAll:
      return .string(try Self.replace(try string(2), try string(0), try string(1), limit: -1, at: offset))
    case .lower:
      return .string(Self.mapCase(try string(0), upper: false))
    case .upper:
      return .string(Self.mapCase(try string(0), upper: true))
    case .build:
      guard context.phase == .provisioner || context.phase == .postProcessor else {
        throw InterpolationError("build is only available in provisioners and post-processors", at: offset)
      }
      let key = try string(0)
      guard context.buildKeys.contains(key) || context.buildValues?[key] != nil else {
        let hint = Suggestions.closest(to: key, in: context.buildKeys).map { "; did you mean `\($0)`?" } ?? ""
        throw InterpolationError("build: unknown key `\(key)`\(hint) (known: \(context.buildKeys.sorted().joined(separator: ", ")))", at: offset)
      }
      guard let values = context.buildValues else { return .deferred }
      return .string(values[key] ?? "")
    case .sed:
      throw InterpolationError("sed is deprecated and removed in Packer; use replace or replace_all", at: offset)
    case .consulKey, .vault, .awsSecretsManager, .awsSecretsManagerRaw:
      guard context.phase == .variables else {
        throw InterpolationError("\(name) is only allowed in a variable's default", at: offset)
      }
      throw InterpolationError(
        "\(name) is not supported by kiln: pass the secret with -var or -var-file and list it in \"sensitive-variables\"", at: offset)
    case .and:
      return args.first { !$0.isTruthy } ?? args.last!
    case .or:
      return args.first { $0.isTruthy } ?? args.last!
    case .not:
      return .bool(!args[0].isTruthy)
    case .eq:
      for other in args.dropFirst() where try Self.equal(args[0], other, name, offset) { return .bool(true) }
      return .bool(false)
    case .ne:
      return .bool(!(try Self.equal(args[0], args[1], name, offset)))
    case .lt, .le, .gt, .ge:
      let order = try Self.compare(args[0], args[1], name, offset)
      switch function {
      case .lt: return .bool(order < 0)
      case .le: return .bool(order <= 0)
      case .gt: return .bool(order > 0)
      default: return .bool(order >= 0)
      }
    case .len:
      switch args[0] {
      case .string(let s): return .integer(s.utf8.count)
      case .list(let l): return .integer(l.count)
      case .map(let m): return .integer(m.count)
      default: throw InterpolationError("len of \(args[0].typeName)", at: offset)
      }
    case .index:
      var current = args[0]
      for key in args.dropFirst() {
        switch (current, key) {
        case (.list(let l), .integer(let i)):
          guard i >= 0, i < l.count else { throw InterpolationError("index out of range: \(i)", at: offset) }
          current = l[i]
        case (.map(let m), .string(let k)): current = m[k] ?? .null
        case (.string(let s), .integer(let i)):
          let bytes = Array(s.utf8)
          guard i >= 0, i < bytes.count else { throw InterpolationError("index out of range: \(i)", at: offset) }
          current = .integer(Int(bytes[i]))
        default: throw InterpolationError("can't index \(current.typeName) with \(key.typeName)", at: offset)
        }
      }
      return current
    case .print:
      return .string(try sprint(args))
    case .println:
      return .string(try sprint(args, line: true))
    case .printf:
      guard let text = GoFormat.printf(try string(0), Array(args.dropFirst()), limit: Interpolator.maximumOutputBytes) else { throw tooLarge() }
      return .string(text)
    case .urlquery:
      return .string(GoFormat.queryEscape(try sprint(args)))
    case .html:
      return .string(GoFormat.htmlEscape(try sprint(args)))
    case .js:
      return .string(GoFormat.jsEscape(try sprint(args)))
    }
  }

  // MARK: - Helpers

  /// Go's `strings.Replace`: the first `limit` occurrences (all when negative); an empty
  /// `old` matches before each character and at the end. Linear in the result, which may
  /// not pass `maximumOutputBytes`.
  static func replace(_ source: String, _ old: String, _ new: String, limit: Int, at offset: Int) throws(InterpolationError) -> String {
    if limit == 0 || old == new { return source }
    let text = Array(source.utf8)
    let needle = Array(old.utf8)
    let replacement = Array(new.utf8)
    var out: [UInt8] = []
    out.reserveCapacity(text.count)
    var count = 0
    var position = 0
    func grow(_ bytes: ArraySlice<UInt8>) throws(InterpolationError) {
      guard out.count + bytes.count <= Interpolator.maximumOutputBytes else {
        throw Self.tooLarge(at: offset)
      }
      out.append(contentsOf: bytes)
    }
    if needle.isEmpty {
      // Before each character (a UTF-8 sequence: a byte that is not a continuation byte starts one).
      while position <= text.count, limit < 0 || count < limit {
        try grow(replacement[...])
        count += 1
        guard position < text.count else {
          position += 1
          break
        }
        let next = text[(position + 1)...].firstIndex { $0 & 0xC0 != 0x80 } ?? text.count
        try grow(text[position..<next])
        position = next
      }
      if position <= text.count { try grow(text[position...]) }
      return String(decoding: out, as: UTF8.self)
    }
    while limit < 0 || count < limit, let found = Self.find(needle, in: text, from: position) {
      try grow(text[position..<found])
      try grow(replacement[...])
      position = found + needle.count
      count += 1
    }
    try grow(text[position...])
    return String(decoding: out, as: UTF8.self)
  }

  /// The first index at or after `start` where `needle` (not empty) occurs in `haystack`.
  static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
    guard let first = needle.first, haystack.count - start >= needle.count else { return nil }
    return haystack.withUnsafeBufferPointer { hay in
      needle.withUnsafeBufferPointer { pin in
        var candidate = start
        let last = hay.count - pin.count
        while candidate <= last {
          guard let found = hay[candidate...last].firstIndex(of: first) else { return nil }
          if hay[found..<found + pin.count].elementsEqual(pin) {
            return found
          }
          candidate = found + 1
        }
        return nil
      }
    }
  }

  /// Go's `eq`: values of one basic kind compare; different kinds are an error, except
  /// that nil equals only nil.
  static func equal(_ a: TemplateValue, _ b: TemplateValue, _ name: String, _ offset: Int) throws(InterpolationError) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case (.null, _), (_, .null): return false
    case (.string(let x), .string(let y)): return x == y
    case (.integer(let x), .integer(let y)): return x == y
    case (.float(let x), .float(let y)): return x == y
    case (.bool(let x), .bool(let y)): return x == y
    case (.list, .list), (.map, .map):
      throw InterpolationError("\(name): non-comparable type \(a.typeName)", at: offset)
    default:
      throw InterpolationError("\(name): incompatible types for comparison (\(a.typeName) and \(b.typeName))", at: offset)
    }
  }

  /// Go's `lt`/`le`/`gt`/`ge`: integers, floats or strings, both of one kind.
  static func compare(_ a: TemplateValue, _ b: TemplateValue, _ name: String, _ offset: Int) throws(InterpolationError) -> Int {
    func order<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : x == y ? 0 : 1 }
    switch (a, b) {
    case (.string(let x), .string(let y)): return order(x, y)
    case (.integer(let x), .integer(let y)): return order(x, y)
    case (.float(let x), .float(let y)): return order(x, y)
    case (.string, _), (.integer, _), (.float, _):
      switch b {
      case .string, .integer, .float:
        throw InterpolationError("\(name): incompatible types for comparison (\(a.typeName) and \(b.typeName))", at: offset)
      default: break
      }
    default: break
    }
    throw InterpolationError("\(name): invalid type for comparison", at: offset)
  }

  /// Go's Sprint (spaces between operands when neither is a string) or, with `line`, Sprintln
  /// (spaces between all, and a newline); nil once the result passes `limit` bytes, checked
  /// as it grows (each operand may itself be up to the limit).
  static func goSprint(_ args: [TemplateValue], line: Bool = false, limit: Int = Interpolator.maximumOutputBytes) -> String? {
    var out = ""
    for (i, arg) in args.enumerated() {
      if i > 0, line || !(arg.isString || args[i - 1].isString) { out += " " }
      out += GoFormat.value(arg)
      if out.utf8.count > limit { return nil }
    }
    return line ? out + "\n" : out
  }

  /// Go's `strings.ToUpper`/`ToLower`: each character's simple case mapping, so `ß` stays.
  static func mapCase(_ text: String, upper: Bool) -> String {
    var out = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
      let mapped = upper ? scalar.properties.uppercaseMapping : scalar.properties.lowercaseMapping
      let scalars = mapped.unicodeScalars
      if scalars.count == 1, let only = scalars.first { out.append(only) } else { out.append(scalar) }
    }
    return String(out)
  }

  static func strftime(_ format: String, _ clock: BuildClock) -> String {
    var seconds = time_t(clock.unixSeconds)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    var buffer = [CChar](repeating: 0, count: 512)
    let count = Foundation.strftime(&buffer, buffer.count, format, &parts)
    return String(decoding: buffer.prefix(count).map(UInt8.init(bitPattern:)), as: UTF8.self)
  }

  /// Packer's time-ordered UUID: the first 8 hex digits are the Unix time, the rest random.
  static func timeOrderedUUID(_ clock: BuildClock) -> String {
    var generator = SystemRandomNumberGenerator()
    let random = (0..<12).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let hex = random.map { String(format: "%02x", $0) }.joined()
    let time = String(format: "%08x", UInt32(truncatingIfNeeded: clock.unixSeconds))
    let r = Array(hex)
    return "\(time)-\(String(r[0..<4]))-\(String(r[4..<8]))-\(String(r[8..<12]))-\(String(r[12..<24]))"
  }
}

extension TemplateValue {
  fileprivate var isString: Bool {
    if case .string = self { return true }
    return false
  }
}
