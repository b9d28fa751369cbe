import Foundation

/// Collects the diagnostics of one prepare pass; shared by a reader and its nested readers.
public final class DiagnosticSink {
  public private(set) var diagnostics = Diagnostics()
  public init() {}
  public func append(_ diagnostic: Diagnostic) { diagnostics.append(diagnostic) }

  /// How a plugin asked for a key: a value, a block (`{...}`), or a list of blocks.
  public enum KeyShape: Sendable { case value, object, objectList }

  /// Every key the readers sharing this sink were asked for, as a dotted path
  /// (`metadata_options.http_tokens`, `launch_block_device_mappings[].iops`), with its shape.
  /// `ConfigKeyEffectTests` decodes each plugin with this to walk all of its keys.
  public private(set) var keysAsked: [String: KeyShape] = [:]
  /// Keys accepted for compatibility that have no effect in Kiln, path → reason.
  public private(set) var keysWithoutEffect: [String: String] = [:]

  func noteAsked(_ path: String, _ shape: KeyShape) {
    if shape != .value || keysAsked[path] == nil { keysAsked[path] = shape }
  }

  func noteWithoutEffect(_ path: String, _ reason: String) { keysWithoutEffect[path] = reason }
}

/// Decodes one plugin's configuration object the way Packer does, with positions.
///
/// - Loose ("weak") decoding, as Packer's `mapstructure` hooks: a string where a number or a
///   boolean is wanted is converted; a comma-separated string is a list; durations use Go's
///   syntax (`"90s"`, `"1h30m"`).
/// - Every string is rendered with the reader's `RenderContext` before it is converted,
///   except the plugin's *late* keys, which are checked for syntax and allowed functions and
///   kept as written, to be rendered with build data at run time.
/// - Every key a plugin reads is recorded; `finish()` reports the rest as unknown keys, with
///   a "did you mean" suggestion.
/// - Nothing here has side effects beyond `stat` for the checks plugins ask for.
public struct ConfigReader {
  public let node: JSONNode
  public let context: RenderContext
  /// Keys (at this level) whose strings are rendered later, with build data, mapped to the
  /// `.Fields` they may use (`tags` → `.SourceAMI`, ...; `execute_command` → `.Path`, ...).
  public let lateKeys: [String: Set<String>]
  /// Prefix for messages, e.g. `amazon-ebs builder "eks"`.
  public let label: String
  public let sink: DiagnosticSink
  /// Keys a plugin knows but reads itself through `raw` (so they are not reported unknown).
  private var consumed: Set<String> = []
  /// Known keys that are deprecated: key → advice.
  public var deprecated: [String: String] = [:]
  /// Where this reader's node sits in the plugin's configuration, for `DiagnosticSink.keysAsked`:
  /// "" at the top, `metadata_options.` or `launch_block_device_mappings[].` in a block.
  public var keyPath = ""

  public init(node: JSONNode, context: RenderContext, lateKeys: [String: Set<String>] = [:], label: String, sink: DiagnosticSink) {
    self.node = node
    self.context = context
    self.lateKeys = lateKeys
    self.label = label
    self.sink = sink
  }

  // MARK: - Reporting

  public func error(_ message: String, at location: SourceLocation?) {
    sink.append(.error("\(label): \(message)", at: location ?? node.location))
  }

  public func warning(_ message: String, at location: SourceLocation?) {
    sink.append(.warning("\(label): \(message)", at: location ?? node.location))
  }

  /// Reports a problem with the value of `key` at that value's position (or the object's).
  public func error(key: String, _ message: String) {
    error("'\(key)' \(message)", at: member(key)?.value.location)
  }

  public func member(_ key: String) -> JSONMember? {
    node.members?.first { $0.key == key }
  }

  public func has(_ key: String) -> Bool { member(key) != nil }

  /// The location of `key`'s value, or of the object when it is absent (for "required").
  public func location(of key: String) -> SourceLocation { member(key)?.value.location ?? node.location }

  /// Reports every key no read asked for. Call once, after reading everything.
  public func finish() {
    guard let members = node.members else { return }
    for member in members where !consumed.contains(member.key) {
      let hint = Suggestions.closest(to: member.key, in: consumed).map { "; did you mean '\($0)'?" } ?? ""
      error("unknown configuration key '\(Diagnostic.quote(member.key))'\(hint)", at: member.keyLocation)
    }
  }

  // MARK: - Raw access

  /// The node of `key`, marking it known. Nested readers and special shapes start here.
  public mutating func raw(_ key: String) -> JSONNode? {
    consumed.insert(key)
    sink.noteAsked(keyPath + key, .value)
    guard let member = member(key) else { return nil }
    if let advice = deprecated[key] {
      warning("'\(key)' is deprecated: \(advice)", at: member.keyLocation)
    }
    return member.value
  }

  /// The node of a key read as a value (not a block), marking it known. An HCL template
  /// that wrote it as blocks (`key { … }`) gets HCL's advice to use `=`.
  public mutating func value(_ key: String) -> JSONNode? {
    guard let node = raw(key) else { return nil }
    if node.hclForm == .blocks {
      error("'\(key)' is an argument, not a block: write \(key) = …; blocks of type \"\(key)\" are not expected here", at: node.location)
      return nil
    }
    return node
  }

  /// HCL's advice for a block written as `key = …`.
  func blockWrittenAsArgument(_ key: String) -> String {
    "'\(key)' is a block, not an argument: write \(key) { … } without '='; an argument named \"\(key)\" is not expected here"
  }

  /// Marks keys as known without reading them (options accepted for compatibility only).
  public mutating func accept(_ keys: String...) {
    for key in keys {
      consumed.insert(key)
      sink.noteAsked(keyPath + key, .value)
    }
  }

  /// Marks `key` as known and, when the template sets it, warns that it has no effect and
  /// why. Only for keys Packer itself accepts without effect in the same situation (such as
  /// `winrm_*` keys with the SSH communicator); an option Packer acts on must be implemented
  /// or refused with an error. `ConfigKeyEffectTests` holds every decoded key to that.
  public mutating func acceptWithoutEffect(_ key: String, because reason: String) {
    consumed.insert(key)
    sink.noteAsked(keyPath + key, .value)
    sink.noteWithoutEffect(keyPath + key, reason)
    if let member = member(key) {
      warning("'\(key)' is accepted for compatibility and has no effect: \(reason)", at: member.keyLocation)
    }
  }

  // MARK: - Rendering

  /// Renders a string that stands at `node` in the file, reporting errors at the exact column.
  /// With `fields` (a late key), the string is checked now with those `.Fields` deferred and
  /// returned as written, to be rendered with build data at run time.
  public func render(_ text: String, at node: JSONNode, key: String, fields: Set<String>? = nil) -> String? {
    guard text.contains("{{") else { return text }
    var context = self.context
    context.deferredFields = fields ?? []
    do {
      let result = try Interpolator.render(text, in: context)
      for warning in result.warnings {
        self.warning("'\(key)': \(warning.message)", at: node.location(ofDecodedByte: warning.offset))
      }
      return fields == nil ? result.output : text
    } catch {
      self.error("'\(key)': \(error.message)", at: node.location(ofDecodedByte: error.offset))
      return nil
    }
  }

  /// The string form of a scalar node (weak decoding), rendered unless `key` is late.
  func scalarText(_ node: JSONNode, key: String, what: String) -> String? {
    switch node.value {
    case .string(let text): return render(text, at: node, key: key, fields: lateKeys[key])
    case .number(let text): return text
    case .bool(let flag): return flag ? "true" : "false"
    case .null: return nil
    default:
      error("'\(key)' must be \(what), not \(node.typeNameWithArticle)", at: node.location)
      return nil
    }
  }

  // MARK: - Typed reads

  public mutating func string(_ key: String) -> String? {
    guard let node = value(key) else { return nil }
    return scalarText(node, key: key, what: "a string")
  }

  /// A string that must be set and non-empty; reports "'key' must be specified" otherwise.
  public mutating func requiredString(_ key: String, _ why: String = "") -> String? {
    let value = string(key)
    if let value, !value.isEmpty { return value }
    if value == nil, let node = member(key)?.value, !node.isNull { return nil } // already reported
    error("'\(key)' must be specified\(why.isEmpty ? "" : ": \(why)")", at: has(key) ? location(of: key) : nil)
    return nil
  }

  public mutating func bool(_ key: String) -> Bool? {
    guard let node = value(key) else { return nil }
    if case .bool(let flag) = node.value { return flag }
    guard let text = scalarText(node, key: key, what: "a boolean") else { return nil }
    switch text.lowercased() {
    case "true", "1", "t": return true
    case "false", "0", "f", "": return false
    default:
      error("'\(key)' must be a boolean (true or false), not \"\(Diagnostic.quote(text))\"", at: node.location)
      return nil
    }
  }

  public mutating func int(_ key: String, range: ClosedRange<Int>? = nil) -> Int? {
    guard let node = value(key) else { return nil }
    guard let text = scalarText(node, key: key, what: "an integer") else { return nil }
    if text.isEmpty { return nil }
    guard let value = Int(text) ?? Double(text).flatMap({ $0 == $0.rounded() && abs($0) < 9e18 ? Int($0) : nil }) else {
      error("'\(key)' must be an integer, not \"\(Diagnostic.quote(text))\"", at: node.location)
      return nil
    }
    if let range, !range.contains(value) {
      error("'\(key)' must be between \(range.lowerBound) and \(range.upperBound), not \(value)", at: node.location)
      return nil
    }
    return value
  }

  public mutating func double(_ key: String) -> Double? {
    guard let node = value(key) else { return nil }
    guard let text = scalarText(node, key: key, what: "a number"), !text.isEmpty else { return nil }
    guard let value = Double(text) else {
      error("'\(key)' must be a number, not \"\(Diagnostic.quote(text))\"", at: node.location)
      return nil
    }
    return value
  }

  /// A duration in seconds, in Go's syntax (`"5m"`, `"90s"`).
  public mutating func duration(_ key: String) -> Double? {
    guard let node = value(key) else { return nil }
    guard let text = scalarText(node, key: key, what: "a duration") else { return nil }
    if text.isEmpty { return nil }
    guard let seconds = GoDuration.parse(text) else {
      error("'\(key)' must be a duration such as \"90s\", \"5m\" or \"1h30m\", not \"\(Diagnostic.quote(text))\"", at: node.location)
      return nil
    }
    return seconds
  }

  /// A list of strings; a string is split on commas (Packer's weak decoding).
  public mutating func stringList(_ key: String) -> [String]? {
    guard let node = value(key) else { return nil }
    switch node.value {
    case .null: return nil
    case .array(let elements):
      return elements.compactMap { element in scalarText(element, key: key, what: "a list of strings") }
    case .string, .number, .bool:
      guard let text = scalarText(node, key: key, what: "a list") else { return nil }
      return text.isEmpty ? [] : text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    default:
      error("'\(key)' must be a list of strings, not \(node.typeNameWithArticle)", at: node.location)
      return nil
    }
  }

  /// An object of string values (tags, filters). Keys and values are both rendered.
  public mutating func stringMap(_ key: String) -> [(key: String, value: String)]? {
    guard let node = value(key) else { return nil }
    if node.isNull { return nil }
    guard let members = node.members else {
      error("'\(key)' must be an object of strings, not \(node.typeNameWithArticle)", at: node.location)
      return nil
    }
    let late = lateKeys[key]
    return members.compactMap { member in
      let keyNode = JSONNode(.string(member.key), at: member.keyLocation)
      guard let renderedKey = render(member.key, at: keyNode, key: "\(key).\(Diagnostic.quote(member.key))", fields: late) else { return nil }
      switch member.value.value {
      case .string(let text):
        guard let value = render(text, at: member.value, key: "\(key).\(Diagnostic.quote(member.key))", fields: late) else { return nil }
        return (renderedKey, value)
      case .number(let text): return (renderedKey, text)
      case .bool(let flag): return (renderedKey, flag ? "true" : "false")
      default:
        error("'\(key).\(Diagnostic.quote(member.key))' must be a string, not \(member.value.typeNameWithArticle)", at: member.value.location)
        return nil
      }
    }
  }

  /// A nested block (`source_ami_filter`, `metadata_options`, ...), read with its own keys.
  public mutating func object(_ key: String, lateKeys: [String: Set<String>] = [:]) -> ConfigReader? {
    sink.noteAsked(keyPath + key, .object)
    guard var node = raw(key) else { return nil }
    if node.isNull { return nil }
    if node.hclForm == .attribute {
      error(blockWrittenAsArgument(key), at: member(key)?.keyLocation)
      return nil
    }
    if node.hclForm == .blocks, let blocks = node.elements, let first = blocks.first {
      for extra in blocks.dropFirst() {
        error("only one '\(key)' block is allowed (the first is at line \(first.location.line))", at: extra.location)
      }
      node = first
    }
    guard node.members != nil else {
      error("'\(key)' must be an object, not \(node.typeNameWithArticle)", at: node.location)
      return nil
    }
    var reader = ConfigReader(node: node, context: context, lateKeys: lateKeys, label: "\(label) \(key)", sink: sink)
    reader.keyPath = keyPath + key + "."
    return reader
  }

  /// A list of blocks (`launch_block_device_mappings`, ...).
  public mutating func objectList(_ key: String) -> [ConfigReader]? {
    sink.noteAsked(keyPath + key, .objectList)
    guard let node = raw(key) else { return nil }
    if node.isNull { return nil }
    if node.hclForm == .attribute {
      error(blockWrittenAsArgument(key), at: member(key)?.keyLocation)
      return nil
    }
    // In HCL's JSON syntax one object is one block.
    let single = node.hclForm == .json && node.members != nil ? [node] : nil
    guard let elements = single ?? node.elements else {
      error("'\(key)' must be a list of objects, not \(node.typeNameWithArticle)", at: node.location)
      return nil
    }
    return elements.enumerated().compactMap { index, element in
      guard element.members != nil else {
        error("'\(key)'[\(index)] must be an object, not \(element.typeNameWithArticle)", at: element.location)
        return nil
      }
      var reader = ConfigReader(node: element, context: context, label: "\(label) \(key)[\(index)]", sink: sink)
      reader.keyPath = keyPath + key + "[]."
      return reader
    }
  }

  /// A string that must be one of `allowed` (empty allowed when `allowEmpty`).
  public mutating func choice(_ key: String, _ allowed: [String], allowEmpty: Bool = true) -> String? {
    guard let value = string(key) else { return nil }
    if value.isEmpty, allowEmpty { return nil }
    guard allowed.contains(value) else {
      error(key: key, "must be one of \(allowed.map { "\"\($0)\"" }.joined(separator: ", ")), not \"\(Diagnostic.quote(value))\"")
      return nil
    }
    return value
  }

  // MARK: - Files

  /// Resolves a path as Packer does: relative paths are relative to the working directory
  /// (not the template's directory), `~` is the home directory.
  public func resolvePath(_ path: String) -> String {
    if path.hasPrefix("~/") {
      return FileManager.default.homeDirectoryForCurrentUser.path + path.dropFirst(1)
    }
    if path.hasPrefix("/") { return path }
    return URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: context.workingDirectory, isDirectory: true)).path
  }

  /// Checks that a local file (or directory, when `directoryAllowed`) exists.
  public func checkExists(_ path: String, key: String, what: String, directoryAllowed: Bool = false) {
    var isDirectory: ObjCBool = false
    let resolved = resolvePath(path)
    if !FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory) {
      error(
        key: key,
        "names \(what) '\(Diagnostic.quote(path))' that does not exist\(resolved == path ? "" : " (looked in \(Diagnostic.quote(resolved)))")")
    } else if isDirectory.boolValue, !directoryAllowed {
      error(key: key, "names \(what) '\(Diagnostic.quote(path))' that is a directory, not a file")
    }
  }
}
