"""Gates: checks that an attempt must pass before its work moves on; one module per kind."""
