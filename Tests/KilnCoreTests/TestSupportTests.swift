import Foundation
import Testing
import _KilnTestSupport

/// The helpers the suites wait with must end a hung command, not hang with it.
@Suite struct TestSupportTests {
  @Test(.timeLimit(.minutes(1))) func aCommandThatOutlivesItsTimeIsKilledAndSaysSo() async throws {
    do {
      let result = try await TestCommand.run(["sh", "-c", "echo started; exec sleep 60"], timeout: 1)
      Issue.record("a 60 s sleep finished within 1 s: \(result)")
    } catch let error as TestCommand.TimedOut {
      #expect(error.output == "started\n")
      #expect(error.description.hasPrefix("sh -c echo started; exec sleep 60 did not finish within 1 s"))
    }
    #expect(try await TestCommand.run(["sh", "-c", "echo fine"], timeout: 30) == (0, "fine\n"))
  }
}
