"""LLM judges of long-form answers: the automatic rater applying a study's rubric (`autorate`), a jury of graders
(`jury`) and the probes of a grader's biases (`position`: the swap test). They call models through the eval
core's grader protocol; the statistics of how far to trust them are in `clinqa.analysis`."""
