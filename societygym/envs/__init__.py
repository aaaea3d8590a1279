"""The settings of the suite, one package each."""
