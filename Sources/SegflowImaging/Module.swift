// SegflowImaging: see ARCHITECTURE.md
