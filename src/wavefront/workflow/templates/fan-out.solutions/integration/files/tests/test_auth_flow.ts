// Auth flow tests (example solution written by the scripted agent).
