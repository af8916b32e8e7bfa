// Auth service (example solution)
