"""Program synthesis with abstractions (ReGAL, ICML 2024): an agent writes a program, optionally
using a learned code bank of helper functions (``helpers.py``), and is judged on what the program
does. One package per domain: ``logo/`` (turtle drawings), ``date/``, ``textcraft/``.
"""
