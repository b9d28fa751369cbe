import Foundation
import KilnHCL
import Testing
import _KilnTestSupport

/// `kiln fmt`'s formatter (`HCLCanonicalFormat`) against `hclwrite.Format`, byte for byte:
/// on every `.pkr.hcl`/`.pkrvars.hcl` the repository and `../shared/conformance/hcl2/` hold,
/// and on a table of awkward inputs. A file either side refuses to parse must be refused by
/// both (the peer's `fmt` mode parses first, as `packer fmt` does).
@Suite struct HCLFormatPeerTests {
  /// Inputs chosen to exercise every rule of the layout.
  static let awkward: [String] = [
    // Alignment of `=`, and groups broken by a blank line, a comment line, a block.
    "a = 1\nbbb = 2\ncc = 3\n",
    "a = 1\nbbbbbb = 2\n\ncc = 3\nd = 4\n",
    "a = 1\n# between\nbbbbbb = 2\n",
    "a = 1\nbbbbbb = 2 # two\ncc = \"x\" // x\n",
    "a   =   1    # one\n  bb=2#two\n",
    "block \"x\" {\na=1\nlonger_name=2\nnested {\nz=3\n}\n}\n",
    "x = {\na = 1\nbbb = 2\n}\n",
    "x = {a=1, b=2}\ny = [1,2 , 3]\n",
    "x = {\n  a = {\n    b = {\n      c = 1\n    }\n  }\n}\n",
    "list = [\n1,\n2,\n[3,\n4],\n]\n",
    "x = [for s in var.list: upper(s) if s != \"\"]\ny = {for k, v in var.map: k => v...}\n",
    "x = [for x in [1, 2]: x]\n",
    "a = -1\nb = 2 - -3\nc = (-4)\nd = [-5, - 6]\ne = x ? -1 : -2\nf = !true\ng = 1-2\nh = a.b-1\n",
    "a = foo.*.bar\nb = foo[*].bar\nc = foo[0][1]\nd = foo . bar [ 2 ]\n",
    "a = f(1,2 ,3)\nb = f(list...)\nc = f( )\nd = f(\n1,\n2,\n)\n",
    "a = 1 + 2 * 3 / 4 % 5\nb = a==b&&c!=d||e<f\nc = x>=1 && y<=2\n",
    "t = \"a ${ var.x } b %{ if true }yes%{ else }no%{ endif } ${~ 1 ~}\"\n",
    "t = \"%{ for x in y ~}${x},%{~ endfor }\"\n",
    "t = \"${ {a = 1} }\"\n",
    "h = <<EOT\n  kept   as is\n\tand tabs\n  ${ var.x }\nEOT\nnext = 1\n",
    "h = <<-EOT\n    indented\n      more\n    EOT\n",
    "b {\n  h = <<-EOT\n      x = 1\n    EOT\n  after    = 2\n}\n",
    "# hash comment\n// slash comment\n/* block\n   comment */\na = 1 /* inline */ + 2\n",
    "a = 1 # trailing without newline",
    "a = 1\r\nbb = 2\r\n# c\r\nblock {\r\nx = 1\r\n}\r\n",
    "a = 1   \nb = 2\t\n   \n\t\nc = 3\n",
    "\ta\t=\t1\n\tblock\t{\n\t\tx = 2\n\t}\n",
    "a = 1\n\n\n\nb = 2\n",
    "a = 1\n   ",
    "",
    "\n\n",
    "variable \"x\" {\ntype=list(string)\ndefault=[\"a\",\"b\"]\nvalidation {\ncondition=length(var.x)>0\nerror_message=\"Empty.\"\n}\n}\n",
    "source \"amazon-ebs\" \"x\" {\ntags = {\nName=\"n\"\n\"quoted key\" = 1\n}\nami_block_device_mappings {\ndevice_name=\"/dev/sda1\"\n}\n}\n",
    "a = { for k, v in m : k => v if v != null }\n",
    "a = x ? y : z\nb = x?y:z\n",
    "a = 1.5e3\nb = \"\\\"escaped\\\" \\n\"\nc = \"$${not} %%{not}\"\n",
    "a = [\n  1, # one\n  22, # twenty-two\n]\n",
    "a = {\n  k = 1 // c\n  kk = 2 // d\n}\n",
    "x = \"é\" # accent\nlonger = \"ab\" # ascii\n",
    "a = (1 +\n2)\nb = 3\n",
    "b { }\nc {}\nd { a = 1 }\n",
    "x = foo[\"k\"].bar[0]\ny = foo.0.bar\n",
    "a = !x && - y\n",
    "x = <<EOT\n%{ for a in b ~}\n  ${ a }\n%{ endfor }\nEOT\n",
    "a = f(\n  1, # c\n  g(2,\n    3),\n)\n",
    "a = [\nfor x in y:\nx\n]\n",
    "a = 1\r\n  # c\r\nb = 2 # d\r\n",
    "  \n",
    "a = \"x\"   \n\n\n",
    "a=1 /* c */\n/* c */ b = 1\n",
    "a = {\n  # only a comment\n}\nb = [ # open\n  1,\n] # close\n",
    "locals {\n  x = var.a ? {\n    k = 1\n    } : {\n    k = 2\n  }\n  y = 1\n}\n",
  ]

  /// Inputs where more than spaces change: a byte order mark is dropped (as hclwrite does).
  static let peerOnly: [String] = ["\u{FEFF}a=1\n", "\u{FEFF}"]

  /// The files: the repository's and the shared corpus's, sorted.
  static func corpus() throws -> [URL] {
    let roots = [TestPaths.repository, TestPaths.shared.appendingPathComponent("conformance/hcl2")]
    var files: [URL] = []
    for root in roots {
      guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { continue }
      for case let url as URL in walker {
        if url.path.contains("/.build") { continue }
        if url.lastPathComponent.hasSuffix(".pkr.hcl") || url.lastPathComponent.hasSuffix(".pkrvars.hcl") { files.append(url) }
      }
    }
    return files.sorted { $0.path < $1.path }
  }

  @Test func matchesHclwriteOnTheCorpusAndTheTable() async throws {
    let peer = try await HCLPeer.build()
    let files = try Self.corpus()
    #expect(files.count >= 55, "the shared corpus has 55 HCL2 templates")
    var sources: [(name: String, text: String)] = try files.map { ($0.path, try String(contentsOf: $0, encoding: .utf8)) }
    sources += (Self.awkward + Self.peerOnly).enumerated().map { ("awkward \($0.offset)", $0.element) }
    // The already formatted corpus, scrambled: every gap widened, so that every rule acts.
    sources += try files.prefix(20).map { url in
      let text = try String(contentsOf: url, encoding: .utf8)
      return ("scrambled \(url.lastPathComponent)", text.replacingOccurrences(of: " = ", with: "   =\t").replacingOccurrences(of: "\n  ", with: "\n"))
    }
    let answers = try await peer.answer(sources.map { HCLPeer.Case(kind: "fmt", source: $0.text, variables: [:]) })
    try #require(answers.count == sources.count)
    var compared = 0
    for (source, answer) in zip(sources, answers) {
      let (formatted, diagnostics) = HCLCanonicalFormat.format(Array(source.text.utf8), filename: "test.hcl")
      if let problems = answer.diagnostics, !problems.isEmpty {
        #expect(formatted == nil, "\(source.name): hclsyntax refuses it (\(problems[0].summary)), Kiln formatted it")
        continue
      }
      #expect(!diagnostics.hasErrors, "\(source.name): Kiln refuses it: \(diagnostics.first?.description ?? "")")
      let kiln = formatted.map { String(decoding: $0, as: UTF8.self) }
      #expect(kiln == answer.value, "\(source.name): Kiln's layout differs from hclwrite's")
      compared += 1
    }
    #expect(compared >= sources.count - 2)
  }

  /// Formatting is idempotent, and changes nothing but spaces, tabs and line-end spaces.
  @Test(arguments: awkward) func changesOnlyWhiteSpace(_ source: String) throws {
    let once = HCLCanonicalFormat.formatTokens(Array(source.utf8))
    #expect(HCLCanonicalFormat.formatTokens(once) == once)
    let significant = { (bytes: [UInt8]) in bytes.filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") } }
    #expect(significant(once) == significant(Array(source.utf8)))
  }

  @Test func refusesWhatDoesNotParse() {
    let (formatted, diagnostics) = HCLCanonicalFormat.format(Array("a = \nb = {\n".utf8), filename: "bad.pkr.hcl")
    #expect(formatted == nil)
    #expect(diagnostics.hasErrors)
    #expect(diagnostics.first?.description.hasPrefix("bad.pkr.hcl:") == true)
  }
}
