"""Reference training pipelines from the papers the environments reproduce (e.g. LACIE)."""
