// WebSocket endpoint (example solution written by the scripted agent).
