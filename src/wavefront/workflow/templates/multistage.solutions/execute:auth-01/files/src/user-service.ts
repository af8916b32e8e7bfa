// User service (example solution)
