import KilnCore
import Testing

/// `InterpolationFunction` is the one list of functions: what the parser accepts and what
/// the evaluator implements and arity-checks come from it.
@Suite struct InterpolationFunctionTableTests {
  /// Packer 1.6.6's functions (template/interpolate/funcs.go) and Go's text/template
  /// built-ins (text/template/funcs.go `builtins`, less `call`, `slice`: neither is
  /// reachable in Packer templates without a function value).
  static let expected: Set<String> = [
    "build_name", "build_type", "env", "isotime", "strftime", "pwd", "split", "template_dir",
    "timestamp", "uuid", "user", "packer_version", "consul_key", "vault", "sed", "build",
    "aws_secretsmanager", "aws_secretsmanager_raw", "replace", "replace_all", "upper", "lower",
    "clean_resource_name", "clean_ami_name",
    "and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len", "index", "print", "printf",
    "println", "urlquery", "html", "js",
  ]

  @Test func theTableIsPackersListAndGosBuiltins() {
    #expect(InterpolationFunction.names == Self.expected)
  }

  /// Every function in the table parses, and the parser hands the evaluator that case.
  @Test(arguments: InterpolationFunction.allCases)
  func everyFunctionParses(function: InterpolationFunction) throws {
    let template = try InterpolationTemplate.parse("{{\(function.name)}}")
    guard case .action(let pipeline)? = template.nodes.first,
      case .function(let parsed, _)? = pipeline.commands.first?.operands.first
    else {
      Issue.record("{{\(function.name)}} did not parse to one function call: \(template.nodes)")
      return
    }
    #expect(parsed == function)
  }

  /// A call with one argument too many is refused by the table's arity, naming the function
  /// and the count it wants, before any function body runs.
  @Test(arguments: InterpolationFunction.allCases.filter { ($0.arity?.upperBound ?? .max) < 5 })
  func tooManyArgumentsIsTheTablesError(function: InterpolationFunction) throws {
    let count = function.arity!.upperBound + 1
    let arguments = Array(repeating: "`x`", count: count).joined(separator: " ")
    do {
      _ = try render("{{\(function.name) \(arguments)}}")
      Issue.record("{{\(function.name)}} took \(count) arguments")
    } catch let error as InterpolationError {
      #expect(error.message.hasPrefix("wrong number of arguments for \(function.name): want "), "\(error.message)")
      #expect(error.message.hasSuffix("got \(count)"), "\(error.message)")
    }
  }

  @Test func variadicFunctionsSayAtLeast() {
    #expect(throws: InterpolationError.self) { try render("{{and}}") }
    do {
      _ = try render("{{and}}")
    } catch let error as InterpolationError {
      #expect(error.message == "wrong number of arguments for and: want at least 1, got 0")
    } catch {
      Issue.record("unexpected \(error)")
    }
  }

  @Test func anUnknownNameSuggestsFromTheTable() {
    do {
      _ = try InterpolationTemplate.parse("{{clean_resource_nam `x`}}")
      Issue.record("parsed an unknown function")
    } catch {
      #expect(error.message == "function \"clean_resource_nam\" not defined; did you mean \"clean_resource_name\"?")
    }
  }

  /// The one AMI-name rule: what `clean_resource_name` leaves always passes the check
  /// `amazon-ebs` makes of `ami_name`.
  @Test func cleanedNamesPassTheAMINameRule() throws {
    let cleaned = try render("{{clean_resource_name `eks: 1.29/node*{x}+é`}}")
    #expect(cleaned == "eks- 1.29/node--x---")
    #expect(AMIName.firstDisallowed(in: cleaned) == nil)
    #expect(AMIName.firstDisallowed(in: "a:b") == ":")
  }
}
