// Token service (example solution)
