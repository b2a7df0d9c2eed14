"""Use cases in plain Python: they take a session and arguments and never import Flask."""
