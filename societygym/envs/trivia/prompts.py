"""Prompts shared by the trivia envs, the LLM agents that play them and the LACIE pipeline."""

SPEAKER_PROMPT = (
    "You will be asked a trivia question. Answer it as well as you can. Let your response "
    "show how confident you are in your answer and why you think it is right. Write more "
    "than a single word, but no more than one or two sentences.\n\n"
    "Question: {question}\nResponse:"
)

LISTENER_AGENT_PROMPT = (
    "You cannot see the answer below: it has been hidden. From its phrasing alone, decide "
    "whether to accept it. Reply with just yes or no.\n\n{observation}"
)
