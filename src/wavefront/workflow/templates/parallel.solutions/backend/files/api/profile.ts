// Profile API (example solution written by the scripted agent).
