"""The sourcing pages."""
