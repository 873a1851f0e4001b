"""Long-form answering: evaluation sets, answer generation and import, counterfactual consistency, automatic rating."""
