import Foundation

/// Where a variable's value came from; decides where a problem with it is reported.
public enum VariableSource: Sendable {
  case templateDefault(JSONNode)
  case variableFile(JSONNode)
  case commandLine(String)
}

/// The user variables of a run, resolved: defaults, then `-var-file` files in order, then
/// `-var` flags, then rendered (with `{{env}}`) until no value changes.
///
/// Precedence follows Packer 1.6.6's code, not its docs: a `-var` always wins over any
/// `-var-file`, wherever it stands on the command line (`command/meta.go`); among files, the
/// later wins. Kiln documents this in the README.
public struct ResolvedVariables: Sendable {
  public var values: [String: String]
  /// Values of the variables named in `sensitive-variables`, to be masked in every output.
  public var sensitiveValues: [String]
  public var diagnostics: Diagnostics
}

public enum VariableResolver {
  /// A `-var NAME=VALUE` flag.
  public struct Assignment: Sendable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
      self.name = name
      self.value = value
    }

    /// Parses `NAME=VALUE` (split at the first `=`).
    public static func parse(_ text: String) -> Assignment? {
      guard let equals = text.firstIndex(of: "="), equals != text.startIndex else { return nil }
      return Assignment(name: String(text[..<equals]), value: String(text[text.index(after: equals)...]))
    }
  }

  public static func resolve(
    template: Template,
    variableFiles: [String],
    assignments: [Assignment],
    context: RenderContext,
    checkRequired: Bool = true
  ) -> ResolvedVariables {
    var diagnostics = Diagnostics()
    var values: [String: String] = [:]
    var sources: [String: VariableSource] = [:]

    for variable in template.variables {
      if let value = variable.defaultValue {
        values[variable.name] = value
        sources[variable.name] = .templateDefault(variable.node)
      }
    }
    for path in variableFiles {
      for (name, node) in readVariableFile(path, &diagnostics) {
        if case .string(let text) = node.value {
          values[name] = text
          sources[name] = .variableFile(node)
        }
      }
    }
    for assignment in assignments {
      values[assignment.name] = assignment.value
      sources[assignment.name] = .commandLine("-var \(assignment.name)=...")
    }

    if checkRequired {
      for variable in template.variables where variable.isRequired && values[variable.name] == nil {
        diagnostics.error(
          "required variable not set: \(variable.name) (pass it with -var \(variable.name)=VALUE or in a -var-file)", at: variable.location)
      }
    }

    var context = context
    context.phase = .variables
    context.declaredVariables = Set(template.variables.map(\.name))
    let rendered = render(values, in: context)
    values.merge(rendered.values) { $1 }
    for problem in rendered.problems {
      let (name, message, offset) = (problem.variable, problem.message, problem.offset)
      switch sources[name] {
      case .templateDefault(let node), .variableFile(let node):
        diagnostics.error("variable '\(name)': \(message)", at: node.location(ofDecodedByte: offset))
      case .commandLine(let flag):
        diagnostics.error("variable '\(name)' (\(flag)): \(message)", at: nil)
      case nil:
        diagnostics.error("variable '\(name)': \(message)", at: nil)
      }
    }

    var sensitive: [String] = []
    let declared = Set(template.variables.map(\.name))
    for name in template.sensitiveVariables {
      if !declared.contains(name.value) {
        diagnostics.warning("sensitive variable '\(name.value)' is not declared in \"variables\"", at: name.location)
      }
      if let value = values[name.value], !value.isEmpty { sensitive.append(value) }
    }
    return ResolvedVariables(values: values, sensitiveValues: sensitive, diagnostics: diagnostics)
  }

  struct Problem {
    var variable: String
    var message: String
    /// Byte offset in the variable's value.
    var offset: Int
  }

  /// Renders every value that holds `{{ }}`, each once and after the variables it uses, so
  /// the work is linear in the size of the values. What a value uses is read off its
  /// constant `{{user `x`}}` calls before it is rendered (each of those is rendered first, one
  /// chain at a time); a name computed while rendering (`{{user (lower `A`)}}`) is found when
  /// the render asks for it, and that value is rendered again once it is known. A variable
  /// that needs itself, directly or through others, is one problem naming the whole cycle,
  /// at the call that starts it. A variable that fails only because one it uses failed is not
  /// reported again: the root cause is.
  static func render(_ raw: [String: String], in context: RenderContext) -> (values: [String: String], problems: [Problem]) {
    var context = context
    context.variables = raw.filter { !$0.value.contains("{{") }
    context.pendingVariables = Set(raw.keys).subtracting(context.variables.keys)
    var failed: Set<String> = []
    var problems: [Problem] = []
    // Where each variable on the chain asks for the next one.
    var waitsAt: [String: Int] = [:]
    // The constant references of each value, and how many of them were already seen to.
    var references: [String: [(name: String, offset: Int)]] = [:]
    var seen: [String: Int] = [:]
    for first in context.pendingVariables.sorted() where context.pendingVariables.contains(first) && !failed.contains(first) {
      // The chain being worked on: each variable waits for the one after it.
      var chain = [first]
      /// `name` waits for `needed` (asked for at `offset`): push it, or report the cycle.
      func wait(_ name: String, for needed: String, at offset: Int) {
        waitsAt[name] = offset
        guard let loopStart = chain.firstIndex(of: needed) else {
          chain.append(needed)
          return
        }
        let cycle = chain[loopStart...] + [needed]
        problems.append(
          Problem(
            variable: needed, message: "variable \"\(needed)\" refers to itself: \(cycle.joined(separator: " -> "))",
            offset: waitsAt[needed] ?? 0))
        failed.formUnion(chain)
        chain.removeAll()
      }
      next: while let name = chain.last, let text = raw[name] {
        // First what the value names outright, in order.
        if references[name] == nil {
          references[name] = (try? InterpolationTemplate.parse(text))?.constantUserReferences ?? []
        }
        let known = references[name] ?? []
        while let index = seen[name, default: 0] < known.count ? seen[name, default: 0] : nil {
          seen[name] = index + 1
          let reference = known[index]
          guard context.pendingVariables.contains(reference.name) else { continue }
          if failed.contains(reference.name) {
            // It failed: so does this one, without a second report.
            failed.formUnion(chain)
            chain.removeAll()
            continue next
          }
          wait(name, for: reference.name, at: reference.offset)
          continue next
        }
        do {
          context.variables[name] = try Interpolator.render(text, in: context).output
          context.pendingVariables.remove(name)
          chain.removeLast()
        } catch {
          if let needed = error.pendingVariable, !failed.contains(needed) {
            wait(name, for: needed, at: error.offset)
            continue
          }
          if error.pendingVariable == nil {
            problems.append(Problem(variable: name, message: error.message, offset: error.offset))
          }
          // Everything on the chain waits, directly or not, for what just failed.
          failed.formUnion(chain)
          chain.removeAll()
        }
      }
    }
    return (context.variables, problems)
  }

  /// Reads a `-var-file`: a flat JSON object of strings.
  static func readVariableFile(_ path: String, _ diagnostics: inout Diagnostics) -> [(String, JSONNode)] {
    guard let data = FileManager.default.contents(atPath: path) else {
      diagnostics.error("cannot read variable file \(path): no such file", at: nil)
      return []
    }
    let root: JSONNode
    do {
      let result = try JSONReader.read(SourceFile(path: path, bytes: Array(data)))
      root = result.root
      for duplicate in result.duplicateKeys { diagnostics.append(duplicate) }
    } catch {
      diagnostics.append(error)
      return []
    }
    guard let members = root.members else {
      diagnostics.error(
        "a variable file must be a JSON object of name to value (a string, number or boolean), not \(root.typeNameWithArticle)", at: root.location)
      return []
    }
    var result: [(String, JSONNode)] = []
    for member in members {
      switch member.value.value {
      case .string:
        result.append((member.key, member.value))
      case .number(let text):
        result.append((member.key, JSONNode(.string(text), at: member.value.location)))
      case .bool(let flag):
        result.append((member.key, JSONNode(.string(flag ? "true" : "false"), at: member.value.location)))
      default:
        diagnostics.error(
          "variable '\(member.key)': a variable file's value must be a string, number or boolean, not \(member.value.typeNameWithArticle)",
          at: member.value.location)
      }
    }
    return result
  }
}
