import Foundation
import KilnCore
import KilnHCL
import Testing
import _KilnTestSupport

extension HCLPeerConformanceTests {
  /// The functions the peer rows see: cty's standard table, plus Packer's own (`packerRows`).
  static let functions: [String: HCLFunction] = HCLStandardFunction.table.merging(
    PackerFunctions.table(
      PackerFunctionContext(baseDirectory: "/nonexistent", now: Date(timeIntervalSince1970: 1_618_818_252.5), environment: [:]))
  ) { _, packer in packer }

  /// Packer's functions that cty (formatdate, timeadd), HCL (convert) or Go's libraries
  /// (hashes; x/text's IANA encodings, as Packer's textencodebase64 uses them) also have.
  static let packerRows: [Row] =
    expr(
      #"formatdate("DD MMM YYYY hh:mm ZZZ", "2018-01-02T23:12:01Z")"#,
      #"formatdate("EEEE, DD-MMM-YY hh:mm:ss ZZZ", "2018-01-02T23:12:01-08:00")"#,
      #"formatdate("EEE, DD MMM YYYY hh:mm:ss ZZZ", "2018-01-02T23:12:01+05:30")"#, #"formatdate("MMM DD, YYYY", "2018-01-02T23:12:01Z")"#,
      #"formatdate("HH:mmaa", "2018-01-02T23:12:01Z")"#, #"formatdate("H:m:s A M D", "2018-01-02T00:02:03Z")"#,
      #"formatdate("'literal' YYYY 'it''s' ''", "2018-01-02T23:12:01Z")"#, #"formatdate("Z ZZZZ ZZZZZ", "2018-01-02T23:12:01+01:00")"#,
      #"formatdate("Z", "2018-01-02T23:12:01Z")"#, #"formatdate("MMMM", "2018-09-02T23:12:01Z")"#,
      #"formatdate("YYY", "2018-01-02T23:12:01Z")"#, #"formatdate("x", "2018-01-02T23:12:01Z")"#, #"formatdate("'open", "2018-01-02T23:12:01Z")"#,
      #"formatdate("YYYY", "2018-01-02")"#, #"formatdate("YYYY", "2018-13-02T00:00:00Z")"#, #"formatdate("YYYY", "18-01-02T00:00:00Z")"#,
      #"formatdate("YYYY ss", "2018-01-02T23:12:01.123456Z")"#, #"formatdate("EEEE", "1970-01-01T00:00:00Z")"#,
      #"formatdate("DD", "2018-01-02T23:12:01")"#, #"formatdate("DD", "2018-01-02T25:12:01Z")"#, #"formatdate("DD", "")"#,
      #"formatdate("YYYY-MM-DD", "1999-12-31T23:59:59-23:59")"#, #"formatdate("EEE", "2000-02-29T12:00:00Z")"#,
      #"timeadd("2017-11-22T00:00:00Z", "10m")"#, #"timeadd("2017-11-22T00:00:00Z", "-1h30m")"#,
      #"timeadd("2017-11-22T23:59:59+05:00", "1.5s")"#, #"timeadd("2017-11-22T00:00:00Z", "1d")"#, #"timeadd("2017-11-22T00:00:00Z", "10")"#,
      #"timeadd("2017-11-22T00:00:00Z", "")"#, #"timeadd("nope", "1h")"#, #"timeadd("2024-02-28T12:00:00Z", "24h")"#,
      #"timeadd("2017-11-22T00:00:00Z", "1h1m1s1ms1us1ns")"#, #"timeadd("2017-11-22T00:00:00Z", "8760h")"#, #"timeadd("2017-11-22T00:00:00Z", "0")"#,
      #"convert([1, 2], list(string))"#, #"convert({a = 1}, map(string))"#, #"convert("1", number)"#, #"convert("x", number)"#,
      #"convert([1, 1], set(number))"#, #"convert(null, string)"#, #"convert({a = 1, b = "x"}, object({a = string, b = string}))"#,
      #"convert([1], bogus)"#, #"convert(1)"#, #"convert(1, string, 2)"#, #"convert("true", bool)"#, #"convert([[1]], list(list(string)))"#,
      #"convert(regions, tuple([string, string]))"#, #"convert(tags, any)"#,
      #"md5("hello")"#, #"sha1("")"#, #"sha256("hello world")"#, #"sha512("é")"#, #"md5(1)"#, #"sha256(name)"#,
      #"textencodebase64("Hello World", "UTF-16LE")"#, #"textencodebase64("Hello", "UTF-16BE")"#, #"textencodebase64("é", "ISO-8859-1")"#,
      #"textencodebase64("é", "US-ASCII")"#, #"textencodebase64("x", "bogus-enc")"#, #"textencodebase64("a€", "UTF-8")"#,
      #"textdecodebase64("SABlAGwAbABvAA==", "UTF-16LE")"#, #"textdecodebase64("6Q==", "ISO-8859-1")"#, #"textdecodebase64("!!", "UTF-8")"#,
      #"textdecodebase64("aGk=", "latin1")"#, #"textencodebase64("Hi€", "UTF-32")"#, #"textencodebase64("Hi", "UTF-16")"#,
      #"textencodebase64("Hi€Š", "windows-1252")"#, #"textencodebase64("€Ž", "ISO-8859-15")"#, #"textencodebase64("¤", "ISO-8859-15")"#,
      #"textencodebase64("Hi", "csUTF8")"#, #"textencodebase64("Hi", "cp1252")"#, #"textdecodebase64("//5IAGkA", "UTF-16")"#,
      #"textdecodebase64("SABp", "UTF-16")"#, #"textdecodebase64("/w==", "US-ASCII")"#, #"textdecodebase64("gIGNj5CdnyA=", "windows-1252")"#,
      #"textdecodebase64("pKaouLy9vr8=", "ISO-8859-15")"#, #"textencodebase64("\u0081", "windows-1252")"#,
    )
    // Packer's clock functions (the peer formats its fixed clock with Go's time package) and
    // its date parsers (Go's time.Parse, YearDay, ISOWeek).
    + expr(
      #"timestamp()"#, #"legacy_isotime("2006-01-02")"#, #"legacy_isotime("Mon Jan _2 15:04:05 MST 2006")"#,
      #"legacy_isotime("Monday, 02-Jan-06 15:04:05.000 -0700")"#, #"legacy_isotime("3:04:05PM pm .999 ,000 .9 Z07:00 Z0700 -07")"#,
      #"legacy_isotime("January 2 __2 002 _2006 1 06")"#, #"legacy_isotime("Janet Monday Mond MSTx 20060")"#, #"legacy_isotime("")"#,
      #"legacy_isotime("no verbs here")"#, #"legacy_isotime("15:04:05.000000000")"#, #"legacy_isotime("2006-01-02T15:04:05Z07:00")"#,
      #"rfc3339_parse("2023-07-25T23:43:16Z")"#, #"rfc3339_parse("1996-12-19T16:39:57-08:00")"#, #"rfc3339_parse("2020-12-31T23:59:59Z")"#,
      #"rfc3339_parse("2021-01-03T00:00:00Z")"#, #"rfc3339_parse("2018-12-31T12:00:00Z")"#, #"rfc3339_parse("2016-01-01T00:00:00+14:00")"#,
      #"rfc3339_parse("2000-02-29T00:00:00Z")"#, #"rfc3339_parse("1900-03-01T00:00:00Z")"#, #"rfc3339_parse("0001-01-01T00:00:00Z")"#,
      #"rfc3339_parse("9999-12-31T23:59:59.999999999Z")"#, #"rfc3339_parse("2023-07-25 23:43:16.5Z")"#, #"rfc3339_parse("2023-07-25")"#,
      #"rfc3339_parse("nope")"#, #"rfc3339_parse("2023-02-29T00:00:00Z")"#, #"rfc3339_parse("1969-12-31T23:59:59Z")"#,
      #"unix_timestamp_parse(1690328596)"#, #"unix_timestamp_parse(851042397)"#, #"unix_timestamp_parse(-1)"#, #"unix_timestamp_parse(0)"#,
      #"unix_timestamp_parse(253402300799)"#, #"unix_timestamp_parse(-62135596800)"#, #"unix_timestamp_parse(1.5)"#,
      #"unix_timestamp_parse(1e20)"#, #"unix_timestamp_parse(9223372036854775807)"#, #"unix_timestamp_parse(1609459200)"#,
    )

  /// Kiln's `bcrypt` hashes, checked by Go's x/crypto bcrypt (`bcrypt_matches` in the peer).
  @Test func bcryptHashesVerifyWithGoBcrypt() async throws {
    let peer = try await HCLPeer.build()
    var cases: [HCLPeer.Case] = []
    var hashes: [String] = []
    for (password, cost) in [("hunter2", 4), ("", 5), ("pässwörd with spaces", 4), (String(repeating: "x", count: 72), 4)] {
      let (expression, _) = HCL.parseExpression("bcrypt(\(Canonical.quote(password)), \(cost))")
      let hash = try expression.value(in: EvalContext(variables: [:], functions: Self.functions))
      guard case .string(let text) = hash else {
        Issue.record("bcrypt gave \(hash)")
        continue
      }
      #expect(text.hasPrefix("$2a$0\(cost)$") && text.utf8.count == 60, "\(text)")
      hashes.append(text)
      cases.append(HCLPeer.Case(kind: "expr", source: "bcrypt_matches(\(Canonical.quote(text)), \(Canonical.quote(password)))", variables: [:]))
      cases.append(HCLPeer.Case(kind: "expr", source: "bcrypt_matches(\(Canonical.quote(text)), \(Canonical.quote("!" + password)))", variables: [:]))
    }
    let answers = try await peer.answer(cases)
    try #require(answers.count == cases.count)
    for (index, answer) in answers.enumerated() {
      #expect(answer.value == (index % 2 == 0 ? "true" : "false"), "\(cases[index].source): \(answer)")
    }
    // Two hashes of one password differ (random salts).
    let (again, _) = HCL.parseExpression("bcrypt(\"hunter2\", 4)")
    #expect(try Canonical.render(again.value(in: EvalContext(variables: [:], functions: Self.functions))) != "\"\(hashes[0])\"")
  }
}

/// Packer's functions against Debian's Packer 1.6.6 (`packer console -config-type=hcl2`), for
/// the ones it has and cty does not: each row is `jsonencode(EXPR)` in a directory with a
/// few files, and Kiln's text must be Packer's, or both refuse it.
@Suite struct HCLPeerPackerConsoleTests {
  static let rows: [String] = [
    #"cidrhost("10.12.112.0/20", 16)"#, #"cidrhost("10.12.112.0/20", 268)"#, #"cidrhost("10.12.112.0/20", -1)"#,
    #"cidrhost("fd00:fd12:3456:7890:00a2::/72", 34)"#, #"cidrhost("10.0.0.0/30", 4)"#, #"cidrhost("10.0.0.0/8x", 1)"#,
    #"cidrnetmask("172.16.0.0/12")"#, #"cidrnetmask("10.0.0.0/0")"#, #"cidrnetmask("10.0.0.0/32")"#, #"cidrnetmask("nope")"#,
    #"cidrsubnet("172.16.0.0/12", 4, 2)"#, #"cidrsubnet("10.1.2.0/24", 4, 15)"#, #"cidrsubnet("fd00:fd12:3456:7890::/56", 16, 162)"#,
    #"cidrsubnet("10.1.2.0/24", 4, 16)"#, #"cidrsubnet("10.1.2.0/24", 9, 0)"#, #"cidrsubnet("10.1.2.5/24", 1, 1)"#,
    #"cidrsubnets("10.1.0.0/16", 4, 4, 8, 4)"#, #"cidrsubnets("fd00:fd12:3456:7890::/56", 16, 16, 16, 32)"#,
    #"cidrsubnets("10.0.0.0/8", 1, 1, 1)"#, #"cidrsubnets("10.0.0.0/30", 3)"#, #"cidrsubnets("10.0.0.0/24")"#,
    #"uuidv5("dns", "www.example.com")"#, #"uuidv5("url", "https://www.example.com/")"#, #"uuidv5("oid", "1.2.3")"#,
    #"uuidv5("x500", "cn=x")"#, #"uuidv5("743ac3c0-3bf7-4a5b-9e6c-59360447c757", "LIBS:diskfont.library")"#, #"uuidv5("nope", "x")"#,
    #"md5("hello world")"#, #"sha1("hello world")"#, #"sha256("hello world")"#, #"sha512("hello world")"#,
    #"basename("foo/bar/baz.txt")"#, #"basename("/")"#, #"basename("")"#, #"basename("a/b/")"#,
    #"dirname("foo/bar/baz.txt")"#, #"dirname("/a")"#, #"dirname("a")"#, #"dirname("a//b/../c/")"#,
    #"pathexpand("/etc/x")"#, #"pathexpand("~user/x")"#, #"pathexpand("~/x")"#, #"file("~/hello.txt")"#, #"abspath("/a/./b/../c//d/")"#,
    #"abspath("/")"#,
    #"file("hello.txt")"#, #"file("sub/a.txt")"#, #"file("nope.txt")"#, #"file("sub")"#, #"file("binary.bin")"#,
    #"fileexists("hello.txt")"#, #"fileexists("nope.txt")"#, #"fileexists("sub")"#,
    #"fileset(".", "*.txt")"#, #"fileset(".", "sub/**/*.txt")"#, #"fileset("sub", "**")"#, #"fileset(".", "sub/*.{txt,md}")"#,
    #"fileset(".", "sub/?.txt")"#, #"fileset(".", "[")"#, #"fileset("sub", "nothing*")"#,
    #"yamldecode("a: yes\nb: on\nc: ~\nd: 1.5\ne: 0x10\nf: \"s\"\ng: [1, two]\nh: 1e3\nj: 012\nk: Yes\nl: TRUE\nm: null\no: off")"#,
    #"yamldecode("- 1\n- [a, b]\n- {x: 1}\n- 'quoted'\n- |\n  block\n  text\n")"#, #"yamldecode("")"#, #"yamldecode("a: 1\n---\nb: 2")"#,
    #"yamldecode("a: [")"#, #"yamldecode("hello")"#, #"yamldecode("true")"#, #"yamldecode("a: &x 1\nb: *x")"#,
    #"yamldecode("a: !!str 1\nb: !!int \"2\"\nc: !!int 3")"#, #"yamldecode("1: one\n2.5: two\ntrue: three")"#,
    #"yamldecode("a: 1_000\nb: +12\nc: -0.5e-2\nd: .5\ng: 1:20\nh: '1'\ni: \"yes\"")"#, #"yamldecode("? complex\n: key")"#,
    #"yamldecode("a:\n  - b\n  -\n    c: 1")"#,
    ##"yamlencode({a = " lead", b = "x: y", c = "", d = "- z", e = "123", f = "true", g = "ünï", h = "#x", i = 12345678901234567890})"##,
    #"yamlencode([{}, [], null, "a b"])"#, #"yamlencode({a = [[1, [2]]]})"#, #"yamlencode({x = "line1\n  indented\nline3"})"#,
    #"yamlencode({a = "multi\nline", b = [], c = {}, d = null, e = true, f = 1.5, g = [{x = 1, y = [2]}]})"#,
    #"yamlencode({h = "a very long string that goes on and on and on and on and on and on and on and past eighty columns wide"})"#,
    #"yamlencode("x")"#, #"yamlencode(true)"#, #"yamlencode(1.5)"#, #"yamlencode(["a\nb"])"#,
    #"yamlencode({a = ["x\ny", {b = "p\nq\n"}]})"#, #"yamlencode([[1, 2], [3]])"#, #"yamlencode({a = {b = {c = "d"}}, e = ""})"#,
    #"yamlencode(["tab\there", "q\"uote"])"#,
    #"yamlencode({"key with: colon" = "é", n = -0.25})"#, #"yamlencode([])"#, #"yamlencode(null)"#, #"yamlencode("trailing\n")"#,
    #"convert([1], list(string))"#, #"convert("x", number)"#,
  ]

  static func fixtures() throws -> URL {
    let directory = try Scratch.directory("kiln-packer-console")
    let files: [(String, [UInt8])] = [
      ("hello.txt", Array("Hello\n".utf8)), ("other.txt", Array("other".utf8)), ("sub/a.txt", Array("a\n".utf8)),
      ("sub/b.md", Array("b\n".utf8)), ("sub/deep/c.txt", Array("c\n".utf8)), ("binary.bin", [0xFF, 0xFE, 0x00]),
    ]
    for (name, bytes) in files {
      let url = directory.appendingPathComponent(name)
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try Data(bytes).write(to: url)
    }
    return directory
  }

  /// Packer's answer: its printed JSON, or nil when it refused.
  static func packer(_ expression: String, in directory: URL) async throws -> String? {
    let captured = try await ChildProcess.capture(
      "/usr/bin/nice", arguments: ["-n", "19", "packer", "console", "-config-type=hcl2"],
      environment: ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": directory.path, "CHECKPOINT_DISABLE": "1"],
      directory: directory.path, input: Array("jsonencode(\(expression))\n".utf8), mergeErrors: true, timeout: .seconds(60))
    let text = String(decoding: captured.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    return text.hasPrefix("Error") || text.isEmpty ? nil : text
  }

  static func kiln(_ expression: String, in directory: URL) -> String? {
    let context = PackerFunctionContext(baseDirectory: directory.path, now: Date(), environment: ["HOME": directory.path])
    let (parsed, problems) = HCL.parseExpression("jsonencode(\(expression))")
    guard problems.isEmpty else { return nil }
    let result = parsed.evaluate(in: EvalContext(variables: [:], functions: PackerFunctions.table(context)))
    guard result.diagnostics.isEmpty, case .string(let json) = result.value else { return nil }
    return json
  }

  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/packer"), "Debian's packer is installed by .ci/install-deps"))
  func everyRowAnswersAsPacker166Does() async throws {
    let directory = try Self.fixtures()
    // Packer's answers, four processes at a time (each is mostly its own start-up).
    var answers = [String?](repeating: nil, count: Self.rows.count)
    try await withThrowingTaskGroup(of: (Int, String?).self) { group in
      var next = 0
      func start() {
        guard next < Self.rows.count else { return }
        let (index, row) = (next, Self.rows[next])
        group.addTask { (index, try await Self.packer(row, in: directory)) }
        next += 1
      }
      for _ in 0..<4 { start() }
      while let (index, answer) = try await group.next() {
        answers[index] = answer
        start()
      }
    }
    var agreed = 0
    for (row, theirs) in zip(Self.rows, answers) {
      let mine = Self.kiln(row, in: directory)
      #expect(mine == theirs, "\(row): Kiln \(mine ?? "refused"), Packer 1.6.6 \(theirs ?? "refused")")
      if mine == theirs { agreed += 1 }
    }
    print("Packer console peer: \(agreed)/\(Self.rows.count) rows agree")
  }

  /// `timestamp()` and `uuidv4()`: Packer's clock and randomness are not ours, so the formats
  /// are compared, not the values.
  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/packer"), "Debian's packer is installed by .ci/install-deps"))
  func timestampAndUUIDFormatsAreAsPacker166s() async throws {
    let directory = try Self.fixtures()
    let shapes = [
      ("timestamp()", #"^"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"$"#),
      ("uuidv4()", #"^"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"$"#),
    ]
    for (row, shape) in shapes {
      let theirs = try await Self.packer(row, in: directory)
      let mine = Self.kiln(row, in: directory)
      #expect(theirs?.range(of: shape, options: .regularExpression) != nil, "Packer 1.6.6 \(row): \(theirs ?? "refused")")
      #expect(mine?.range(of: shape, options: .regularExpression) != nil, "Kiln \(row): \(mine ?? "refused")")
    }
  }

  /// `rsadecrypt` of what `openssl pkeyutl -encrypt` wrote, with a key `openssl genrsa` made.
  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/packer"), "Debian's packer is installed by .ci/install-deps"))
  func rsadecryptAnswersAsPacker166Does() async throws {
    let directory = try Self.fixtures()
    func openssl(_ arguments: [String], input: [UInt8]? = nil) async throws -> [UInt8] {
      let captured = try await ChildProcess.capture(
        "/usr/bin/openssl", arguments: arguments, directory: directory.path, input: input, timeout: .seconds(60))
      try #require(captured.termination == .exited(0), "openssl \(arguments): \(captured.errorText)")
      return captured.output
    }
    _ = try await openssl(["genrsa", "-traditional", "-out", "key.pem", "2048"])
    _ = try await openssl(["rsa", "-in", "key.pem", "-pubout", "-out", "public.pem"])
    let ciphertext = try await openssl(
      ["pkeyutl", "-encrypt", "-pubin", "-inkey", "public.pem", "-pkeyopt", "rsa_padding_mode:pkcs1"], input: Array("Hello, wörld!".utf8))
    let encoded = Data(ciphertext).base64EncodedString()
    let pem = try String(contentsOf: directory.appendingPathComponent("key.pem"), encoding: .utf8)
    let rows = [
      "rsadecrypt(\(Canonical.quote(encoded)), \(Canonical.quote(pem)))", "rsadecrypt(\"not base64!\", \(Canonical.quote(pem)))",
      "rsadecrypt(\(Canonical.quote(encoded)), \"not a key\")", "rsadecrypt(\"AAAA\", \(Canonical.quote(pem)))",
    ]
    for row in rows {
      let theirs = try await Self.packer(row, in: directory)
      let mine = Self.kiln(row, in: directory)
      #expect(mine == theirs, "\(row.prefix(40)): Kiln \(mine ?? "refused"), Packer 1.6.6 \(theirs ?? "refused")")
    }
    #expect(Self.kiln(rows[0], in: directory) == "\"Hello, wörld!\"")
  }
}

/// Packer's functions that neither cty nor Packer 1.6.6 has, against the examples of Packer's
/// function documentation and its own tests (legacy_*, rfc3339_parse, unix_timestamp_parse,
/// base64gzip, filebase64, env), and what Kiln adds: bounds, and the secrets functions'
/// "not supported".
@Suite struct HCLPeerPackerDocExampleTests {
  /// 2021-04-19T07:44:12Z, the documentation's clock.
  static let now = Date(timeIntervalSince1970: 1_618_818_252)

  static func evaluate(
    _ source: String, base: String = "/nonexistent", environment: [String: String] = [:], limits: EvalLimits = .standard
  ) -> (String?, [HCLDiagnostic]) {
    let context = PackerFunctionContext(baseDirectory: base, now: now, environment: environment)
    var functions = PackerFunctions.table(context)
    functions.merge(PackerFunctions.variableDefaultFunctions(context)) { table, _ in table }
    let (expression, problems) = HCL.parseExpression(source, filename: "t.pkr.hcl")
    guard problems.isEmpty else { return (nil, problems) }
    let result = expression.evaluate(in: EvalContext(variables: [:], functions: functions), limits: limits)
    return result.diagnostics.isEmpty ? (Canonical.render(result.value), []) : (nil, result.diagnostics)
  }

  static let examples: [(String, String)] = [
    (#"legacy_isotime("2006-01-02")"#, #""2021-04-19""#),
    (#"legacy_isotime()"#, #""2021-04-19T07:44:12Z""#),
    (#"legacy_isotime("Mon Jan _2 15:04:05 MST 2006")"#, #""Mon Apr 19 07:44:12 UTC 2021""#),
    (#"legacy_isotime("01-02-2006 3:04PM .000 Z07:00 -0700 002")"#, #""04-19-2021 7:44AM .000 Z +0000 109""#),
    (#"legacy_strftime("%Y-%m")"#, #""2021-04""#),
    (#"legacy_strftime("%a %A %b %B %d %H %I %M %S %y %p %Z %z %% %q %")"#, #""Mon Monday Apr April 19 07 07 44 12 21 AM UTC +0000 % %q %""#),
    (#"timestamp()"#, #""2021-04-19T07:44:12Z""#),
    (
      #"rfc3339_parse("2023-07-25T23:43:16Z")"#,
      #"object{"day":25,"hour":23,"iso_week":30,"iso_year":2023,"minute":43,"month":7,"month_name":"July","second":16,"unix":1690328596,"weekday":2,"weekday_name":"Tuesday","year":2023,"year_day":206}"#
    ),
    (
      #"rfc3339_parse("1996-12-19T16:39:57-08:00")"#,
      #"object{"day":19,"hour":16,"iso_week":51,"iso_year":1996,"minute":39,"month":12,"month_name":"December","second":57,"unix":851042397,"weekday":4,"weekday_name":"Thursday","year":1996,"year_day":354}"#
    ),
    (#"rfc3339_parse("2023-07-25 23:43:16Z").unix"#, "1690328596"),
    (
      #"unix_timestamp_parse(1690328596)"#,
      #"object{"day":25,"hour":23,"iso_week":30,"iso_year":2023,"minute":43,"month":7,"month_name":"July","rfc3339":"2023-07-25T23:43:16Z","second":16,"weekday":2,"weekday_name":"Tuesday","year":2023,"year_day":206}"#
    ),
    (#"unix_timestamp_parse(851042397).year_day"#, "355"),
    (#"unix_timestamp_parse(0).rfc3339"#, #""1970-01-01T00:00:00Z""#),
    // Go's extreme: time.Unix(math.MaxInt64, 0) in UTC.
    (#"unix_timestamp_parse(9223372036854775807).rfc3339"#, #""292277026596-12-04T15:30:07Z""#),
    (#"unix_timestamp_parse(9223372036854775807).year_day"#, "339"),
    (#"env("KILN_TEST_REGION")"#, #""eu-west-3""#),
    (#"env("KILN_TEST_UNSET")"#, #""""#),
    (#"pathexpand("~/.ssh/id")"#, #""/home/kiln/.ssh/id""#),
    (#"pathexpand("~")"#, #""/home/kiln""#),
    (#"basename(abspath("/a/b/../c"))"#, #""c""#),
    (#"uuidv5("dns", "www.example.com")"#, #""2ed6657d-e927-568b-95e1-2665a8aea6a2""#),
    (#"length(uuidv4())"#, "36"),
    (#"substr(uuidv4(), 14, 1)"#, #""4""#),
    (#"yamldecode("a: 1\nb: [yes, '2']")"#, #"object{"a":1,"b":tuple[true,"2"]}"#),
    (#"textencodebase64("Hello World", "UTF-16LE")"#, #""SABlAGwAbABvACAAVwBvAHIAbABkAA==""#),
    (#"textdecodebase64("SABlAGwAbABvACAAVwBvAHIAbABkAA==", "UTF-16LE")"#, #""Hello World""#),
  ]

  @Test(arguments: examples)
  func documentedExample(_ example: (String, String)) {
    let (value, problems) = Self.evaluate(example.0, environment: ["KILN_TEST_REGION": "eu-west-3", "HOME": "/home/kiln"])
    #expect(value == example.1, "\(example.0): \(problems.map(\.description))")
  }

  @Test func packerTableHasExactlyPackersNames() {
    let names = Set(PackerFunctions.table(PackerFunctionContext(baseDirectory: "/", now: Self.now, environment: [:])).keys)
    // hcl2template/functions.go of Packer 1.16.0 (1.9.4's, plus alltrue, anytrue, aws_secretsmanager_raw, base64gzip,
    // endswith, filebase64, rfc3339_parse, startswith, strcontains, sum, textdecodebase64, textencodebase64,
    // unix_timestamp_parse).
    let packer: Set<String> = [
      "abs", "abspath", "alltrue", "anytrue", "aws_secretsmanager", "aws_secretsmanager_raw", "basename", "base64decode",
      "base64encode", "base64gzip", "bcrypt", "can", "ceil", "chomp", "chunklist", "cidrhost", "cidrnetmask", "cidrsubnet",
      "cidrsubnets", "coalesce", "coalescelist", "compact", "concat", "consul_key", "contains", "convert", "csvdecode", "dirname",
      "distinct", "element", "endswith", "file", "filebase64", "fileexists", "fileset", "flatten", "floor", "format", "formatdate",
      "formatlist", "indent", "index", "join", "jsondecode", "jsonencode", "keys", "legacy_isotime", "legacy_strftime", "length",
      "log", "lookup", "lower", "max", "md5", "merge", "min", "parseint", "pathexpand", "pow", "range", "reverse", "replace", "regex",
      "regexall", "regex_replace", "rfc3339_parse", "rsadecrypt", "setintersection", "setproduct", "setunion", "sha1", "sha256",
      "sha512", "signum", "slice", "sort", "split", "startswith", "strcontains", "strrev", "substr", "sum", "templatefile",
      "textdecodebase64", "textencodebase64", "timestamp", "timeadd", "title", "trim", "trimprefix", "trimspace", "trimsuffix", "try",
      "unix_timestamp_parse", "upper", "urlencode", "uuidv4", "uuidv5", "values", "vault", "yamldecode", "yamlencode", "zipmap",
    ]
    #expect(names == packer, "extra: \(names.subtracting(packer).sorted()), missing: \(packer.subtracting(names).sorted())")
    #expect(!names.contains("env"))
  }

  @Test(arguments: [
    #"vault("/secret/data/hello", "foo")"#, #"consul_key("my/key")"#, #"aws_secretsmanager("name", "key")"#,
    #"aws_secretsmanager_raw("name")"#,
  ])
  func secretsStoresAreNotSupported(_ source: String) {
    let (value, problems) = Self.evaluate(source)
    let name = String(source.prefix { $0 != "(" })
    #expect(value == nil)
    #expect(problems.count == 1)
    #expect(problems.first?.description.hasPrefix("t.pkr.hcl:1:1: error: Error in function call") == true, "\(problems)")
    #expect(problems.first?.detail.contains("\(name) is not supported by Kiln") == true, "\(problems)")
  }

  @Test func templatefileRendersAndCannotRecurse() throws {
    let directory = try Scratch.directory("kiln-templatefile")
    try Data("%{ for addr in ip_addrs ~}\nbackend ${addr}:${port}\n%{ endfor ~}\n".utf8).write(to: directory.appendingPathComponent("backends.tmpl"))
    try Data("${templatefile(\"backends.tmpl\", {})}".utf8).write(to: directory.appendingPathComponent("loop.tmpl"))
    try Data("${nope}".utf8).write(to: directory.appendingPathComponent("unknown.tmpl"))
    let (value, problems) = Self.evaluate(
      #"templatefile("backends.tmpl", { port = 8080, ip_addrs = ["10.0.0.1", "10.0.0.2"] })"#, base: directory.path)
    #expect(value == #""backend 10.0.0.1:8080\u000abackend 10.0.0.2:8080\u000a""#, "\(problems)")
    let (_, recursion) = Self.evaluate(#"templatefile("loop.tmpl", {})"#, base: directory.path)
    #expect(recursion.first?.detail.contains("cannot recursively call templatefile from inside templatefile call") == true, "\(recursion)")
    let (_, unknown) = Self.evaluate(#"templatefile("unknown.tmpl", {a = 1})"#, base: directory.path)
    #expect(unknown.first?.detail.contains("vars map does not contain key \"nope\", referenced at unknown.tmpl:1,3-7") == true, "\(unknown)")
    let (_, badVars) = Self.evaluate(#"templatefile("unknown.tmpl", "x")"#, base: directory.path)
    #expect(badVars.first?.detail.contains("invalid vars value: must be a map") == true, "\(badVars)")
    // Renderings share the calling evaluation's bounds: many costly calls add up, not multiply.
    try Data("%{ for a in range(100) }x%{ endfor }".utf8).write(to: directory.appendingPathComponent("heavy.tmpl"))
    let bounded = EvalLimits(steps: 50_000)
    let (one, oneProblems) = Self.evaluate(#"length(templatefile("heavy.tmpl", {}))"#, base: directory.path, limits: bounded)
    #expect(one == "100", "\(oneProblems)")
    let (_, costly) = Self.evaluate(#"[for i in range(1000): templatefile("heavy.tmpl", {})]"#, base: directory.path, limits: bounded)
    #expect(costly.contains { $0.summary == "Evaluation too costly" }, "\(costly.map(\.description))")
  }

  @Test func fileReadsAreBounded() throws {
    let directory = try Scratch.directory("kiln-file-bound")
    let big = directory.appendingPathComponent("big.txt")
    #expect(FileManager.default.createFile(atPath: big.path, contents: nil))
    let handle = try FileHandle(forWritingTo: big)
    try handle.truncate(atOffset: UInt64(17 << 20))
    try handle.close()
    let (value, problems) = Self.evaluate(#"file("big.txt")"#, base: directory.path)
    #expect(value == nil)
    #expect(problems.first?.detail.contains("Kiln reads files of at most 16 MiB") == true, "\(problems)")
    let (hash, hashProblems) = Self.evaluate(#"fileexists("big.txt")"#, base: directory.path)
    #expect(hash == "true", "\(hashProblems)")
  }

  @Test func filesetIsBounded() throws {
    let directory = try Scratch.directory("kiln-fileset-bound")
    for index in 0..<3 {
      try Data().write(to: directory.appendingPathComponent("f\(index).txt"))
    }
    let (value, _) = Self.evaluate(#"fileset(".", "*.txt")"#, base: directory.path)
    #expect(value == #"set["f0.txt","f1.txt","f2.txt"]"#)
    let (_, braces) = Self.evaluate(#"fileset(".", "{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}")"#, base: directory.path)
    #expect(braces.first?.detail.contains("more than 1024 patterns") == true, "\(braces)")
  }

  @Test func base64gzipIsGzip() async throws {
    let (value, problems) = Self.evaluate(#"base64gzip("helloworld")"#)
    guard let value, case let text = String(value.dropFirst().dropLast()), let data = Data(base64Encoded: text) else {
      Issue.record("base64gzip gave nothing: \(problems)")
      return
    }
    let captured = try await ChildProcess.capture("/bin/gzip", arguments: ["-dc"], input: Array(data), timeout: .seconds(30))
    #expect(captured.termination == .exited(0))
    #expect(String(decoding: captured.output, as: UTF8.self) == "helloworld")
  }

  @Test func extremesAreValuesOrErrorsNeverTraps() {
    // Go wraps time.Unix(math.MinInt64, 0) around; Kiln gives the proleptic date.
    let (minimum, problems) = Self.evaluate(#"unix_timestamp_parse(-9223372036854775808).year"#)
    #expect(minimum != nil, "\(problems)")
    let (_, duration) = Self.evaluate(#"timeadd("2017-11-22T00:00:00Z", "2562047h47m16.854775808s")"#)
    #expect(duration.first?.detail.contains("time: invalid duration") == true, "\(duration)")
    let (_, tooBig) = Self.evaluate(#"unix_timestamp_parse(1e30)"#)
    #expect(tooBig.first?.detail.contains("whole number of seconds") == true, "\(tooBig)")
  }

  @Test func bcryptRefusesWhatWouldHang() {
    let (_, problems) = Self.evaluate(#"bcrypt("x", 20)"#)
    #expect(problems.first?.detail.contains("cost") == true, "\(problems)")
    let (_, long) = Self.evaluate("bcrypt(\"\(String(repeating: "y", count: 73))\")")
    #expect(long.first?.detail.contains("password length exceeds 72 bytes") == true, "\(long)")
  }
}

/// Every Packer function with every pair of odd arguments (empty, huge, negative, null,
/// unknown, collections, patterns, malformed timestamps and prefixes): values or positioned
/// errors, never a trap, each call quick.
@Suite struct HCLPeerPackerFunctionRobustnessTests {
  static let arguments = [
    #""""#, #""x""#, "-1", "1e400", "9223372036854775808", "-9223372036854775809", "0.5", "null", "[]", "{}", #""**""#,
    #""10.0.0.0/8""#, #""::/0""#, #""2006-01-02T15:04:05Z""#, #""%'""#, #""~""#, #""a: *x""#, "true", "[[1], {a = null}]", "unknown",
  ]

  @Test func everyFunctionTakesOddArguments() throws {
    let directory = try Scratch.directory("kiln-packer-robustness")
    try Data("${x}".utf8).write(to: directory.appendingPathComponent("x"))
    let context = PackerFunctionContext(baseDirectory: directory.path, now: Date(timeIntervalSince1970: -1e12), environment: [:])
    let functions = PackerFunctions.table(context).merging(PackerFunctions.variableDefaultFunctions(context)) { table, _ in table }
    let evalContext = EvalContext(variables: ["unknown": .dynamicUnknown], functions: functions)
    var calls = 0
    for name in functions.keys.sorted() where name != "bcrypt" {
      var lists: [[String]] = [[]]
      lists += Self.arguments.map { [$0] }
      lists += Self.arguments.flatMap { a in Self.arguments.map { [a, $0] } }
      for list in lists {
        let source = "\(name)(\(list.joined(separator: ", ")))"
        let (expression, problems) = HCL.parseExpression(source, filename: "odd.pkr.hcl")
        try #require(problems.isEmpty, "\(source)")
        let started = ContinuousClock.now
        let result = expression.evaluate(in: evalContext, limits: EvalLimits(steps: 100_000))
        let elapsed = ContinuousClock.now - started
        #expect(elapsed < .seconds(5), "\(source) took \(elapsed)")
        for problem in result.diagnostics {
          #expect(problem.subject?.filename == "odd.pkr.hcl", "\(source): \(problem)")
        }
        calls += 1
      }
    }
    #expect(calls > 30_000)
  }
}
