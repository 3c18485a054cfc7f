"""`vireid search`: rank a gallery for one query image with the deployed runtime (no torch)."""
