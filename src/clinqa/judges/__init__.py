"""LLM judges that are not the study rubric: the NLI judge of K-QA (`nli.py`)."""
