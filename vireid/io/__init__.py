"""File I/O shared by every command: atomic writes and the run directory."""
