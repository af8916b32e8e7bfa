// integration tests (example solution)
