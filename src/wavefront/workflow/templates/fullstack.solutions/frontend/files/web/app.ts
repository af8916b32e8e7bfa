// todo UI (example solution)
