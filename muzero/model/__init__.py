"""The learned model: networks h, g, f, the categorical supports, and the bridge that serves the search."""
