// SegflowEngine: see ARCHITECTURE.md
