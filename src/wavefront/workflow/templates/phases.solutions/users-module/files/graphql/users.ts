// Users schema (example solution written by the scripted agent).
