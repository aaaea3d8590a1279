"""Date reasoning (ReGAL's Date domain): write a Python program whose ``answer`` is a date."""
