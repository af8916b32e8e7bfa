"""Git and the places agents work in: plumbing, workspaces, the checkout guard, the run lock."""
