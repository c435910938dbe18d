// SegflowVision: see ARCHITECTURE.md
