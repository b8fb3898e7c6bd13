"""Sandboxes that score candidate programs outside the driver's process."""
