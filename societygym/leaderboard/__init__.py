"""The leaderboard harness: frozen suites, resumable evaluation, content-hashed result
bundles, an append-only results database, and a terminal and static-HTML board.

``societygym leaderboard --help`` lists the commands; the modules are small and named for
what they hold: ``suites``, ``episodes`` (playing), ``evaluate`` (backends, resume),
``stats`` (summary and bootstrap), ``bundle`` (build, hash, validate), ``store`` (database),
``board``/``site``/``plots``/``serve`` (showing), ``baselines``, ``commands`` (the CLI).
"""
