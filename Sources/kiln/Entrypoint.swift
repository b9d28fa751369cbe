import KilnCLI

@main
struct Entrypoint {
  static func main() async {
    await Kiln.runFromCommandLine()
  }
}
