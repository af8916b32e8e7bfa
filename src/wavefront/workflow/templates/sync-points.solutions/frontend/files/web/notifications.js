// WebSocket client (example solution)
