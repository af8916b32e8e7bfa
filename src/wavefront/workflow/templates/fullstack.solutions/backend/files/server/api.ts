// todos API (example solution)
