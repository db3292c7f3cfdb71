"""Quality evaluation of tmscreen: labelled worlds and publicly reported cases (not on the runtime path)."""
