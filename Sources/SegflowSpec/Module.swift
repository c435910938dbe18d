// SegflowSpec: see ARCHITECTURE.md
