// ProfileEditor (example solution)
