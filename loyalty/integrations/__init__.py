"""Clients of outside services; nothing else in the service talks to them directly."""
