// SegflowGraph: see ARCHITECTURE.md
