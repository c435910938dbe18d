import SegflowCLI

@main struct Entrypoint { static func main() async { await SegflowCommand.main() } }
