/// HCL's native-syntax parser: tokens to a body or an expression, reporting every problem it
/// can and recovering as hclsyntax's parser does (so errors land where HCL puts them).
///
/// Nesting is bounded: past `maximumDepth` levels it reports one positioned error and stops,
/// so no input can exhaust the stack (here or in the evaluator, which follows the tree).
struct Parser {
  /// Nesting the parser follows: brackets, calls, templates, directives, blocks.
  static let maximumDepth = 100
  /// Depth of the resulting tree, which the evaluator follows: a template directive adds two
  /// levels, and a chain of operators one per operator.
  static let maximumTreeDepth = 250

  private var tokens: [Token]
  private var nextIndex = 0
  private var includeNewlinesStack: [Bool] = [true]
  /// Set once recovery was attempted: later "bad token" errors are then mostly suppressed.
  private(set) var recovery = false
  private(set) var diagnostics: [HCLDiagnostic] = []
  private var nextAnonymousID = 0
  private var depth = 0
  private var tooDeep = false

  init(tokens: [Token]) {
    self.tokens = tokens
    self.diagnostics = Parser.invalidTokenDiagnostics(tokens)
  }

  // MARK: - Entry points

  static func parseBody(_ bytes: [UInt8], filename: String) -> (NativeBody, [HCLDiagnostic]) {
    var parser = Parser(tokens: Scanner.scan(bytes, filename: filename, mode: .normal))
    let body = parser.parseBody(end: .eof)
    return (body, parser.diagnostics)
  }

  static func parseExpression(_ bytes: [UInt8], filename: String, start: HCLPosition = .start) -> (Expression, [HCLDiagnostic]) {
    var parser = Parser(tokens: Scanner.scan(bytes, filename: filename, mode: .normal, start: start))
    parser.pushNewlines(false)
    let expression = parser.parseExpression()
    let next = parser.peek()
    if next.type != .eof && !parser.recovery {
      parser.report(
        "Extra characters after expression", "An expression was successfully parsed, but extra characters were found after it.", next.range)
    }
    parser.popNewlines()
    return (expression, parser.diagnostics)
  }

  static func parseTemplate(_ bytes: [UInt8], filename: String, start: HCLPosition = .start) -> (Expression, [HCLDiagnostic]) {
    var parser = Parser(tokens: Scanner.scan(bytes, filename: filename, mode: .bare, start: start))
    let expression = parser.parseTemplate(end: .eof, flush: false)
    return (expression, parser.diagnostics)
  }

  // MARK: - Peeking

  private func nextToken() -> (Token, Int) {
    var index = nextIndex
    let including = includeNewlinesStack.last ?? true
    while index < tokens.count {
      let token = tokens[index]
      switch token.type {
      case .comment:
        // A line comment ends its line: it stands for a newline where newlines count.
        if including, token.bytes.last == UInt8(ascii: "\n") {
          var newline = token
          newline.type = .newline
          newline.bytes = token.bytes.suffix(1)
          return (newline, index + 1)
        }
        index += 1
        continue
      case .newline where !including:
        index += 1
        continue
      default:
        return (token, index + 1)
      }
    }
    return (tokens[tokens.count - 1], tokens.count)
  }

  private func peek() -> Token { nextToken().0 }

  @discardableResult
  private mutating func read() -> Token {
    let (token, index) = nextToken()
    nextIndex = index
    return token
  }

  private var nextRange: HCLRange { peek().range }

  private var previousRange: HCLRange {
    nextIndex == 0 ? nextRange : tokens[nextIndex - 1].range
  }

  private mutating func pushNewlines(_ include: Bool) { includeNewlinesStack.append(include) }
  private mutating func popNewlines() { if includeNewlinesStack.count > 1 { includeNewlinesStack.removeLast() } }

  private mutating func report(_ summary: String, _ detail: String, _ subject: HCLRange, context: HCLRange? = nil) {
    diagnostics.append(.error(summary, detail, subject, context: context))
  }

  private mutating func setRecovery() { recovery = true }

  private static func opposite(_ type: TokenType) -> TokenType? {
    switch type {
    case .oBrace: .cBrace
    case .oBrack: .cBrack
    case .oParen: .cParen
    case .oQuote: .cQuote
    case .oHeredoc: .cHeredoc
    case .cBrace: .oBrace
    case .cBrack: .oBrack
    case .cParen: .oParen
    case .cQuote: .oQuote
    case .cHeredoc: .oHeredoc
    case .templateControl, .templateInterp: .templateSeqEnd
    case .templateSeqEnd: .templateInterp
    default: nil
    }
  }

  /// Skips to the token that closes the construct we are in (counting nested pairs), and
  /// returns it (or the end of the file).
  @discardableResult
  private mutating func recover(to end: TokenType) -> Token {
    let start = Parser.opposite(end)
    recovery = true
    var nest = 0
    while true {
      let token = read()
      var type = token.type
      if end == .templateSeqEnd && type == .templateControl { type = .templateInterp }
      if type == .eof { return token }
      if type == start {
        nest += 1
      } else if type == end {
        if nest < 1 { return token }
        nest -= 1
      }
    }
  }

  /// Skips to the end of the current body item: the next newline outside any brackets.
  private mutating func recoverAfterBodyItem() {
    recovery = true
    var open: [TokenType] = []
    while true {
      let token = read()
      switch token.type {
      case .newline where open.isEmpty, .eof:
        return
      case .oBrace, .oBrack, .oParen, .oQuote, .oHeredoc, .templateInterp, .templateControl:
        open.append(token.type)
      case .cBrace, .cBrack, .cParen, .cQuote, .cHeredoc:
        let opener = Parser.opposite(token.type)
        while let last = open.last, last != opener { open.removeLast() }
        if !open.isEmpty { open.removeLast() }
      case .templateSeqEnd:
        while let last = open.last, last != .templateInterp, last != .templateControl { open.removeLast() }
        if !open.isEmpty { open.removeLast() }
      default:
        continue
      }
    }
  }

  /// Reports nesting past `maximumDepth` once and abandons the rest of the input.
  private mutating func tooDeeplyNested(at range: HCLRange) {
    if !tooDeep {
      tooDeep = true
      report(
        "Too deeply nested", "This expression nests more than \(Parser.maximumDepth) levels deep, more than Kiln accepts.", range)
    }
    recovery = true
    nextIndex = tokens.count
  }

  // MARK: - Bodies

  mutating func parseBody(end: TokenType) -> NativeBody {
    var attributes: [Attribute] = []
    var attributeIndex: [String: Int] = [:]
    var blocks: [Block] = []
    let startRange = previousRange
    var endRange = startRange
    loop: while true {
      let next = peek()
      if next.type == end {
        endRange = nextRange
        read()
        break
      }
      switch next.type {
      case .newline:
        read()
      case .ident:
        switch parseBodyItem() {
        case .attribute(let attribute):
          if let existing = attributeIndex[attribute.name] {
            report(
              "Attribute redefined",
              "The argument \"\(attribute.name)\" was already set at \(attributes[existing].nameRange). Each argument may be set only once.",
              attribute.nameRange)
          } else {
            attributeIndex[attribute.name] = attributes.count
            attributes.append(attribute)
          }
        case .block(let block):
          blocks.append(block)
        case nil:
          continue
        }
      default:
        let bad = read()
        if !recovery {
          switch bad.type {
          case .oQuote:
            report("Invalid argument name", "Argument names must not be quoted.", bad.range)
          case .eof:
            if end == .cBrace {
              report(
                "Unclosed configuration block",
                "There is no closing brace for this block before the end of the file. This may be caused by incorrect brace nesting elsewhere in this file.",
                startRange)
            } else {
              report("Unclosed configuration body", "Found end of file before the end of this configuration body.", startRange)
            }
          default:
            report("Argument or block definition required", "An argument or block definition is required here.", bad.range)
          }
        }
        endRange = previousRange
        recover(to: end)
        break loop
      }
    }
    let range = HCLRange.between(startRange, endRange)
    return NativeBody(
      attributes: attributes, blocks: blocks, range: range,
      endRange: .empty(endRange.filename, at: endRange.end))
  }

  private enum BodyItem {
    case attribute(Attribute)
    case block(Block)
  }

  private mutating func parseBodyItem() -> BodyItem? {
    let ident = read()
    guard ident.type == .ident else {
      recoverAfterBodyItem()
      report("Argument or block definition required", "An argument or block definition is required here.", ident.range)
      return nil
    }
    switch peek().type {
    case .equal:
      return .attribute(finishAttribute(ident, singleLine: false))
    case .oQuote, .oBrace, .ident:
      return finishBlock(ident).map { .block($0) }
    default:
      recoverAfterBodyItem()
      report(
        "Argument or block definition required",
        "An argument or block definition is required here. To set an argument, use the equals sign \"=\" to introduce the argument value.",
        ident.range)
      return nil
    }
  }

  private mutating func finishAttribute(_ ident: Token, singleLine: Bool) -> Attribute {
    read() // =
    let before = diagnostics.count
    let expression = parseExpression()
    var endRange: HCLRange
    if recovery && diagnostics[before...].hasErrors {
      endRange = previousRange
      recoverAfterBodyItem()
    } else {
      endRange = previousRange
      if !singleLine {
        let end = peek()
        if end.type != .newline && end.type != .eof {
          if !recovery {
            var summary = "Missing newline after argument"
            var detail = "An argument definition must end with a newline."
            if end.type == .comma {
              summary = "Unexpected comma after argument"
              detail = "Argument definitions must be separated by newlines, not commas. " + detail
            }
            report(summary, detail, end.range, context: .between(ident.range, end.range))
          }
          endRange = previousRange
          recoverAfterBodyItem()
        } else {
          endRange = previousRange
          read()
        }
      }
    }
    return Attribute(
      name: ident.text, expression: .native(expression), range: .between(ident.range, endRange), nameRange: ident.range)
  }

  private mutating func finishBlock(_ ident: Token) -> Block? {
    var labels: [String] = []
    var labelRanges: [HCLRange] = []
    var openBrace: Token
    labelLoop: while true {
      let token = peek()
      switch token.type {
      case .oBrace:
        openBrace = read()
        break labelLoop
      case .oQuote:
        let (label, range) = parseQuotedStringLiteral()
        labels.append(label)
        labelRanges.append(range)
      case .ident:
        let label = read()
        labels.append(label.text)
        labelRanges.append(label.range)
      default:
        switch token.type {
        case .equal:
          report(
            "Invalid block definition",
            "The equals sign \"=\" indicates an argument definition, and must not be used when defining a block.",
            token.range, context: .between(ident.range, token.range))
        case .newline:
          report(
            "Invalid block definition",
            "A block definition must have block content delimited by \"{\" and \"}\", starting on the same line as the block header.",
            token.range, context: .between(ident.range, token.range))
        default:
          if !recovery {
            report(
              "Invalid block definition", "Either a quoted string block label or an opening brace (\"{\") is expected here.",
              token.range, context: .between(ident.range, token.range))
          }
        }
        recoverAfterBodyItem()
        let empty = NativeBody(attributes: [], blocks: [], range: ident.range, endRange: ident.range)
        return Block(
          type: ident.text, labels: labels, body: .native(empty), typeRange: ident.range, labelRanges: labelRanges,
          openBraceRange: ident.range, closeBraceRange: ident.range)
      }
    }
    var body: NativeBody?
    depth += 1
    defer { depth -= 1 }
    if depth > Parser.maximumDepth || tooDeep {
      tooDeeplyNested(at: ident.range)
      return nil
    }
    switch peek().type {
    case .newline, .eof, .cBrace:
      body = parseBody(end: .cBrace)
    default:
      body = parseSingleAttributeBody()
      switch peek().type {
      case .cBrace:
        read()
      case .comma:
        report(
          "Invalid single-argument block definition",
          "Single-line block syntax can include only one argument definition. To define multiple arguments, use the multi-line block syntax with one argument definition per line.",
          peek().range)
        recover(to: .cBrace)
      case .newline:
        report(
          "Invalid single-argument block definition",
          "An argument definition on the same line as its containing block creates a single-line block definition, which must also be closed on the same line. Place the block's closing brace immediately after the argument definition.",
          peek().range)
        recover(to: .cBrace)
      default:
        if !recovery {
          if peek().type == .eof {
            report(
              "Unclosed configuration block",
              "There is no closing brace for this block before the end of the file. This may be caused by incorrect brace nesting elsewhere in this file.",
              openBrace.range, context: .between(ident.range, openBrace.range))
          } else {
            report(
              "Invalid single-argument block definition",
              "A single-line block definition must end with a closing brace immediately after its single argument definition.",
              peek().range)
          }
        }
        recover(to: .cBrace)
      }
    }
    let closeRange = previousRange
    let eol = peek()
    if eol.type == .newline || eol.type == .eof {
      read()
    } else {
      if !recovery {
        report(
          "Missing newline after block definition", "A block definition must end with a newline.", eol.range,
          context: .between(ident.range, eol.range))
      }
      recoverAfterBodyItem()
    }
    let finalBody = body ?? NativeBody(attributes: [], blocks: [], range: .between(openBrace.range, closeRange), endRange: closeRange)
    return Block(
      type: ident.text, labels: labels, body: .native(finalBody), typeRange: ident.range, labelRanges: labelRanges,
      openBraceRange: openBrace.range, closeBraceRange: closeRange)
  }

  /// `name { key = value }` on one line.
  private mutating func parseSingleAttributeBody() -> NativeBody? {
    let ident = read()
    guard ident.type == .ident else {
      recoverAfterBodyItem()
      report("Argument or block definition required", "An argument or block definition is required here.", ident.range)
      return nil
    }
    let next = peek()
    switch next.type {
    case .equal:
      let attribute = finishAttribute(ident, singleLine: true)
      return NativeBody(
        attributes: [attribute], blocks: [], range: attribute.range, endRange: .empty(attribute.range.filename, at: attribute.range.end))
    case .oQuote, .oBrace, .ident:
      recoverAfterBodyItem()
      report(
        "Argument definition required",
        "A single-line block definition can contain only a single argument. If you meant to define argument \"\(ident.text)\", use an equals sign to assign it a value. To define a nested block, place it on a line of its own within its parent block.",
        .between(ident.range, next.range))
      return nil
    default:
      recoverAfterBodyItem()
      report(
        "Argument or block definition required",
        "An argument or block definition is required here. To set an argument, use the equals sign \"=\" to introduce the argument value.",
        ident.range)
      return nil
    }
  }

  // MARK: - Expressions

  mutating func parseExpression() -> Expression {
    parseConditional()
  }

  private mutating func parseConditional() -> Expression {
    let startRange = nextRange
    let before = diagnostics.count
    let condition = parseBinary(level: 0)
    if recovery && diagnostics[before...].hasErrors { return condition }
    guard peek().type == .question else { return condition }
    read()
    // The branches nest without passing through a term: count them here.
    depth += 1
    defer { depth -= 1 }
    if depth > Parser.maximumDepth || tooDeep {
      tooDeeplyNested(at: nextRange)
      return condition
    }
    let trueBefore = diagnostics.count
    let whenTrue = parseExpression()
    if recovery && diagnostics[trueBefore...].hasErrors { return condition }
    let colon = peek()
    guard colon.type == .colon else {
      report(
        "Missing false expression in conditional",
        "The conditional operator (...?...:...) requires a false expression, delimited by a colon.", colon.range,
        context: .between(startRange, colon.range))
      return condition
    }
    read()
    let falseBefore = diagnostics.count
    let whenFalse = parseExpression()
    if recovery && diagnostics[falseBefore...].hasErrors { return condition }
    return checkedDepth(
      Expression(
        .conditional(condition: condition, whenTrue: whenTrue, whenFalse: whenFalse),
        range: .between(startRange, whenFalse.range), startRange: condition.startRange))
  }

  private static let binaryLevels: [[TokenType: BinaryOperator]] = [
    [.or: .or],
    [.and: .and],
    [.equalOp: .equal, .notEqual: .notEqual],
    [.greaterThan: .greaterThan, .greaterThanEq: .greaterThanOrEqual, .lessThan: .lessThan, .lessThanEq: .lessThanOrEqual],
    [.plus: .add, .minus: .subtract],
    [.star: .multiply, .slash: .divide, .percent: .modulo],
  ]

  /// Precedence climbing over `binaryLevels` (left-associative within a level), in one
  /// frame per operand rather than one per level, so that nesting costs little stack.
  private mutating func parseBinary(level: Int) -> Expression {
    let before = diagnostics.count
    var lhs = parseExpressionWithTraversals()
    if recovery && diagnostics[before...].hasErrors { return lhs }
    while true {
      let next = peek().type
      guard let operatorLevel = Parser.binaryLevels.firstIndex(where: { $0[next] != nil }), operatorLevel >= level,
        let operation = Parser.binaryLevels[operatorLevel][next]
      else { return lhs }
      read()
      let rhsBefore = diagnostics.count
      let rhs = parseBinary(level: operatorLevel + 1)
      if recovery && diagnostics[rhsBefore...].hasErrors { return lhs }
      lhs = checkedDepth(Expression(.binary(operation, lhs, rhs), range: .between(lhs.range, rhs.range), startRange: lhs.startRange))
      if tooDeep { return lhs }
    }
  }

  private mutating func checkedDepth(_ expression: Expression) -> Expression {
    if expression.depth > Parser.maximumTreeDepth {
      tooDeeplyNested(at: expression.range)
      return .placeholder(expression.range)
    }
    return expression
  }

  private mutating func parseExpressionWithTraversals() -> Expression {
    let term = parseExpressionTerm()
    return parseTraversals(from: term)
  }

  /// Appends a constant step to a traversal expression, or starts a relative one.
  private func appending(_ step: TraversalStep, to expression: Expression) -> Expression {
    switch expression.kind {
    case .scopeTraversal(let root, let rootRange, let steps):
      return Expression(.scopeTraversal(root: root, rootRange: rootRange, steps: steps + [step]), range: .between(expression.range, step.range))
    case .relativeTraversal(let source, let steps):
      return Expression(.relativeTraversal(source: source, steps: steps + [step]), range: .between(expression.range, step.range))
    default:
      return Expression(.relativeTraversal(source: expression, steps: [step]), range: .between(expression.range, step.range))
    }
  }

  private mutating func numberLiteralValue(_ token: Token) -> HCLValue {
    guard let number = HCLNumber(parsing: token.text) else {
      report("Invalid number literal", "Failed to recognize the value of this number literal.", token.range)
      return .unknown(.number)
    }
    return .number(number)
  }

  private mutating func parseTraversals(from source: Expression) -> Expression {
    var result = source
    if depth > Parser.maximumDepth || tooDeep {
      if !tooDeep { tooDeeplyNested(at: source.range) }
      return .placeholder(source.range)
    }
    traversal: while true {
      if result.depth > Parser.maximumTreeDepth || tooDeep {
        if !tooDeep { tooDeeplyNested(at: result.range) }
        return .placeholder(result.range)
      }
      let next = peek()
      switch next.type {
      case .dot:
        let dot = read()
        let attributeToken = peek()
        switch attributeToken.type {
        case .ident:
          read()
          let range = HCLRange.between(dot.range, attributeToken.range)
          result = appending(.attribute(attributeToken.text, range), to: result)
        case .numberLit:
          let number = read()
          let range = HCLRange.between(dot.range, number.range)
          if let dotIndex = number.bytes.firstIndex(of: UInt8(ascii: ".")) {
            let first = String(decoding: number.bytes[..<dotIndex], as: UTF8.self)
            let second = String(decoding: number.bytes[(dotIndex + 1)...], as: UTF8.self)
            report(
              "Invalid legacy index syntax",
              "When using the legacy index syntax, chaining two indexes together is not permitted. Use the proper index syntax instead, like [\(first)][\(second)].",
              number.range)
            result = appending(.index(.dynamicUnknown, range), to: result)
          } else {
            result = appending(.index(numberLiteralValue(number), range), to: result)
          }
        case .star:
          let marker = read()
          var steps: [TraversalStep] = []
          let firstRange = nextRange
          var lastRange = marker.range
          while peek().type == .dot {
            let stepDot = read()
            if peek().type == .numberLit {
              let number = read()
              let range = HCLRange.between(stepDot.range, number.range)
              if let dotIndex = number.bytes.firstIndex(of: UInt8(ascii: ".")) {
                let first = String(decoding: number.bytes[..<dotIndex], as: UTF8.self)
                let second = String(decoding: number.bytes[(dotIndex + 1)...], as: UTF8.self)
                report(
                  "Invalid legacy index syntax",
                  "When using the legacy index syntax, chaining two indexes together is not permitted. Use the proper index syntax with a full splat expression [*] instead, like [\(first)][\(second)].",
                  attributeToken.range)
                steps.append(.index(.dynamicUnknown, range))
              } else {
                steps.append(.index(numberLiteralValue(number), range))
              }
              lastRange = number.range
              continue
            }
            guard peek().type == .ident else {
              if !recovery {
                if peek().type == .star {
                  report(
                    "Nested splat expression not allowed",
                    "A splat expression (*) cannot be used inside another attribute-only splat expression.", peek().range)
                } else {
                  report("Invalid attribute name", "An attribute name is required after a dot.", attributeToken.range)
                }
              }
              setRecovery()
              continue traversal
            }
            let name = read()
            steps.append(.attribute(name.text, .between(stepDot.range, name.range)))
            lastRange = name.range
          }
          let id = nextAnonymousID
          nextAnonymousID += 1
          let item = Expression(.anonymous(id: id), range: .between(dot.range, marker.range))
          let each = steps.isEmpty ? item : Expression(.relativeTraversal(source: item, steps: steps), range: .between(firstRange, lastRange))
          let markerRange = HCLRange.between(dot.range, marker.range)
          result = Expression(
            .splat(source: result, each: each, itemID: id), range: .between(source.range, lastRange), startRange: markerRange)
        default:
          report("Invalid attribute name", "An attribute name is required after a dot.", attributeToken.range)
          setRecovery()
        }
      case .oBrack:
        let open = read()
        if peek().type == .star {
          read()
          var close = read()
          if close.type != .cBrack && !recovery {
            report(
              "Missing close bracket on splat index",
              "The star for a full splat operator must be immediately followed by a closing bracket (\"]\").", close.range)
            close = recover(to: .cBrack)
          }
          let id = nextAnonymousID
          nextAnonymousID += 1
          let markerRange = HCLRange.between(open.range, close.range)
          let item = Expression(.anonymous(id: id), range: markerRange)
          depth += 1
          let each = parseTraversals(from: item)
          depth -= 1
          result = Expression(.splat(source: result, each: each, itemID: id), range: .between(source.range, each.range), startRange: markerRange)
        } else {
          pushNewlines(false)
          let before = diagnostics.count
          let key = parseExpression()
          var close: Token
          if recovery && diagnostics[before...].hasErrors {
            close = recover(to: .cBrack)
          } else {
            close = read()
            if close.type != .cBrack && !recovery {
              report("Missing close bracket on index", "The index operator must end with a closing bracket (\"]\").", close.range)
              close = recover(to: .cBrack)
            }
          }
          popNewlines()
          let range = HCLRange.between(open.range, close.range)
          if case .literal(let value) = key.kind {
            result = appending(.index(value, range), to: result)
          } else if let text = key.literalString {
            result = appending(.index(.string(text), range), to: result)
          } else {
            result = Expression(
              .index(collection: result, key: key, bracketRange: range), range: .between(source.range, range), startRange: open.range)
          }
        }
      default:
        break traversal
      }
    }
    return result
  }

  private mutating func parseExpressionTerm() -> Expression {
    depth += 1
    defer { depth -= 1 }
    let start = peek()
    if depth > Parser.maximumDepth || tooDeep {
      tooDeeplyNested(at: start.range)
      return .placeholder(start.range)
    }
    switch start.type {
    case .oParen:
      let open = read()
      pushNewlines(false)
      let before = diagnostics.count
      let inner = parseExpression()
      if diagnostics[before...].hasErrors {
        recover(to: .cParen)
        popNewlines()
        return inner
      }
      let close = peek()
      if close.type != .cParen {
        report(
          "Unbalanced parentheses", "Expected a closing parenthesis to terminate the expression.", close.range,
          context: .between(start.range, close.range))
        setRecovery()
      }
      let closeToken = read()
      popNewlines()
      return Expression(.parentheses(inner), range: .between(open.range, closeToken.range), startRange: inner.startRange)
    case .numberLit:
      let token = read()
      return Expression(.literal(numberLiteralValue(token)), range: token.range)
    case .ident:
      let token = read()
      if peek().type == .oParen { return finishFunctionCall(token) }
      switch token.text {
      case "true": return Expression(.literal(.bool(true)), range: token.range)
      case "false": return Expression(.literal(.bool(false)), range: token.range)
      case "null": return Expression(.literal(.dynamicNull), range: token.range)
      default: return Expression(.scopeTraversal(root: token.text, rootRange: token.range, steps: []), range: token.range)
      }
    case .oQuote, .oHeredoc:
      let open = read()
      let closer: TokenType = open.type == .oQuote ? .cQuote : .cHeredoc
      let flush = open.type == .oHeredoc && open.bytes.starts(with: Array("<<-".utf8))
      let (parts, passthrough, _) = parseTemplateInner(end: closer, flush: flush)
      let range = HCLRange.between(open.range, previousRange)
      if passthrough, let only = parts.first {
        return Expression(.templateWrap(only), range: range)
      }
      return Expression(.template(parts), range: range, startRange: parts.first?.startRange)
    case .minus, .bang:
      let token = read()
      let operand = parseExpressionWithTraversals()
      return checkedDepth(
        Expression(
          .unary(token.type == .minus ? .negate : .not, operand), range: .between(token.range, operand.range), startRange: token.range))
    case .oBrack:
      return parseTuple()
    case .oBrace:
      return parseObject()
    default:
      if !recovery {
        if start.type == .eof {
          report("Missing expression", "Expected the start of an expression, but found the end of the file.", start.range)
        } else {
          report("Invalid expression", "Expected the start of an expression, but found an invalid expression token.", start.range)
        }
      }
      setRecovery()
      return .placeholder(start.range)
    }
  }

  private mutating func finishFunctionCall(_ name: Token) -> Expression {
    let open = read()
    var arguments: [Expression] = []
    var expandFinal = false
    var close: Token = open
    pushNewlines(false)
    loop: while true {
      if peek().type == .cParen {
        close = read()
        break
      }
      let before = diagnostics.count
      let argument = parseExpression()
      arguments.append(argument)
      if recovery && diagnostics[before...].hasErrors {
        close = recover(to: .cParen)
        break
      }
      let separator = read()
      switch separator.type {
      case .cParen:
        close = separator
        break loop
      case .ellipsis:
        expandFinal = true
        if peek().type != .cParen {
          if !recovery {
            report(
              "Missing closing parenthesis",
              "An expanded function argument (with ...) must be immediately followed by closing parentheses.", separator.range,
              context: .between(name.range, separator.range))
          }
          close = recover(to: .cParen)
        } else {
          close = read()
        }
        break loop
      case .comma:
        if peek().type == .cParen {
          close = read()
          break loop
        }
      case .eof:
        report(
          "Unterminated function call",
          "There is no closing parenthesis for this function call before the end of the file. This may be caused by incorrect parethesis nesting elsewhere in this file.",
          .between(name.range, open.range))
        close = recover(to: .cParen)
        break loop
      default:
        report(
          "Missing argument separator", "A comma is required to separate each function argument from the next.", separator.range,
          context: .between(name.range, separator.range))
        close = recover(to: .cParen)
        break loop
      }
    }
    popNewlines()
    let call = Expression.FunctionCall(
      name: name.text, nameRange: name.range, arguments: arguments, expandFinal: expandFinal, openParenRange: open.range,
      closeParenRange: close.range)
    return Expression(.functionCall(call), range: .between(name.range, close.range), startRange: .between(name.range, open.range))
  }

  private func isKeyword(_ token: Token, _ word: String) -> Bool {
    token.type == .ident && token.bytes.elementsEqual(word.utf8)
  }

  private mutating func parseTuple() -> Expression {
    let open = read()
    pushNewlines(false)
    defer { popNewlines() }
    if isKeyword(peek(), "for") { return finishFor(open) }
    var elements: [Expression] = []
    var close: Token
    while true {
      if peek().type == .cBrack {
        close = read()
        break
      }
      let before = diagnostics.count
      elements.append(parseExpression())
      if recovery && diagnostics[before...].hasErrors {
        close = recover(to: .cBrack)
        break
      }
      let next = peek()
      if next.type == .cBrack {
        close = read()
        break
      }
      if next.type != .comma {
        if !recovery {
          if next.type == .eof {
            report(
              "Unterminated tuple constructor expression",
              "There is no corresponding closing bracket before the end of the file. This may be caused by incorrect bracket nesting elsewhere in this file.",
              open.range)
          } else {
            report(
              "Missing item separator", "Expected a comma to mark the beginning of the next item.", next.range,
              context: .between(open.range, next.range))
          }
        }
        close = recover(to: .cBrack)
        break
      }
      read()
    }
    return Expression(.tuple(elements), range: .between(open.range, close.range), startRange: open.range)
  }

  private mutating func parseObject() -> Expression {
    let open = read()
    pushNewlines(false)
    let isFor = isKeyword(peek(), "for")
    popNewlines()
    if isFor {
      pushNewlines(false)
      defer { popNewlines() }
      return finishFor(open)
    }
    pushNewlines(true)
    defer { popNewlines() }
    var items: [Expression.ObjectItem] = []
    var close: Token
    while true {
      var next = peek()
      if next.type == .newline {
        read()
        continue
      }
      if next.type == .cBrace {
        close = read()
        break
      }
      let forceNonLiteral = next.type == .oParen
      let before = diagnostics.count
      let rawKey = parseExpression()
      if recovery && diagnostics[before...].hasErrors {
        close = recover(to: .cBrace)
        break
      }
      let key = Expression(.objectKey(rawKey, forceNonLiteral: forceNonLiteral), range: rawKey.range, startRange: rawKey.startRange)
      next = peek()
      if next.type != .equal && next.type != .colon {
        if !recovery {
          switch next.type {
          case .newline, .comma:
            report(
              "Missing attribute value", "Expected an attribute value, introduced by an equals sign (\"=\").", next.range,
              context: .between(open.range, next.range))
          case .ident:
            report(
              "Missing key/value separator",
              "Expected an equals sign (\"=\") to mark the beginning of the attribute value. If you intended to given an attribute name containing periods or spaces, write the name in quotes to create a string literal.",
              next.range, context: .between(open.range, next.range))
          case .eof:
            report(
              "Unterminated object constructor expression",
              "There is no corresponding closing brace before the end of the file. This may be caused by incorrect brace nesting elsewhere in this file.",
              open.range)
          default:
            report(
              "Missing key/value separator", "Expected an equals sign (\"=\") to mark the beginning of the attribute value.",
              next.range, context: .between(open.range, next.range))
          }
        }
        close = recover(to: .cBrace)
        break
      }
      read()
      let valueBefore = diagnostics.count
      let value = parseExpression()
      if recovery && diagnostics[valueBefore...].hasErrors {
        close = recover(to: .cBrace)
        break
      }
      items.append(Expression.ObjectItem(key: key, value: value))
      next = peek()
      if next.type == .cBrace {
        close = read()
        break
      }
      if next.type != .comma && next.type != .newline {
        if !recovery {
          if next.type == .eof {
            report(
              "Unterminated object constructor expression",
              "There is no corresponding closing brace before the end of the file. This may be caused by incorrect brace nesting elsewhere in this file.",
              open.range)
          } else {
            report(
              "Missing attribute separator", "Expected a newline or comma to mark the beginning of the next attribute.", next.range,
              context: .between(open.range, next.range))
          }
        }
        close = recover(to: .cBrace)
        break
      }
      read()
    }
    return Expression(.object(items), range: .between(open.range, close.range), startRange: open.range)
  }

  private mutating func finishFor(_ open: Token) -> Expression {
    pushNewlines(false)
    defer { popNewlines() }
    read() // for
    let makeObject = open.type == .oBrace
    let closeType: TokenType = makeObject ? .cBrace : .cBrack
    func fail(_ detail: String) -> Expression {
      if !recovery {
        report("Invalid 'for' expression", detail, peek().range, context: .between(open.range, peek().range))
      }
      let close = recover(to: closeType)
      return .placeholder(.between(open.range, close.range))
    }
    guard peek().type == .ident else { return fail("For expression requires variable name after 'for'.") }
    var valueName = read().text
    var keyName: String?
    if peek().type == .comma {
      keyName = valueName
      read()
      guard peek().type == .ident else { return fail("For expression requires value variable name after comma.") }
      valueName = read().text
    }
    guard isKeyword(peek(), "in") else { return fail("For expression requires the 'in' keyword after its name declarations.") }
    read()
    let collectionBefore = diagnostics.count
    let collection = parseExpression()
    if recovery && diagnostics[collectionBefore...].hasErrors {
      let close = recover(to: closeType)
      return .placeholder(.between(open.range, close.range))
    }
    guard peek().type == .colon else { return fail("For expression requires a colon after the collection expression.") }
    read()
    let valueBefore = diagnostics.count
    var value = parseExpression()
    var key: Expression?
    if peek().type == .fatArrow {
      read()
      key = value
      value = parseExpression()
    }
    if recovery && diagnostics[valueBefore...].hasErrors {
      let close = recover(to: closeType)
      return .placeholder(.between(open.range, close.range))
    }
    var grouping = false
    var ellipsisRange: HCLRange?
    if peek().type == .ellipsis {
      ellipsisRange = read().range
      grouping = true
    }
    var condition: Expression?
    if isKeyword(peek(), "if") {
      read()
      let conditionBefore = diagnostics.count
      condition = parseExpression()
      if recovery && diagnostics[conditionBefore...].hasErrors {
        let close = recover(to: closeType)
        return .placeholder(.between(open.range, close.range))
      }
    }
    var close: Token
    if peek().type == closeType {
      close = read()
    } else {
      if !recovery {
        report(
          "Invalid 'for' expression", "Extra characters after the end of the 'for' expression.", peek().range,
          context: .between(open.range, peek().range))
      }
      close = recover(to: closeType)
    }
    let whole = HCLRange.between(open.range, close.range)
    if !makeObject {
      if let key {
        report("Invalid 'for' expression", "Key expression is not valid when building a tuple.", key.range, context: whole)
      }
      if grouping, let ellipsisRange {
        report("Invalid 'for' expression", "Grouping ellipsis (...) cannot be used when building a tuple.", ellipsisRange, context: whole)
      }
    } else if key == nil {
      report("Invalid 'for' expression", "Key expression is required when building an object.", value.range, context: whole)
    }
    let clause = Expression.ForClause(
      keyVariable: keyName, valueVariable: valueName, collection: collection, key: key, value: value, condition: condition,
      grouping: grouping, openRange: open.range, closeRange: close.range)
    return checkedDepth(Expression(.forExpression(clause), range: whole, startRange: open.range))
  }

  /// A quoted string where templates are not allowed (a block label).
  private mutating func parseQuotedStringLiteral() -> (String, HCLRange) {
    let open = read()
    var text = ""
    var endRange = open.range
    loop: while true {
      let token = read()
      switch token.type {
      case .cQuote:
        endRange = token.range
        break loop
      case .quotedLit:
        text += decodeLiteral(token, quoted: true)
      case .templateControl, .templateInterp:
        let which = token.type == .templateControl ? "%" : "$"
        report(
          "Invalid string literal",
          "Template sequences are not allowed in this string. To include a literal \"\(which)\", double it (as \"\(which)\(which)\") to escape it.",
          token.range, context: .between(open.range, token.range))
        text += which + "{ ... }"
        recover(to: .templateSeqEnd)
      case .eof:
        report(
          "Unterminated string literal", "Unable to find the closing quote mark before the end of the file.", token.range,
          context: .between(open.range, token.range))
        endRange = token.range
        break loop
      default:
        report(
          "Invalid string literal", "This item is not valid in a string literal.", token.range,
          context: .between(open.range, token.range))
        recover(to: .cQuote)
        endRange = token.range
        break loop
      }
    }
    return (UnicodeNFC.normalize(text), .between(open.range, endRange))
  }

  /// The text of a literal token: escapes decoded (in quoted strings), `$${` and `%%{` to
  /// `${` and `%{`.
  private mutating func decodeLiteral(_ token: Token, quoted: Bool) -> String {
    let bytes = Array(token.bytes)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var index = 0
    func rangeOf(_ start: Int, _ end: Int) -> HCLRange {
      let before = String(decoding: bytes[0..<start], as: UTF8.self).count
      let inside = String(decoding: bytes[start..<end], as: UTF8.self).count
      var range = token.range
      range.start.byte += start
      range.start.column += before
      range.end = range.start
      range.end.byte += end - start
      range.end.column += inside
      return range
    }
    func isHex(_ byte: UInt8) -> Bool {
      (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
        || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
    }
    while index < bytes.count {
      let byte = bytes[index]
      if (byte == UInt8(ascii: "$") || byte == UInt8(ascii: "%")) && index + 2 < bytes.count && bytes[index + 1] == byte
        && bytes[index + 2] == UInt8(ascii: "{")
      {
        out.append(byte)
        out.append(UInt8(ascii: "{"))
        index += 3
        continue
      }
      guard quoted, byte == UInt8(ascii: "\\") else {
        out.append(byte)
        index += 1
        continue
      }
      guard index + 1 < bytes.count else {
        report("Invalid escape sequence", "Backslash must be followed by an escape sequence selector character.", rangeOf(index, index + 1))
        index += 1
        continue
      }
      let selector = bytes[index + 1]
      switch selector {
      case UInt8(ascii: "n"): out.append(UInt8(ascii: "\n"))
      case UInt8(ascii: "r"): out.append(UInt8(ascii: "\r"))
      case UInt8(ascii: "t"): out.append(UInt8(ascii: "\t"))
      case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
      case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
      case UInt8(ascii: "u"), UInt8(ascii: "U"):
        let wanted = selector == UInt8(ascii: "u") ? 4 : 8
        var end = index + 2
        while end < bytes.count, end - index - 2 < wanted, isHex(bytes[end]) { end += 1 }
        if end - index - 2 != wanted {
          report(
            "Invalid escape sequence",
            "The \\\(selector == UInt8(ascii: "u") ? "u" : "U") escape sequence must be followed by \(wanted == 4 ? "four" : "eight") hexadecimal digits.",
            rangeOf(index, end))
          out.append(contentsOf: bytes[index..<end])
          index = end
          continue
        }
        let hex = String(decoding: bytes[(index + 2)..<end], as: UTF8.self)
        if let value = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(value) {
          out.append(contentsOf: Array(String(scalar).utf8))
        } else {
          report("Invalid escape sequence", "Cannot encode character U+\(hex) in UTF-8.", rangeOf(index, end))
        }
        index = end
        continue
      default:
        let length = Scanner.scalarLength(bytes, index + 1)
        let symbol = String(decoding: bytes[(index + 1)..<(index + 1 + length)], as: UTF8.self)
        report("Invalid escape sequence", "The symbol \"\(symbol)\" is not a valid escape sequence selector.", rangeOf(index, index + 1 + length))
        out.append(contentsOf: bytes[(index + 1)..<(index + 1 + length)])
        index += 1 + length
        continue
      }
      index += 2
    }
    return String(decoding: out, as: UTF8.self)
  }

  // MARK: - Templates

  private enum TemplatePart {
    case literal(String, HCLRange)
    case interpolation(Expression, HCLRange)
    case ifDirective(Expression, HCLRange)
    case forDirective(key: String?, value: String, collection: Expression, HCLRange)
    case endDirective(EndDirective, HCLRange)
    case end(HCLRange)

    var range: HCLRange {
      switch self {
      case .literal(_, let r), .interpolation(_, let r), .ifDirective(_, let r), .forDirective(_, _, _, let r), .endDirective(_, let r),
        .end(let r):
        r
      }
    }
  }

  private enum EndDirective: String {
    case `else`, endif, endfor
  }

  mutating func parseTemplate(end: TokenType, flush: Bool) -> Expression {
    let (parts, passthrough, range) = parseTemplateInner(end: end, flush: flush)
    if passthrough, let only = parts.first { return Expression(.templateWrap(only), range: range) }
    return Expression(.template(parts), range: range, startRange: parts.first?.startRange)
  }

  private mutating func parseTemplateInner(end: TokenType, flush: Bool) -> ([Expression], Bool, HCLRange) {
    var (parts, range) = parseTemplateParts(end: end)
    if flush { Parser.flushHeredoc(&parts) }
    var index = 0
    var expressions: [Expression] = []
    while true {
      if case .end = parts[index] { break }
      expressions.append(parseTemplateExpression(parts, &index, depth: 0))
    }
    var passthrough = false
    if parts.count == 2, case .interpolation = parts[0] { passthrough = true }
    return (expressions, passthrough, range)
  }

  private mutating func parseTemplateParts(end: TokenType) -> ([TemplatePart], HCLRange) {
    var parts: [TemplatePart] = []
    let startRange = nextRange
    var trimNext = false
    var nextCanTrimPrevious = false
    var endRange = startRange
    loop: while true {
      let next = read()
      if next.type == end {
        endRange = next.range
        break
      }
      let trim = trimNext
      trimNext = false
      let canTrimPrevious = nextCanTrimPrevious
      nextCanTrimPrevious = false
      switch next.type {
      case .stringLit, .quotedLit:
        var text = decodeLiteral(next, quoted: next.type == .quotedLit)
        if trim { text = String(text.unicodeScalars.drop(while: { $0.properties.isWhitespace }).map(Character.init)) }
        parts.append(.literal(text, next.range))
        nextCanTrimPrevious = true
      case .templateInterp:
        if canTrimPrevious, next.bytes.count == 3, next.bytes.last == UInt8(ascii: "~") { Parser.trimLastLiteral(&parts) }
        pushNewlines(false)
        let expression = parseExpression()
        let close = peek()
        if close.type != .templateSeqEnd {
          if !recovery {
            switch close.type {
            case .eof:
              report(
                "Unclosed template interpolation sequence",
                "There is no closing brace for this interpolation sequence before the end of the file. This might be caused by incorrect nesting inside the given expression.",
                startRange)
            case .colon:
              report(
                "Extra characters after interpolation expression",
                "Template interpolation doesn't expect a colon at this location. Did you intend this to be a literal sequence to be processed as part of another language? If so, you can escape it by starting with \"$${\" instead of just \"${\".",
                close.range, context: .between(startRange, close.range))
            default:
              if (close.type == .cQuote || close.type == .oQuote) && end == .cQuote {
                report(
                  "Unclosed template interpolation sequence",
                  "There is no closing brace for this interpolation sequence before the end of the quoted template. This might be caused by incorrect nesting inside the given expression.",
                  startRange)
              } else {
                report(
                  "Extra characters after interpolation expression",
                  "Expected a closing brace to end the interpolation expression, but found extra characters.\n\nThis can happen when you include interpolation syntax for another language, such as shell scripting, but forget to escape the interpolation start token. If this is an embedded sequence for another language, escape it by starting with \"$${\" instead of just \"${\".",
                  close.range, context: .between(startRange, close.range))
              }
            }
          }
          recover(to: .templateSeqEnd)
        } else {
          read()
          if close.bytes.count == 2 && close.bytes.first == UInt8(ascii: "~") { trimNext = true }
        }
        popNewlines()
        parts.append(.interpolation(expression, .between(next.range, close.range)))
      case .templateControl:
        if canTrimPrevious, next.bytes.count == 3, next.bytes.last == UInt8(ascii: "~") { Parser.trimLastLiteral(&parts) }
        pushNewlines(false)
        let keyword = peek()
        guard keyword.type == .ident else {
          if !recovery {
            report(
              "Invalid template directive",
              "A template directive keyword (\"if\", \"for\", etc) is expected at the beginning of a %{ sequence.", keyword.range,
              context: .between(next.range, keyword.range))
          }
          recover(to: .templateSeqEnd)
          popNewlines()
          continue loop
        }
        read()
        switch keyword.text {
        case "if":
          let condition = parseExpression()
          parts.append(.ifDirective(condition, .between(next.range, nextRange)))
        case "else", "endif", "endfor":
          parts.append(.endDirective(EndDirective(rawValue: keyword.text) ?? .else, .between(next.range, nextRange)))
        case "for":
          func failFor(_ detail: String) {
            if !recovery { report("Invalid 'for' directive", detail, peek().range) }
            recover(to: .templateSeqEnd)
            popNewlines()
          }
          guard peek().type == .ident else {
            failFor("For directive requires variable name after 'for'.")
            continue loop
          }
          var valueName = read().text
          var keyName: String?
          if peek().type == .comma {
            keyName = valueName
            read()
            guard peek().type == .ident else {
              failFor("For directive requires value variable name after comma.")
              continue loop
            }
            valueName = read().text
          }
          guard isKeyword(peek(), "in") else {
            failFor("For directive requires 'in' keyword after names.")
            continue loop
          }
          read()
          let collection = parseExpression()
          parts.append(.forDirective(key: keyName, value: valueName, collection: collection, .between(next.range, nextRange)))
        default:
          if !recovery {
            let suggestion = Suggestions.closest(keyword.text, among: ["if", "for", "else", "endif", "endfor"])
            report(
              "Invalid template control keyword",
              "\"\(keyword.text)\" is not a valid template control keyword.\(suggestion.map { " Did you mean \"\($0)\"?" } ?? "")",
              keyword.range, context: .between(next.range, keyword.range))
          }
          recover(to: .templateSeqEnd)
          popNewlines()
          continue loop
        }
        let close = peek()
        if close.type != .templateSeqEnd {
          if !recovery {
            report(
              "Extra characters in \(keyword.text) marker", "Expected a closing brace to end the sequence, but found extra characters.",
              close.range, context: .between(startRange, close.range))
          }
          recover(to: .templateSeqEnd)
        } else {
          read()
          if close.bytes.count == 2 && close.bytes.first == UInt8(ascii: "~") { trimNext = true }
        }
        popNewlines()
      default:
        if !recovery {
          report(
            "Unterminated template string", "No closing marker was found for the string.", next.range,
            context: .between(startRange, next.range))
        }
        let final = recover(to: end)
        endRange = final.range
        break loop
      }
    }
    if parts.isEmpty { parts.append(.literal("", .empty(startRange.filename, at: startRange.end))) }
    parts.append(.end(endRange))
    return (parts, .between(startRange, endRange))
  }

  private static func trimLastLiteral(_ parts: inout [TemplatePart]) {
    guard case .literal(let text, let range) = parts.last else { return }
    var scalars = Array(text.unicodeScalars)
    while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
    parts[parts.count - 1] = .literal(String(String.UnicodeScalarView(scalars)), range)
  }

  /// `<<-`: removes from every line-leading literal the smallest indentation of the lines that
  /// have text (an interpolation at a line's start counts as no indentation).
  private static func flushHeredoc(_ parts: inout [TemplatePart]) {
    var minimum = Int.max
    var newline = true
    var adjust: [Int] = []
    for (index, part) in parts.enumerated() {
      if newline {
        newline = false
        var spaces = 0
        if case .literal(let text, _) = part {
          let leading = text.unicodeScalars.prefix(while: { $0.properties.isWhitespace })
          let rest = text.unicodeScalars.dropFirst(leading.count)
          if rest.isEmpty && text.hasSuffix("\n") {
            spaces = Int.max
          } else {
            spaces = String(String.UnicodeScalarView(leading)).count
            adjust.append(index)
          }
        } else if case .end = part {
          break
        }
        minimum = min(minimum, spaces)
      }
      if case .literal(let text, _) = part, text.hasSuffix("\n") { newline = true }
    }
    guard minimum != Int.max else { return }
    for index in adjust {
      guard case .literal(let text, var range) = parts[index] else { continue }
      let kept = String(text.dropFirst(minimum))
      range.start.column += minimum
      range.start.byte += text.utf8.count - kept.utf8.count
      parts[index] = .literal(kept, range)
    }
  }

  private mutating func parseTemplateExpression(_ parts: [TemplatePart], _ index: inout Int, depth: Int) -> Expression {
    let part = parts[index]
    if depth > Parser.maximumDepth {
      tooDeeplyNested(at: part.range)
      while index < parts.count - 1 { index += 1 }
      return .placeholder(part.range)
    }
    switch part {
    case .literal(let text, let range):
      index += 1
      return Expression(.literal(.normalized(text)), range: range)
    case .interpolation(let expression, _):
      index += 1
      return expression
    case .ifDirective(let condition, let openRange):
      index += 1
      var ifParts: [Expression] = []
      var elseParts: [Expression] = []
      var inElse = false
      var endifRange = openRange
      loop: while true {
        switch parts[index] {
        case .end(let range):
          report(
            "Unexpected end of template", "The if directive at \(openRange) is missing its corresponding endif directive.", range)
          return .placeholder(range)
        case .endDirective(let kind, let range):
          index += 1
          switch kind {
          case .else where !inElse:
            inElse = true
            continue loop
          case .else:
            report("Unexpected else directive", "Already in the else clause for the if started at \(openRange).", range)
          case .endif:
            endifRange = range
            break loop
          case .endfor:
            report("Unexpected endfor directive", "Expecting an endif directive for the if started at \(openRange).", range)
          }
          return .placeholder(range)
        default:
          let expression = parseTemplateExpression(parts, &index, depth: depth + 1)
          if inElse { elseParts.append(expression) } else { ifParts.append(expression) }
        }
      }
      if ifParts.isEmpty { ifParts.append(Expression(.literal(.string("")), range: .empty(openRange.filename, at: openRange.end))) }
      if elseParts.isEmpty { elseParts.append(Expression(.literal(.string("")), range: .empty(endifRange.filename, at: endifRange.start))) }
      let whenTrue = Parser.templateOf(ifParts)
      let whenFalse = Parser.templateOf(elseParts)
      return Expression(
        .conditional(condition: condition, whenTrue: whenTrue, whenFalse: whenFalse), range: .between(openRange, endifRange),
        startRange: condition.startRange)
    case .forDirective(let key, let value, let collection, let openRange):
      index += 1
      var content: [Expression] = []
      var endforRange = openRange
      loop: while true {
        switch parts[index] {
        case .end(let range):
          report(
            "Unexpected end of template", "The for directive at \(openRange) is missing its corresponding endfor directive.", range)
          return .placeholder(range)
        case .endDirective(let kind, let range):
          index += 1
          switch kind {
          case .else:
            report("Unexpected else directive", "An else clause is not expected for a for directive.", range)
          case .endfor:
            endforRange = range
            break loop
          case .endif:
            report(
              "Unexpected endif directive", "Expecting an endfor directive corresponding to the for directive at \(openRange).", range)
          }
          return .placeholder(range)
        default:
          content.append(parseTemplateExpression(parts, &index, depth: depth + 1))
        }
      }
      if content.isEmpty { content.append(Expression(.literal(.string("")), range: .empty(openRange.filename, at: openRange.end))) }
      let clause = Expression.ForClause(
        keyVariable: key, valueVariable: value, collection: collection, key: nil, value: Parser.templateOf(content), condition: nil,
        grouping: false, openRange: openRange, closeRange: endforRange)
      let forExpression = Expression(.forExpression(clause), range: .between(openRange, endforRange), startRange: openRange)
      return Expression(.templateJoin(forExpression), range: forExpression.range, startRange: openRange)
    case .endDirective(let kind, let range):
      index += 1
      report("Unexpected \(kind.rawValue) directive", "The control directives within this template are unbalanced.", range)
      return .placeholder(range)
    case .end(let range):
      report("Unexpected end of template", "The control directives within this template are unbalanced.", range)
      return .placeholder(range)
    }
  }

  private static func templateOf(_ parts: [Expression]) -> Expression {
    let range = HCLRange.between(parts[0].range, parts[parts.count - 1].range)
    return Expression(.template(parts), range: range, startRange: parts[0].startRange)
  }

  // MARK: - Invalid tokens

  /// What HCL reports about tokens that are never valid (`checkInvalidTokens`).
  static func invalidTokenDiagnostics(_ tokens: [Token]) -> [HCLDiagnostic] {
    var diagnostics: [HCLDiagnostic] = []
    var toldBitwise = 0
    var toldBacktick = 0
    var toldApostrophe = 0
    var toldSemicolon = false
    var toldBadUTF8 = false
    for token in tokens {
      switch token.type {
      case .bitwiseAnd, .bitwiseOr, .bitwiseXor, .bitwiseNot:
        if toldBitwise < 4 {
          let suggestion =
            switch token.type {
            case .bitwiseAnd: " Did you mean boolean AND (\"&&\")?"
            case .bitwiseOr: " Did you mean boolean OR (\"||\")?"
            case .bitwiseNot: " Did you mean boolean NOT (\"!\")?"
            default: ""
            }
          diagnostics.append(.error("Unsupported operator", "Bitwise operators are not supported.\(suggestion)", token.range))
          toldBitwise += 1
        }
      case .backtick:
        if toldBacktick % 2 == 0 {
          diagnostics.append(
            .error(
              "Invalid character",
              "The \"`\" character is not valid. To create a multi-line string, use the \"heredoc\" syntax, like \"<<EOT\".", token.range))
        }
        if toldBacktick <= 2 { toldBacktick += 1 }
      case .apostrophe:
        if toldApostrophe % 2 == 0 {
          diagnostics.append(.error("Invalid character", "Single quotes are not valid. Use double quotes (\") to enclose strings.", token.range))
        }
        if toldApostrophe <= 2 { toldApostrophe += 1 }
      case .semicolon:
        if !toldSemicolon {
          diagnostics.append(
            .error(
              "Invalid character",
              "The \";\" character is not valid. Use newlines to separate arguments and blocks, and commas to separate items in collection values.",
              token.range))
          toldSemicolon = true
        }
      case .badUTF8:
        if !toldBadUTF8 {
          diagnostics.append(
            .error(
              "Invalid character encoding",
              "All input files must be UTF-8 encoded. Ensure that UTF-8 encoding is selected in your editor.", token.range))
          toldBadUTF8 = true
        }
      case .quotedNewline:
        diagnostics.append(
          .error(
            "Invalid multi-line string",
            "Quoted strings may not be split over multiple lines. To produce a multi-line string, either use the \\n escape to represent a newline character or use the \"heredoc\" multi-line template syntax.",
            token.range))
      case .invalid:
        if token.text == "\u{201C}" || token.text == "\u{201D}" {
          diagnostics.append(
            .error(
              "Invalid character",
              "\"Curly quotes\" are not valid here. These can sometimes be inadvertently introduced when sharing code via documents or discussion forums. It might help to replace the character with a \"straight quote\".",
              token.range))
        } else {
          diagnostics.append(.error("Invalid character", "This character is not used within the language.", token.range))
        }
      default:
        continue
      }
    }
    return diagnostics
  }
}

extension Scanner {
  /// Bytes in the UTF-8 scalar at `index` (1 for an invalid byte).
  static func scalarLength(_ bytes: [UInt8], _ index: Int) -> Int {
    guard index < bytes.count else { return 0 }
    let first = bytes[index]
    let length = first < 0x80 ? 1 : first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : first >= 0xC0 ? 2 : 1
    return min(length, bytes.count - index)
  }
}
