"""Planning: graph checks, scope expressions, file overlap, waves, critical path, rendering."""
