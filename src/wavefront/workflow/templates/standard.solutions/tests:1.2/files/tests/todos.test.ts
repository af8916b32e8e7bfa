// tests of todos (example solution)
