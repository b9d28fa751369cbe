import Foundation
import KilnHCL
import Testing

/// Kiln's HCL against HashiCorp's: every row is evaluated by both (the peer is
/// `Tests/Fixtures/hclpeer/main.go` over hclsyntax, hcl/json and cty's functions), and must
/// give the same value and type, or both refuse it. For refusals, the first error's position
/// and summary are compared too: positions must agree; summaries are counted.
///
/// A row Kiln answers differently on purpose says so with `differs`, and why.
@Suite struct HCLPeerConformanceTests {
  struct Row: Sendable {
    var kind: String
    var source: String
    /// Why Kiln gives another answer, when it does on purpose.
    var difference: String?
  }

  static func expr(_ sources: String...) -> [Row] { sources.map { Row(kind: "expr", source: $0) } }
  static func template(_ sources: String...) -> [Row] { sources.map { Row(kind: "template", source: $0) } }
  static func json(_ sources: String...) -> [Row] { sources.map { Row(kind: "jsonexpr", source: $0) } }
  static func body(_ sources: String...) -> [Row] { sources.map { Row(kind: "body", source: $0) } }
  static func jsonBody(_ sources: String...) -> [Row] { sources.map { Row(kind: "jsonbody", source: $0) } }
  static func differs(_ kind: String, _ source: String, because reason: String) -> Row {
    Row(kind: kind, source: source, difference: reason)
  }

  /// The variables every row sees.
  static let variables: [String: HCLValue] = [
    "name": .string("web"),
    "count": .number(3),
    "enabled": .bool(true),
    "regions": .list([.string("us-east-1"), .string("eu-west-1")], elementType: .string),
    "tags": .map(["team": .string("core"), "env": .string("prod")], elementType: .string),
    "ports": .set([.number(80), .number(443)], elementType: .number),
    "servers": .list(
      [
        .object(["name": .string("a"), "ip": .string("10.0.0.1"), "port": .number(22)]),
        .object(["name": .string("b"), "ip": .string("10.0.0.2"), "port": .number(2222)]),
      ], elementType: .object(["name": .string, "ip": .string, "port": .number])),
    "settings": .object([
      "size": .number(10), "nested": .object(["deep": .string("x")]), "maybe": .null(.string),
      "list": .tuple([.number(1), .string("two"), .bool(true)]),
    ]),
    "nothing": .null(.string),
    "empty_list": .list([], elementType: .string),
    "text": .string("  Hello, World!\n\n"),
    "half": .string("0.5"),
  ]

  static let rows: [Row] =
    // Literals and numbers.
    expr(
      "0", "42", "-7", "3.25", "1e3", "1.5e-3", "1E+2", "0.1", "007", "123456789012345678901234567890123",
      "3.14159265358979323846264338327950288419716939937510582097494459", "true", "false", "null",
      "1 + 2", "7 - 10", "6 * 7", "1 / 3", "1 / 10", "2 / 3 * 3", "10 % 3", "-10 % 3", "11 % 5.1", "7.5 % 2",
      "1 / 0", "-1 / 0", "0.1 + 0.2", "1e30 * 1e30", "2 - 3.5", "-(3)", "--3", "!true", "!!false",
      "1 + 2 * 3 - 4 / 2", "(1 + 2) * 3", "2 * 3 % 4", "1 < 2", "2 <= 2", "3 > 4", "4 >= 5", "1 == 1.0",
      "\"1\" == 1", "\"a\" != \"b\"", "null == null", "[1] == [1]", "{a = 1} == {a = 1}", "true && false || true",
      "true || false && false", "!true || true", "1 + 2 == 3 && 2 > 1", "1.5 * 2", "100000000000000000000 + 1",
      "0.000001 * 1000000", "1e-7", "12345.6789e2", "5 / 2", "-5 / 2", "9007199254740993", "1.0", "1.10",
    )
    // Strings, escapes and templates.
    + expr(
      #""hello""#, #""""#, #""a\nb\tc\\d\"e""#, #""\u00e9\U0001F600""#, #""caf\u0065\u0301""#, #""$${literal}""#, #""%%{literal}""#,
      #""a${1 + 2}b""#, #""${name}""#, #""${count}""#, #""${true}""#, #""${"${count}"}""#, #""${""}${count}""#,
      #""x ${name} y""#, #""${~ name ~}""#, #""a ${~ "b" ~} c""#, #""a  ${~name}  b""#, #""a ${name ~}  b""#,
      #""%{ if enabled }on%{ else }off%{ endif }""#, #""%{ if !enabled }on%{ endif }""#,
      #""%{ for r in regions }${r},%{ endfor }""#, #""%{ for i, r in regions }${i}=${r} %{ endfor }""#,
      #""%{ for k, v in tags ~} ${k}:${v} %{~ endfor }""#, #""%{ if enabled ~}   yes   %{~ endif }""#,
      #""[%{ for x in [1, 2] }%{ if x > 1 }big%{ else }small%{ endif }%{ endfor }]""#,
      #""${null}""#, #""a${nothing}""#, #""a${[1]}""#, #""${"a"}${1.5}${false}""#, #""$ { } % { }""#, #""a$b%c""#,
      #""${regions}""#, #""%{ for x in count }${x}%{ endfor }""#, #""%{ if "yes" }x%{ endif }""#,
      #""\q""#, #""\u12""#, #""\uD800""#,
    )
    + template(
      "plain text", "a ${name} b", "${count}", "${name}", "%{ if enabled }yes%{ endif }", "line1\nline2 ${count}\n",
      "$${not} %%{not}", "${ 1 + 1 } ${~ \"x\" ~}  y", "%{ for r in regions ~}\n  - ${r}\n%{ endfor ~}", "",
      "${", "%{ if }", "%{ endif }", "%{ for x in [1] }", "%{ bogus }", "${name} %{ else }",
    )
    // Heredocs.
    + expr(
      "<<EOT\nhello\nEOT\n", "<<EOT\n  indented\n    more\n  EOT\n", "<<-EOT\n    a\n      b\n    c\n    EOT\n",
      "<<-EOT\n  a\n\n  b\n  EOT\n", "<<-EOT\n    x ${name}\n  ${count}\n  EOT\n", "<<EOT\n${name}\nEOT\n",
      "<<EOT\n  EOT is not the end\nEOT\n", "<<-EOT\n\tTab\n  Spaces\n  EOT\n", "<<EOT\nEOT\n", "<<EOT\n%{ for r in regions }${r}\n%{ endfor }EOT\n",
      "<<-EOT\n  %{ if enabled ~}\n  yes\n  %{~ endif }\n  EOT\n", "<<EOT\nunterminated\n", "<<EOT\n$${x} %%{y}\nEOT\n",
    )
    // Collections, index and attribute access, splats.
    + expr(
      "[]", "[1, 2, 3]", "[1, \"a\", true, null]", "[\n1,\n2,\n]", "{}", "{a = 1, b = \"x\"}", "{\"k\" = 1}", "{a: 1}",
      "{(name) = 1}", "{a = 1\nb = 2}", "{for = 1}", "{\"for\" = 1}", "{a.b = 1}", "{(\"a\") = 1, a = 2}",
      "regions[0]", "regions[1]", "regions[2]", "regions[-1]", "regions[0.5]", "regions[\"1\"]", "regions.0", "tags.team",
      "tags[\"env\"]", "tags.missing", "tags[\"missing\"]", "settings.nested.deep", "settings.list[1]", "settings[\"size\"]",
      "settings.nope", "settings[0]", "servers[1].ip", "servers.name", "servers[*].name", "servers.*.port", "servers[*].port",
      "[{a = 1}, {a = 2}][*].a", "[[1, 2], [3, 4]][*][0]", "[[1, 2], [3, 4]].*.0", "name[*]", "nothing[*]", "nothing.*.x",
      "settings[*].size", "ports[*]", "count.x", "name[0]", "ports[0]", "null[0]", "nothing.x", "[1, 2][count - 2]",
      "{a = {b = [10, 20]}}.a.b[1]", "[for s in servers: s.name]", "regions[*]", "servers[*].nope",
    )
    // For expressions.
    + expr(
      "[for x in [1, 2, 3]: x * x]", "[for i, x in [\"a\", \"b\"]: i]", "[for x in [1, 2, 3]: x if x != 2]",
      "{for i, v in [\"a\", \"b\"]: v => i}", "{for i, v in [\"a\", \"a\", \"b\"]: v => i...}", "{for i, v in [\"a\", \"a\"]: v => i}",
      "{for k, v in tags: upper(k) => v}", "[for k, v in tags: \"${k}=${v}\"]", "[for p in ports: p + 1]", "[for x in []: x]",
      "[for x in null: x]", "[for x in 5: x]", "[for x in [1]: x if \"no\"]", "[for x in [1]: x if null]", "{for x in [1, 2]: x => x}",
      "{for x in [1, 2]: x}", "[for x in [1]: x => x]", "[for x, y in {a = 1}: \"${x}${y}\"]",
      "[for x in [[1, 2], [3]]: [for y in x: y * 10]]", "{for s in servers: s.name => s.port}", "[for x in [1, 2] x]",
    )
    // Conditionals and unification.
    + expr(
      "true ? 1 : 2", "false ? \"a\" : \"b\"", "true ? 1 : \"a\"", "false ? 1 : \"a\"", "true ? [1] : [\"a\"]",
      "true ? {a = 1} : {a = \"x\"}", "true ? null : 1", "false ? null : [1, 2]", "true ? [1] : [1, 2]",
      "true ? {a = 1} : {b = 2}", "true ? tags : {team = \"x\"}", "true ? regions : [\"x\"]", "null ? 1 : 2", "\"true\" ? 1 : 2",
      "5 ? 1 : 2", "true ? 1 : nope", "false ? nope : 2", "enabled ? count : 0", "true ? [] : regions", "true ? 1",
    )
    // Conversions at operators and template boundaries.
    + expr(
      "\"5\" + 1", "\"a\" + 1", "true + 1", "\"true\" && true", "\"1\" && true", "\"yes\" && true", "half * 2", "\"1e2\" + 0",
      "\" 1\" + 0", "\"Inf\" + 0", "[1] + 1", "null + 1", "1 < \"2\"", "nothing == null", "regions == [\"us-east-1\", \"eu-west-1\"]",
      "tostring(1.5)", "tostring(true)", "tostring(null)", "tostring([1])", "tonumber(\"12\")", "tonumber(\"x\")", "tonumber(null)",
      "tobool(\"true\")", "tobool(\"1\")", "tobool(\"True\")", "tobool(0)", "tolist([1, 2])", "tolist([1, \"a\"])", "tolist([1, [1]])",
      "toset([\"b\", \"a\", \"b\"])", "toset([3, 1, 2, 1])", "tomap({a = 1, b = \"x\"})", "tomap({a = 1, b = [1]})",
      "tolist(ports)", "tolist(toset([true, false]))", "toset([])", "tomap({})", "tolist([])", "tolist([null, \"a\"])",
    )
    // String functions.
    + expr(
      "upper(\"héllo ß\")", "lower(\"ÀB\")", "title(\"hello world-wide_web\")", "chomp(\"a\\n\\r\\n\")", "chomp(text)",
      "indent(2, \"a\\nb\\n\")", "join(\",\", regions)", "join(\"-\", [\"a\"], [\"b\", \"c\"])", "join(\",\", [])", "join(\",\", [\"a\", null])",
      "split(\",\", \"a,b,,c\")", "split(\",\", \"\")", "split(\"\", \"abc\")", "replace(\"aaa\", \"a\", \"b\")",
      "replace(\"a.b.c\", \"/\\\\./\", \"-\")",
      "replace(\"hello\", \"\", \"-\")", "substr(\"hello world\", 1, 4)", "substr(\"hello\", -3, -1)", "substr(\"héllo\", 1, 2)",
      "substr(\"abc\", 5, 1)", "substr(\"abc\", 0, 0)", "substr(\"abc\", 1.5, 1)", "strrev(\"abc\")", "trim(\"?!hello?!\", \"!?\")",
      "trimprefix(\"helloworld\", \"hello\")", "trimsuffix(\"helloworld\", \"world\")", "trimspace(text)", "trimprefix(\"a\", \"b\")",
      "format(\"Hello, %s!\", name)", "format(\"%d items\", count)", "format(\"%5.2f|%-5d|%05d\", 3.14159, 42, 42)",
      "format(\"%v %v %v\", 1, \"a\", true)", "format(\"%#v\", {a = [1, \"b\"]})", "format(\"%q\", \"x\\\"y\")", "format(\"%t\", true)",
      "format(\"%x %X %o %b\", 255, 255, 8, 5)", "format(\"%e\", 1234.5678)", "format(\"%g %g\", 0.00001234, 123456789)",
      "format(\"%[2]s %[1]s\", \"a\", \"b\")", "format(\"%s\")", "format(\"%s\", 1, 2)", "format(\"%d\", 1.5)", "format(\"%z\", 1)",
      "format(\"100%%\")", "format(\"%.3s\", \"abcdef\")", "format(\"%8s|%-8s|\", \"ab\", \"cd\")", "format(\"%+d % d\", 5, 5)",
      "format(\"%v\", null)", "format(\"%s\", null)", "format(\"%v\", 1e20)", "format(\"%f\", 1)", "format(\"%.0f\", 2.5)",
      "formatlist(\"%s-%s\", regions, \"x\")", "formatlist(\"%s=%d\", [\"a\", \"b\"], [1, 2])", "formatlist(\"%s\", [])",
      "formatlist(\"%s%s\", [\"a\"], [\"b\", \"c\"])", "startswith(\"hello\", \"he\")", "endswith(\"hello\", \"lo\")",
      "strcontains(\"hello\", \"ell\")", "strcontains(\"hello\", \"\")", "upper(1)", "upper(null)", "upper()", "upper(\"a\", \"b\")",
    )
    // Regular expressions.
    + expr(
      "regex(\"[a-z]+\", \"123abc456\")", "regex(\"(\\\\d+)-(\\\\d+)\", \"10-20\")", "regex(\"(?P<k>\\\\w+)=(?P<v>\\\\w+)\", \"a=b\")",
      "regex(\"x\", \"abc\")", "regexall(\"\\\\d\", \"a1b2c3\")", "regexall(\"(a)(b)?\", \"a ab\")", "regexall(\"z\", \"abc\")",
      "regex_replace(\"hello world\", \"o\", \"0\")", "regex_replace(\"a-b-c\", \"(\\\\w)-\", \"$1+\")", "regex_replace(\"abc\", \"\", \"-\")",
      "regex_replace(\"aaa\", \"a*\", \"x\")", "regex_replace(\"Hello\", \"(?i)h\", \"J\")", "regex_replace(\"a.b\", \"[.]\", \"${0}${0}\")",
      "regex(\"(\", \"x\")", "regex(\"^(a+)+$\", \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\")",
      "regex(\"a{2,3}\", \"aaaa\")", "regex(\"a{2,3}?\", \"aaaa\")", "regex(\"^\\\\s*(\\\\S+)\\\\s*$\", \"  word  \")",
      "regex(\"\\\\bwo\", \"a word\")",
      "regex(\"[^[:alpha:]]+\", \"ab12cd\")", "regex(\"(?s)a.b\", \"a\\nb\")", "regex(\"a.b\", \"a\\nb\")", "regex(\"(?m)^b\", \"a\\nb\")",
      "regexall(\"(?i)[A-Z]\", \"aBc\")", "regex(\"(a)|(b)\", \"b\")",
    )
    // Numeric functions.
    + expr(
      "abs(-3.5)", "abs(0)", "ceil(1.2)", "ceil(-1.2)", "floor(1.8)", "floor(-1.8)", "ceil(5)", "max(1, 5, 3)", "min(1, 5, 3)",
      "max()", "max(1, \"7\")", "pow(2, 10)", "pow(2, 0.5)", "pow(10, -2)", "log(100, 10)", "log(8, 2)", "signum(-5)", "signum(0)",
      "signum(2.5)", "parseint(\"ff\", 16)", "parseint(\"-101\", 2)", "parseint(\"zz\", 36)", "parseint(\"12\", 1)", "parseint(\"9\", 8)",
      "parseint(\"FF\", 16)", "sum([1, 2, 3.5])", "sum([])", "sum(ports)", "max(regions...)", "max([1, 9, 4]...)", "min(ports...)",
    )
    // Collection functions.
    + expr(
      "length(regions)", "length(tags)", "length(\"héllo\")", "length(ports)", "length({a = 1})", "length(5)", "length(null)",
      "concat([1], [2, 3])", "concat(regions, [\"x\"])", "concat([1], [\"a\"])", "concat(regions, [1])", "concat()", "concat(1)",
      "contains(regions, \"eu-west-1\")", "contains([1, 2], \"1\")", "contains(ports, 443)", "distinct([1, 2, 1, 3, 2])",
      "distinct([])", "element(regions, 3)", "element([], 0)", "element(regions, -1)", "flatten([[1, [2]], 3, []])",
      "flatten([regions, [\"x\"]])", "keys(tags)", "keys({b = 1, a = 2})", "keys([])", "values(tags)", "values({b = 1, a = \"x\"})",
      "lookup(tags, \"team\", \"none\")", "lookup(tags, \"x\", \"none\")", "lookup({a = 1}, \"b\", 2)", "lookup(tags, \"x\")",
      "lookup({a = 1}, \"b\")", "merge(tags, {team = \"x\"})", "merge({a = 1}, {b = \"2\"})", "merge()", "merge(tags, null)",
      "merge({a = 1}, 5)", "range(3)", "range(1, 4)", "range(10, 0, -3)", "range(0, 1, 0.25)", "range(0)", "range(5, 1)", "range(2000)",
      "reverse([1, 2, 3])", "reverse(regions)", "reverse(\"abc\")", "setunion([\"a\"], [\"b\", \"a\"])", "setintersection([1, 2], [2, 3])",
      "setsubtract([1, 2, 3], [2])", "setproduct([\"a\", \"b\"], [1, 2])", "setunion(ports, [8080])", "slice([1, 2, 3, 4], 1, 3)",
      "slice(regions, 0, 5)", "slice([1, 2], 2, 1)", "sort([\"b\", \"a\", \"C\"])", "sort([3, 10, 2])", "zipmap([\"a\", \"b\"], [1, 2])",
      "zipmap([\"a\"], [1, 2])", "zipmap(regions, [for r in regions: length(r)])", "coalesce(\"\", \"a\", \"b\")", "coalesce(null, 2)",
      "coalesce(\"\", null)", "coalesce(1, \"x\")", "coalesce()", "coalescelist([], [1], [2])", "coalescelist([], [])",
      "compact([\"a\", \"\", \"b\"])", "chunklist([1, 2, 3, 4, 5], 2)", "chunklist([1], 0)", "index(regions, \"eu-west-1\")",
      "index([1, 2], 3)", "index([], 1)", "alltrue([true, true])", "alltrue([])", "anytrue([false, true])", "anytrue([])",
    )
    // Encoding functions.
    + expr(
      "jsonencode(\"a<b>&\")", "jsonencode([1, \"x\", null, true])", "jsonencode({b = 1, a = [2]})", "jsonencode(tags)",
      "jsonencode(ports)", "jsonencode(1.5e300)", "jsondecode(\"{\\\"a\\\": [1, 2.5, \\\"x\\\"], \\\"b\\\": null}\")",
      "jsondecode(\"[\")", "jsondecode(\"1e400\")", "jsondecode(\"\\\"\\\\u00e9\\\"\")", "jsondecode(\"{\\\"a\\\":1,\\\"a\\\":2}\")",
      "base64encode(\"hello ✓\")", "base64decode(\"aGVsbG8=\")", "base64decode(\"!!!\")", "base64decode(\"/w==\")",
      "urlencode(\"a b&c=d/é\")", "urldecode(\"a+b%20c\")", "urldecode(\"%zz\")",
      "csvdecode(\"a,b\\n1,2\\n3,4\\n\")", "csvdecode(\"a,b\\n1\\n\")", "csvdecode(\"\")", "csvdecode(\"a,a\\n1,2\")",
      "csvdecode(\"x\\n\\\"q \\\"\\\"quoted\\\"\\\"\\\"\\n\")",
    )
    // Function calls: expansion, arity, errors, try and can.
    + expr(
      "max([1, 2]...)", "join(\",\", [regions, [\"x\"]]...)", "max(5...)", "max(null...)", "nosuch(1)", "uper(\"a\")",
      "try(regions[5], \"fallback\")", "try(nope, settings.nope, \"third\")", "try(nope)", "can(regions[0])", "can(regions[9])",
      "can(nosuch(1))", "try(tonumber(\"x\"), 0)", "length(\"a\", \"b\")", "substr(\"a\")", "join()", "format()",
      "upper(\n\"a\"\n)", "concat([1],\n[2],\n)",
    )
    // Variables.
    + expr(
      "name", "count", "regions", "tags", "ports", "servers", "settings", "nothing", "empty_list", "nope", "nam",
      "settings.maybe", "settings.maybe == null", "servers[0]", "tags[name]",
    )
    // Malformed input: both must refuse, at the same place.
    + expr(
      "", "1 +", "(1", "1)", "[1, 2", "{a = 1", "{a 1}", "[1 2]", "f(1 2)", "f(1", "\"unterminated", "\"a\nb\"", "1 ? 2",
      "a.", "a.*.*", "a[", "a[*", "{a = 1, b}", "1 & 2", "1 | 2", "'single'", "`back`", "1;", "a.1.2", "1.2.3", "1e", "@",
      "“curly”", "[for]", "[for x]", "[for x in]", "[for x in y]", "[for x, in y: x]", "{for x in y: x ...}", "[for x in y: x...]",
      "${x}", "%{if}", "\"${\"", "\"${x\"", "\"%{ if x }\"", "\"%{ endif }\"", "\"%{ for }\"", "\"%{ for x y }\"", "\"${x:y}\"",
      "<<EOT", "<<EOT\nx", "!", "-", "a ** b", "[1,,2]", "{,}", "f(,)", "f(1,,)", "f(a...,b)", "{a = 1 b = 2}", "1 2",
      "\"\\x\"", "\u{0}", "é", "f(\n1\n2)", "true ? : 1", "[\n1\n2\n]",
    )
    // JSON syntax expressions: strings are templates.
    + json(
      "\"plain\"", "\"${name}\"", "\"${count + 1}\"", "\"a ${name} b\"", "\"$${x}\"", "42", "1e2", "3.14159265358979323846",
      "true", "null", "[1, \"${name}\", null]", "{\"a\": 1, \"${name}\": 2}", "{\"a\": 1, \"a\": 2}", "{\"${nothing}\": 1}",
      "\"${nope}\"", "\"${\"", "[1,]", "{\"a\" 1}", "{\"a\": 1,}", "[1 2]", "tru", "NaN", "-0.5", "01", "\"\\u00e9\"", "\"a\\qb\"", "",
      "{\"a\": {\"b\": [true]}}", "\"%{ if enabled }on%{ endif }\"",
    )
    // More: unification across nested structures, sets and maps in for and splat, numbers
    // through format, Unicode positions, strip markers next to escapes.
    + expr(
      "[for s in toset([\"b\", \"a\"]): s]", "{for k, v in {b = 1, a = 2}: k => v * 10}", "toset([[1], [1], [2]])",
      "toset([{a = 1}, {a = 1}])", "true ? [{a = 1}] : [{a = 2, b = 3}]", "true ? {a = [1]} : {a = [\"x\"]}", "[1, [2]][1][0]",
      "tolist([{a = 1}, {a = \"x\"}])", "tolist([{a = 1}, {b = 2}])", "tomap({a = {x = 1}, b = {x = \"y\"}})",
      "concat([{a = 1}], [{a = 2}])", "flatten([[{a = 1}], [{a = 2}]])", "distinct(concat(regions, regions))",
      "toset(regions)[0]", "ports[*]", "[for p in ports: p][1]", "keys(tomap({b = 1, a = 2}))", "values(toset([1]))",
      "format(\"%e|%E|%.2e\", 0.000123, 123456, 5)", "format(\"%g|%G|%.3g\", 1e21, 1e-7, 3.14159)", "format(\"%10.3f|\", -2.5)",
      "format(\"%-10v|%010d|%x\", \"é\", -42, -255)", "format(\"%#x %#o %#b\", 255, 8, 5)", "format(\"%.1f %.1f %.1f\", 0.25, 0.35, 2.5)",
      "format(\"%d\", 123456789012345678901234567890)", "format(\"%f\", 1e-10)", "format(\"%5t|\", false)", "format(\"%v\", [1, \"a\"])",
      "format(\"%s\", [1])", "format(\"%[3]d\", 1, 2)", "format(\"%\", 1)", "format(\"%.2s|%5.1s|\", \"héllo\", \"xyz\")",
      "\"é${\"ü\"}ö\"", "\"é\" + 1", "\"ünknown ${nope}\"", "[\"é\", nope]", "\"a\\t${~ \"b\"}\"", "\"\\n${~ \"b\" ~}\\n c\"",
      "\"%{ for x in [\" a \", \" b \"] ~} ${x} %{~ endfor }\"", "\"${1}${2}\"", "\"$${\"", "\"%${1}%\"", "\"$$$${x}\"",
      "<<-EOT\n    %{~ for r in regions }\n    ${r}\n    %{~ endfor }\n  EOT\n", "<<EOT\n  ${~ \"x\" ~}  \n  y\nEOT\n",
      "<<EOT\nwindows\r\nlines\r\nEOT\r\n", "<<-EOT\n  a\n \n  b\n  EOT\n", "<<-EOT\n\n\n  x\n  EOT\n",
      "1 == 1 == true", "1 < 2 < 3", "!1", "-\"a\"", "-true", "true && 1", "[1] == [1.0]", "{a = 1} != {a = \"1\"}",
      "tolist([1]) == [1]", "toset([1]) == toset([1])", "tomap({a = 1}) == {a = 1}", "null != nothing",
      "\"${tolist([])}\"", "\"x${true ? 1 : 2}\"", "length(split(\",\", \"\"))", "upper(regions[0])[0]", "regions[0].x",
      "({a = 1}).a", "(regions)[1]", "[for i in range(3): i][*]", "{for i in range(3): tostring(i) => i if i > 0}",
      "merge({a = 1}, {a = \"x\"}).a", "lookup({a = [1]}, \"a\", [])", "element([[1], [2]], 1)[0]", "coalescelist(null, [1])",
      "setproduct([], [1])", "setunion()", "setunion([1], [\"a\"])", "slice([], 0, 0)", "zipmap([], [])", "range(-3)",
      "range(1, 2, 0.3)", "sort([])", "chunklist([], 3)", "parseint(\"1_000\", 10)", "parseint(\"\", 10)", "parseint(\"+7\", 10)",
      "signum(-0)", "abs(-0)", "-0", "0 * -1", "max(-0, 0)", "floor(-0.5)", "ceil(-0.5)", "1e400", "-1e400 * 0",
    )
    + json(
      "{\"a\": \"${regions[0]}\", \"b\": [\"%{ for r in regions }${r} %{ endfor }\"]}", "\"${{a = 1}}\"", "\"${1}${2}\"",
      "\"\\u0024{name}\"", "\"é${name}\"", "[\"a\", \"${ nope }\"]", "{\"k\": 1, \"${\"k\"}\": 2}", "1.5e-3", "-0",
      "\"\\ud83d\\ude00\"", "\"\\ud83d\"", "{\"a\":1}x",
    )
    // Bodies.
    + body(
      "a = 1\nb = \"x\"\n", "a = 1\na = 2\n", "a = 1, b = 2\n", "block {\n  x = 1\n}\n", "block \"l1\" \"l2\" {\n  x = count\n}\n",
      "block label {\n}\n", "a { b = \"foo\" }\n", "a { b = \"foo\", c = \"bar\" }\n", "a { b = \"foo\"\n}\n", "a { d {} }\n", "a {\n",
      "a {}\n", "a {} b = 1\n", "\"quoted\" = 1\n", "a = \n", "a b c\n", "a = 1 # comment\n// another\n/* block */ b = 2\n",
      "a = <<EOT\nx\nEOT\nb = 1\n", "a = [\n  1,\n  2,\n]\n", "a = {\n  x = 1\n  y = 2\n}\n", "= 1\n", "a = 1\n}\n",
      "outer {\n  inner \"x\" {\n    v = [for r in regions: upper(r)]\n  }\n}\n", "a = nope\nb = also_nope\n", "a {\n  b = 1\n}}\n",
      "a = \"x\" b = 2\n", "a=1", "\u{FEFF}a = 1\n", "a = 1\r\nb = 2\r\n", "a\t=\t1\n",
    )
    // More bodies: what Packer templates look like, and how they go wrong.
    + body(
      "source \"amazon-ebs\" \"web\" {\n  ami_name = \"web-${name}\"\n  tags = {\n    Team = tags.team\n  }\n}\n",
      "build {\n  sources = [\"source.amazon-ebs.web\"]\n  provisioner \"shell\" {\n    inline = [\n      \"echo ${count}\",\n    ]\n  }\n}\n",
      "variable \"region\" {\n  type    = string\n  default = \"us-east-1\"\n}\n",
      "locals {\n  ami = \"${name}-${count}\"\n  list = [for r in regions: upper(r)]\n}\n",
      "a = <<EOT\n  line\nEOT\nb = <<-EOT\n    indented\n    EOT\n", "a = <<EOT\nnot closed\n", "a = <<EOT\nEOT", "a = \"x\nb = 1\n",
      "b \"l\\\"q\" {}\n", "b \"${x}\" {}\n", "b \"l\" = 1\n", "b \"l\"\n{}\n", "b {}\nc {}\n", "b { x = 1 }\n", "b { x = 1 } c = 2\n",
      "b {\n  x = 1 }\n", "b {\n x = 1\n} # trailing\n", "for = 1\nif = 2\nin = 3\n", "dashed-name = 1\n", "ünï = 1\n", "a = 1 // x\nb = 2 # y\n",
      "a = /* inline */ 1\n", "/* unclosed\na = 1\n", "a = \"${\n  name\n}\"\n", "a = \"${name\n}\"\n", "a = [\n  for r in regions : r\n]\n",
      "a = {\n  for k, v in tags : k => v\n}\n", "a = (\n  1 +\n  2\n)\n", "a = 1 +\n  2\n", "a = [1,\n  2\n  ]\n", "a = {\n  x = 1,\n  y = 2,\n}\n",
      "a = {\n  x = 1 y = 2\n}\n", "a = {x = 1\n", "a = f(\n", "a = \"\\u00zz\"\n", "x {\n  y {\n    z {\n      w = 1\n    }\n  }\n}\n",
      "a = 1\n\n\n\nb = nope\n", "  a = 1\n  b = 2\n", "a = [\n  # comment inside\n  1,\n]\n", "a = {\n  # comment\n  b = 1\n}\n",
      "a = true ? \"x\" : \"y\"\n", "a = !false\nb = -count\n", "a\n= 1\n", "a =\n1\n", "a = 1;\n", "a = 'x'\n", "a = 1\n\u{0}\n",
    )
    // JSON bodies (.pkr.json): every property an attribute.
    + jsonBody(
      "{}", "{\"a\": 1, \"b\": \"${name}\"}", "{\"a\": 1, \"a\": 2}", "{\"//\": \"comment\", \"a\": true}", "[{\"a\": 1}]", "1",
      "{\"a\": [1, \"x\", {\"b\": null}]}", "{\"a\": \"${nope}\", \"b\": \"${also_nope}\"}", "{\"a\": 1,}", "{\"a\": 1} {}",
      "{\n  \"a\": \"x\",\n  \"b\": \"${\"\n}", "{\"a\": \"%{ if enabled }y%{ endif }\"}", "{\"a\": 1e1000}", "{\"\\u00e9\": \"é\"}",
      "\u{FEFF}{}", "{\"a\":\t\"${nope}\"}", "{\n\t\"a\": \"${nope}\"\n}",
      "{\"a\": 1,\u{FEFF} \"b\": 2}", "{\"a\": \"x\u{FEFF}y\"}", "{\u{FEFF}\"a\": 1}",
    )
    + body("a = 1\n\u{FEFF}b = 2\n", "\u{FEFF}a = 1\n", "a = \"x\u{FEFF}y\"\n", "a = 1 \u{FEFF}+ 2\n")
    // Packer's own functions that the peer has too (HCLPeerPackerFunctionTests.swift).
    + packerRows

  @Test func everyRowAnswersAsHCLDoes() async throws {
    let peer = try await HCLPeer.build()
    let cases = Self.rows.map { HCLPeer.Case(kind: $0.kind, source: $0.source, variables: Self.variables) }
    let answers = try await peer.answer(cases)
    try #require(answers.count == Self.rows.count)
    #expect(Self.rows.count >= 300)
    var agreed = 0
    var errorRows = 0
    var samePosition = 0
    var sameSummary = 0
    for (row, go) in zip(Self.rows, answers) {
      let kiln = Self.kiln(row)
      let goFailed = !(go.diagnostics ?? []).isEmpty
      let kilnFailed = !kiln.diagnostics.isEmpty
      let same: Bool
      if goFailed || kilnFailed {
        same = goFailed && kilnFailed
        if same, let first = go.diagnostics?.first, let mine = kiln.diagnostics.first {
          errorRows += 1
          let position = mine.subject.map { ($0.start.line, $0.start.column) }
          if let position, position == (first.line, first.column) { samePosition += 1 }
          if mine.summary == first.summary {
            sameSummary += 1
          } else {
            print("HCL peer: \(row.kind) \(row.source.debugDescription): Kiln says \"\(mine.summary)\", HCL \"\(first.summary)\"")
          }
          if row.difference == nil {
            #expect(
              position.map { $0 == (first.line, first.column) } ?? false,
              "\(row.kind) \(row.source.debugDescription): Kiln's first error \(mine) is not at \(first.line):\(first.column) (\(first.summary): \(first.detail))"
            )
          }
        }
      } else {
        same = kiln.value == go.value && (row.kind.hasSuffix("body") || kiln.type == go.type)
      }
      if same { agreed += 1 }
      if let reason = row.difference {
        #expect(!same, "\(row.source.debugDescription) now answers as HCL does; make it a plain row (\(reason))")
      } else {
        #expect(
          same,
          "\(row.kind) \(row.source.debugDescription): Kiln gave \(kiln.value) : \(kiln.type) \(kiln.diagnostics.map(\.description)), HCL gave \(go.value) : \(go.type) \((go.diagnostics ?? []).map { "\($0.line):\($0.column) \($0.summary): \($0.detail)" })"
        )
      }
    }
    print(
      "HCL peer: \(agreed)/\(Self.rows.count) rows agree; of \(errorRows) rows both refuse, \(samePosition) at the same position, \(sameSummary) with the same summary"
    )
  }

  /// Kiln's answer in the peer's terms.
  static func kiln(_ row: Row) -> (value: String, type: String, diagnostics: [HCLDiagnostic]) {
    let context = EvalContext(variables: variables, functions: functions)
    var diagnostics: [HCLDiagnostic]
    switch row.kind {
    case "jsonbody":
      let file = HCL.parseJSONConfig(Array(row.source.utf8), filename: "test.hcl")
      diagnostics = file.diagnostics.filter { $0.severity == .error }
      guard !diagnostics.hasErrors else { return ("", "", diagnostics) }
      let (attributes, problems) = file.body.justAttributes()
      diagnostics = problems
      var dump = "{"
      for attribute in attributes.sorted(by: { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }) {
        let result = attribute.expression.evaluate(in: context)
        diagnostics += result.diagnostics
        dump += "\(attribute.name)=\(Canonical.render(result.value)):\(Canonical.type(result.value.type));"
      }
      diagnostics = diagnostics.filter { $0.severity == .error }
      return diagnostics.isEmpty ? (dump + "}", "", []) : ("", "", diagnostics)
    case "body":
      let file = HCL.parseConfig(Array(row.source.utf8), filename: "test.hcl")
      diagnostics = file.diagnostics.filter { $0.severity == .error }
      guard !diagnostics.hasErrors else { return ("", "", diagnostics) }
      let dump = Canonical.body(file.body, context, &diagnostics)
      diagnostics = diagnostics.filter { $0.severity == .error }
      return diagnostics.isEmpty ? (dump, "", []) : ("", "", diagnostics)
    default:
      let (expression, parseProblems) =
        switch row.kind {
        case "template": HCL.parseTemplate(row.source, filename: "test.hcl")
        case "jsonexpr": HCL.parseJSONExpression(row.source, filename: "test.hcl")
        default: HCL.parseExpression(row.source, filename: "test.hcl")
        }
      diagnostics = parseProblems.filter { $0.severity == .error }
      guard diagnostics.isEmpty else { return ("", "", diagnostics) }
      let result = expression.evaluate(in: context)
      diagnostics = result.diagnostics.filter { $0.severity == .error }
      guard diagnostics.isEmpty else { return ("", "", diagnostics) }
      return (Canonical.render(result.value), Canonical.type(result.value.type), [])
    }
  }
}
