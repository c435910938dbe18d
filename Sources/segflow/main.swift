import SegflowCLI
await SegflowCommand.main()
