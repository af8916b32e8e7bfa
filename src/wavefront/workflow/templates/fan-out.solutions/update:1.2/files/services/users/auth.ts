// users auth (example solution written by the scripted agent).
