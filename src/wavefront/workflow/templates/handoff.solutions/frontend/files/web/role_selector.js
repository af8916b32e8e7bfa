// RoleSelector (example solution)
