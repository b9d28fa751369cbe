import Foundation
import KilnCore
import Testing

/// The prompt reader behind `-debug`, `-on-error=ask` and the breakpoint provisioner.
@Suite struct StandardInputTests {
  /// A line without end (stdin from a stream of bytes) is kept to the bound, the rest dropped,
  /// and the next line is read as usual.
  @Test(.timeLimit(.minutes(1))) func aLongLineIsCutAtTheBound() async throws {
    var ends: [Int32] = [-1, -1]
    #expect(pipe(&ends) == 0)
    defer { close(ends[0]) }
    let writer = ends[1]
    let text = String(repeating: "y", count: 100_000) + "\nok\n"
    let written = Task.detached {
      let bytes = Array(text.utf8)
      var offset = 0
      while offset < bytes.count {
        let count = bytes[offset...].withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }
        if count <= 0 { break }
        offset += count
      }
      close(writer)
    }
    let first = try await StandardInput.readLine(fileDescriptor: ends[0])
    #expect(first == String(repeating: "y", count: StandardInput.maximumLineBytes))
    #expect(try await StandardInput.readLine(fileDescriptor: ends[0]) == "ok")
    await written.value
    #expect(try await StandardInput.readLine(fileDescriptor: ends[0]) == nil)
  }
}
