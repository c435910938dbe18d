// SegflowStages: see ARCHITECTURE.md
