import Foundation
import Synchronization

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// A small element tree read with FoundationXML's `XMLParser`: enough to decode AWS Query API
/// responses into typed values without a dependency.
///
/// Every element knows its path from the root (`DescribeImagesResponse/imagesSet/item`), so
/// what a decoder reads can be checked against AWS's model: inside
/// `XMLReads.$recorder.withValue(…)`, each `child`/`string`/`items`/`find` reports the path
/// it asked for, found or not (`ResponseModelTests`).
public final class XMLElementNode: Sendable {
  public let name: String
  public let text: String
  public let children: [XMLElementNode]
  /// The names from the root to this element, joined by `/`.
  public let path: String

  init(name: String, text: String, children: [XMLElementNode], path: String) {
    self.name = name
    self.text = text
    self.children = children
    self.path = path
  }

  /// The first child named `name`.
  public func child(_ name: String) -> XMLElementNode? {
    XMLReads.recorder?.record(path + "/" + name)
    return children.first { $0.name == name }
  }

  /// The text of the child named `name`, or nil.
  public func string(_ name: String) -> String? { child(name)?.text }

  public func int(_ name: String) -> Int? { string(name).flatMap { Int($0) } }

  public func bool(_ name: String) -> Bool? { string(name).map { $0 == "true" } }

  /// The `<item>` children of the child named `name` (EC2's list shape: `<xSet><item>…`).
  public func items(_ name: String) -> [XMLElementNode] {
    guard let list = child(name) else {
      XMLReads.recorder?.record(path + "/" + name + "/item")
      return []
    }
    let items = list.children.filter { $0.name == "item" || $0.name == "member" }
    XMLReads.recorder?.record(list.path + "/" + (items.first?.name ?? "item"))
    return items
  }

  /// Depth-first search for the first element named `name`.
  public func find(_ name: String) -> XMLElementNode? {
    let found = search(name)
    XMLReads.recorder?.record(found?.path ?? path + "/**/" + name)
    return found
  }

  private func search(_ name: String) -> XMLElementNode? {
    if self.name == name { return self }
    for child in children {
      if let found = child.search(name) { return found }
    }
    return nil
  }

  /// Parses a document. Throws `XMLDecodingError` with the parser's message.
  public static func parse(_ data: [UInt8]) throws(XMLDecodingError) -> XMLElementNode {
    let builder = TreeBuilder()
    let parser = XMLParser(data: Data(data))
    parser.delegate = builder
    guard parser.parse(), let root = builder.root else {
      let message = parser.parserError.map { "\($0)" } ?? "no root element"
      throw XMLDecodingError(message: "malformed XML response: \(message)", excerpt: String(decoding: data.prefix(200), as: UTF8.self))
    }
    return root
  }
}

public struct XMLDecodingError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public var excerpt: String
  public var description: String { "\(message): \(excerpt)" }
}

private final class TreeBuilder: NSObject, XMLParserDelegate {
  struct Partial {
    var name: String
    var path: String
    var text = ""
    var children: [XMLElementNode] = []
  }

  var stack: [Partial] = []
  var root: XMLElementNode?

  func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
    stack.append(Partial(name: name, path: stack.last.map { $0.path + "/" + name } ?? name))
  }

  func parser(_ parser: XMLParser, foundCharacters string: String) {
    if !stack.isEmpty { stack[stack.count - 1].text += string }
  }

  func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
    guard let partial = stack.popLast() else { return }
    let text = partial.children.isEmpty ? partial.text : partial.text.trimmingCharacters(in: .whitespacesAndNewlines)
    let node = XMLElementNode(name: partial.name, text: text, children: partial.children, path: partial.path)
    if stack.isEmpty {
      root = node
    } else {
      stack[stack.count - 1].children.append(node)
    }
  }
}

/// What response decoders read, for the test that checks every name against AWS's model.
public enum XMLReads {
  /// Set for a task (and its children) to hear every path a decoder asks for.
  @TaskLocal public static var recorder: Recorder?

  public final class Recorder: Sendable {
    private let paths = Mutex<Set<String>>([])

    public init() {}

    public func record(_ path: String) { _ = paths.withLock { $0.insert(path) } }

    /// Every path asked for, found or not.
    public var recorded: Set<String> { paths.withLock { $0 } }
  }
}
