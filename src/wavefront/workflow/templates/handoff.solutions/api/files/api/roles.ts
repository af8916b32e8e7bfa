// Role endpoints (example solution written by the scripted agent).
