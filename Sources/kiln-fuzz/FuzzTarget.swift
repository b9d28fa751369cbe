import KilnFuzzing

/// libFuzzer's entry: one input through `Fuzzing.fuzzOne`. Built by `fuzz/run.sh` with
/// `swift build --sanitize=fuzzer` and `KILN_FUZZ=1` (libFuzzer then supplies `main`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
  Fuzzing.fuzzOne(bytes)
  return 0
}

#if !KILN_FUZZ
  import Foundation

  /// Without libFuzzer (an ordinary `swift build`), `kiln-fuzz FILE...` runs each file once:
  /// a way to replay an input under a debugger.
  @main enum Replay {
    static func main() {
      for path in CommandLine.arguments.dropFirst() {
        guard let data = FileManager.default.contents(atPath: path) else {
          FileHandle.standardError.write(Data("kiln-fuzz: cannot read \(path)\n".utf8))
          exit(1)
        }
        print("\(path): \(Fuzzing.fuzzOne(Array(data)))")
      }
    }
  }
#endif
