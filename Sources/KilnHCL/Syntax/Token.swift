/// The kinds of token HCL's native syntax has (hclsyntax's TokenType), including the ones
/// that exist only to be reported as errors (`&`, `'`, a newline inside quotes, …).
enum TokenType: Sendable, Equatable {
  case oBrace, cBrace, oBrack, cBrack, oParen, cParen
  case oQuote, cQuote, oHeredoc, cHeredoc
  case star, slash, plus, minus, percent
  case equal, equalOp, notEqual, lessThan, lessThanEq, greaterThan, greaterThanEq
  case and, or, bang
  case dot, comma, ellipsis, fatArrow, question, colon
  case templateInterp, templateControl, templateSeqEnd
  /// Literal text of a quoted template (may contain backslash escapes).
  case quotedLit
  /// Literal text of a heredoc or bare template (no backslash escapes).
  case stringLit
  case numberLit, ident, comment, newline, eof
  case bitwiseAnd, bitwiseOr, bitwiseNot, bitwiseXor, apostrophe, backtick, semicolon
  case invalid, badUTF8, quotedNewline

  /// How the token reads in a message.
  var name: String {
    switch self {
    case .oBrace: "\"{\""
    case .cBrace: "\"}\""
    case .oBrack: "\"[\""
    case .cBrack: "\"]\""
    case .oParen: "\"(\""
    case .cParen: "\")\""
    case .eof: "end of file"
    case .newline: "newline"
    default: "\(self)"
    }
  }
}

/// One token: its kind, its bytes in the source, and its range.
struct Token: Sendable {
  var type: TokenType
  var bytes: ArraySlice<UInt8>
  var range: HCLRange

  var text: String { String(decoding: bytes, as: UTF8.self) }
}
