import KilnCore
import Synchronization
import Testing

final class Captured: Sendable {
  let text = Mutex("")
  var write: @Sendable (String) -> Void { { chunk in self.text.withLock { $0 += chunk } } }
  var value: String { text.withLock { $0 } }
}

@Suite struct ConsoleUITests {
  func console(_ configure: (inout ConsoleUI.Options) -> Void = { _ in }) -> (ConsoleUI, Captured) {
    var options = ConsoleUI.Options()
    options.color = false
    configure(&options)
    let captured = Captured()
    return (ConsoleUI(options: options, masker: SecretMasker(["hunter2"]), write: captured.write), captured)
  }

  @Test func packerPrefixesAndMasking() {
    let (console, out) = console()
    let ui = console.forBuild("eks")
    ui.say("Launching instance")
    ui.message("line one\nline two with hunter2")
    ui.error("failed")
    #expect(out.value == "==> eks: Launching instance\n    eks: line one\n    eks: line two with <sensitive>\n==> eks: failed\n")
  }

  @Test func machineReadableLines() {
    let (console, out) = console { $0.machineReadable = true }
    let ui = console.forBuild("eks")
    ui.say("a, b")
    ui.machine("artifact", ["0", "id", "us-east-1:ami-1,us-west-2:ami-2"])
    let records = out.value.split(separator: "\n").compactMap { MachineReadable.parse(String($0)) }
    #expect(records.count == 2)
    #expect(records[0].target == "" && records[0].type == "ui" && records[0].data == ["say", "==> eks: a, b"])
    #expect(records[1].target == "eks" && records[1].data == ["0", "id", "us-east-1:ami-1,us-west-2:ami-2"])
    #expect(out.value.contains("%!(PACKER_COMMA)"))
  }

  @Test func progressIsDrawnInPlaceOnATerminalOnly() {
    let (terminal, shown) = console { $0.progress = true }
    let ui = terminal.forBuild("b")
    ui.progress("50%")
    ui.progress("100%")
    ui.say("done")
    #expect(shown.value == "\r\u{1B}[K    b: 50%\r\u{1B}[K    b: 100%\r\u{1B}[K==> b: done\n")
    let (pipe, hidden) = console()
    pipe.forBuild("b").progress("50%")
    #expect(hidden.value.isEmpty)
  }
}
