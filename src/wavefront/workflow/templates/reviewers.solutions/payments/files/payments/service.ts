// Payment service (example solution written by the scripted agent).
