// app, refactored (example solution written by the scripted agent).
