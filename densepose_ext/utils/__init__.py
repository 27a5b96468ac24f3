"""Small helpers shared by the command-line entry points."""
