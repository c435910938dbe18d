// SegflowVLM: see ARCHITECTURE.md
