"""The leaf layer: settings, errors and the clock. It imports nothing of the project's own."""
