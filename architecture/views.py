"""The architecture pages."""
