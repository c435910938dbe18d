// SegflowStore: see ARCHITECTURE.md
