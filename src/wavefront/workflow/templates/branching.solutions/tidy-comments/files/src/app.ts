// app, tidied (example solution written by the scripted agent).
