/// HCL's canonical layout, as `hclwrite.Format` (and so `packer fmt`) writes it.
///
/// Token-level, like hclwrite: the file is scanned (never parsed into a tree), and only the
/// white space *between* tokens changes; every token's bytes are written back as they were,
/// so a heredoc's lines, a template's literal text and a comment's text are kept byte for
/// byte, and a file's meaning cannot change. The passes are hclwrite's:
///
/// 1. each line (ended by a newline token or a `#`/`//` comment, which takes its newline) is
///    split into up to three cells: the *lead*, the *assign* cell from an `=` whose
///    right-hand side closes every bracket it opens, and a trailing line comment;
/// 2. indentation: two spaces per level, a level opened by a line with more opening than
///    closing brackets (braces, brackets, parentheses, `${`, `%{`) and closed by the line
///    that closes as many;
/// 3. spacing between the tokens of a cell (`spaceAfter`: none inside templates, around
///    dots, after `(`/`[`, before `,`; one around operators and braces; a minus after an
///    operator or an opening bracket is a negation and keeps to its operand);
/// 4. alignment: the `=` of consecutive lines with an assign cell line up one space after
///    the longest lead, and consecutive trailing comments one space after the longest
///    code; any other line (blank, a comment alone, a block header) ends the group.
///
/// White space the scanner skips is only spaces and tabs, and every gap is rewritten, so
/// tabs and trailing white space go; what follows the last token (before the end of the
/// file) is kept as that many spaces, as hclwrite's writer does.
public enum HCLCanonicalFormat {
  /// The canonical form of `bytes`, formatted whatever the syntax (as `hclwrite.Format`:
  /// tokens it cannot read stay as they are). Use `format(_:filename:)` for a file, which
  /// refuses input that does not parse.
  public static func formatTokens(_ bytes: [UInt8]) -> [UInt8] {
    var tokens = layoutTokens(bytes)
    let lines = lines(of: tokens)
    indent(lines, &tokens)
    space(lines, &tokens)
    align(lines, &tokens)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count + bytes.count / 8)
    for token in tokens {
      out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: token.spaces))
      out.append(contentsOf: token.bytes)
    }
    return out
  }

  /// What `packer fmt` does with one file: parse it as native syntax; on any error, the
  /// parse diagnostics and no output; otherwise its canonical form.
  public static func format(_ bytes: [UInt8], filename: String) -> (formatted: [UInt8]?, diagnostics: [HCLDiagnostic]) {
    let file = HCL.parseConfig(bytes, filename: filename)
    if file.diagnostics.hasErrors { return (nil, file.diagnostics) }
    return (formatTokens(bytes), file.diagnostics)
  }

  // MARK: - Tokens and lines

  struct LayoutToken {
    var type: TokenType
    var bytes: ArraySlice<UInt8>
    /// Spaces written before the token (at first, the bytes skipped before it).
    var spaces: Int

    var bracketChange: Int {
      switch type {
      case .oBrace, .oBrack, .oParen, .templateControl, .templateInterp: 1
      case .cBrace, .cBrack, .cParen, .templateSeqEnd: -1
      default: 0
      }
    }

    /// A newline, or a line comment (which ends with the newline it took).
    var endsLine: Bool {
      type == .newline || (type == .comment && bytes.last == UInt8(ascii: "\n"))
    }

    /// Columns: spaces plus grapheme clusters, as HCL counts them.
    var columns: Int { spaces + String(decoding: bytes, as: UTF8.self).count }
  }

  /// One line's cells, as ranges of token indices (the end-of-file token belongs to none).
  struct Line {
    var lead: Range<Int>
    var assign: Range<Int>?
    var comment: Range<Int>?
  }

  static func layoutTokens(_ bytes: [UInt8]) -> [LayoutToken] {
    var previousEnd = 0
    return Scanner.scan(bytes, filename: "", mode: .normal).map { token in
      defer { previousEnd = token.range.end.byte }
      return LayoutToken(type: token.type, bytes: token.bytes, spaces: max(0, token.range.start.byte - previousEnd))
    }
  }

  static func lines(of tokens: [LayoutToken]) -> [Line] {
    var lines: [Line] = []
    var lineStart = 0
    var end = tokens.count
    for (index, token) in tokens.enumerated() {
      if token.type == .eof {
        end = index
        break
      }
      if token.endsLine {
        lines.append(Line(lead: lineStart..<(index + 1)))
        lineStart = index + 1
      }
    }
    // The last line, even empty (hclwrite's count of lines is one more than of newlines).
    lines.append(Line(lead: lineStart..<end))
    for index in lines.indices {
      var line = lines[index]
      if line.lead.count > 1, tokens[line.lead.upperBound - 1].type == .comment {
        line.comment = (line.lead.upperBound - 1)..<line.lead.upperBound
        line.lead = line.lead.lowerBound..<(line.lead.upperBound - 1)
      }
      if let equal = line.lead.dropFirst().first(where: { tokens[$0].type == .equal }) {
        // Only a right-hand side that closes what it opens is a cell; otherwise it is the
        // start of a multi-line expression.
        if line.lead[equal...].reduce(0, { $0 + tokens[$1].bracketChange }) == 0 {
          line.assign = equal..<line.lead.upperBound
          line.lead = line.lead.lowerBound..<equal
        }
      }
      lines[index] = line
    }
    return lines
  }

  // MARK: - Passes

  static func indent(_ lines: [Line], _ tokens: inout [LayoutToken]) {
    var indents: [Int] = []
    for line in lines {
      guard let first = line.lead.first else { continue }
      if tokens[first].type == .newline {
        tokens[first].spaces = 0
        continue
      }
      var net = 0
      for index in line.lead {
        net += tokens[index].bracketChange
        if tokens[index].type == .oHeredoc { break }
      }
      for index in line.assign ?? 0..<0 { net += tokens[index].bracketChange }
      if net > 0 {
        tokens[first].spaces = 2 * indents.count
        indents.append(net)
        continue
      }
      var closed = -net
      while closed > 0, let top = indents.last {
        if closed >= top {
          indents.removeLast()
          closed -= top
        } else {
          indents[indents.count - 1] -= closed
          closed = 0
        }
      }
      tokens[first].spaces = 2 * indents.count
    }
  }

  static func space(_ lines: [Line], _ tokens: inout [LayoutToken]) {
    for line in lines {
      space(cell: line.lead, &tokens)
      if let assign = line.assign {
        // One space between what is assigned and its `=`.
        tokens[assign.lowerBound].spaces = 1
        space(cell: assign, &tokens)
      }
    }
  }

  private static func space(cell: Range<Int>, _ tokens: inout [LayoutToken]) {
    for index in cell where index + 1 < cell.upperBound {
      let before = index > cell.lowerBound ? tokens[index - 1] : nil
      tokens[index + 1].spaces = spaceAfter(tokens[index], before: before, after: tokens[index + 1]) ? 1 : 0
    }
  }

  static func align(_ lines: [Line], _ tokens: inout [LayoutToken]) {
    func columns(_ range: Range<Int>?) -> Int { range.map { $0.reduce(0) { $0 + tokens[$1].columns } } ?? 0 }
    // The `=` first: moving it moves the comments after it.
    for group in groups(lines, where: { $0.assign != nil }) {
      let widest = group.map { columns($0.lead) }.max() ?? 0
      for line in group {
        if let assign = line.assign { tokens[assign.lowerBound].spaces = widest - columns(line.lead) + 1 }
      }
    }
    for group in groups(lines, where: { $0.comment != nil }) {
      let widest = group.map { columns($0.lead) + columns($0.assign) }.max() ?? 0
      for line in group {
        if let comment = line.comment {
          tokens[comment.lowerBound].spaces = widest - columns(line.lead) - columns(line.assign) + 1
        }
      }
    }
  }

  /// Runs of consecutive lines that all satisfy `member`.
  private static func groups(_ lines: [Line], where member: (Line) -> Bool) -> [ArraySlice<Line>] {
    var groups: [ArraySlice<Line>] = []
    var start: Int?
    for index in lines.indices {
      if member(lines[index]) {
        if start == nil { start = index }
      } else if let from = start {
        groups.append(lines[from..<index])
        start = nil
      }
    }
    if let from = start { groups.append(lines[from...]) }
    return groups
  }

  /// hclwrite's `spaceAfterToken`: whether `subject` is followed by a space, given the token
  /// before it in its cell (nil at the start of the cell) and the token after it.
  static func spaceAfter(_ subject: LayoutToken, before: LayoutToken?, after: LayoutToken) -> Bool {
    let type = subject.type
    switch true {
    case after.type == .newline:
      return false
    case type == .ident && after.type == .oParen:
      return false
    case type == .dot || after.type == .dot:
      return false
    case after.type == .comma || after.type == .ellipsis:
      return false
    case type == .comma:
      return true
    case [.quotedLit, .stringLit, .oQuote, .oHeredoc].contains(type) || [.quotedLit, .stringLit, .cQuote, .cHeredoc].contains(after.type):
      // Nothing changes inside a template's text.
      return false
    case type == .ident && subject.bytes.elementsEqual("in".utf8) && before?.type == .ident:
      // `for x in [foo]`: `in` as a keyword, not a name being indexed.
      return true
    case after.type == .oBrack && (type == .ident || type == .numberLit || subject.bracketChange < 0):
      return false
    case type == .bang:
      return false
    case type == .minus:
      // A negation (no space) unless what comes before can end an operand.
      guard let before else { return false }
      let negationAfter: Set<TokenType> = [
        .oParen, .oBrace, .oBrack, .equal, .colon, .comma, .question, .plus, .star, .slash, .percent, .minus,
        .equalOp, .notEqual, .greaterThan, .greaterThanEq, .lessThan, .lessThanEq, .and, .or, .bang,
      ]
      return !negationAfter.contains(before.type)
    case type == .oBrace || after.type == .cBrace:
      // Braces have spaces inside (`{ a = 1 }`), except an empty pair (`{}`).
      return !(type == .oBrace && after.type == .cBrace)
    case (type == .templateInterp || type == .templateControl) && after.type == .oBrace:
      return true
    case type == .cBrace && after.type == .templateSeqEnd:
      return true
    case type == .templateSeqEnd && (after.type == .templateInterp || after.type == .templateControl):
      return false
    case subject.bracketChange > 0:
      return false
    case after.bracketChange < 0:
      return false
    default:
      return true
    }
  }
}
