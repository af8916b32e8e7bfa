// tests of auth (example solution)
