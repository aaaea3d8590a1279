"""Two-agent persuasion (PBT): a parallel env where two agents answer a trivia question and
argue, single-agent evaluations against a partner played by the env (balanced persuasion,
"are you sure?", misinformation), their metrics, and team evaluation in both speaking orders.
"""
