"""A task of your own in one file: name the drug class of a medicine. The samples, a solver that asks the model in
one chat turn, and a scorer that checks the class's name appears in the reply. Run it like any built-in task:

    clinqa bench --task examples/drug_classes.py:drug_classes --model smollm2-135m-instruct --concurrency 4
    clinqa export inspect runs/<the run directory it printed>

Resume, --limit extension, concurrency, the run log and the exports come from the eval core; this file only says
what to ask and how to score it. (The questions were written for this example.)
"""

from clinqa.eval import Sample, Score
from clinqa.models import GenRequest
from clinqa.tasks import Task

DRUGS = {"metformin": "biguanide", "atorvastatin": "statin", "lisinopril": "ACE inhibitor",
         "amoxicillin": "penicillin", "omeprazole": "proton pump inhibitor", "sertraline": "SSRI",
         "metoprolol": "beta blocker", "warfarin": "anticoagulant", "salbutamol": "beta agonist",
         "ibuprofen": "NSAID", "furosemide": "loop diuretic", "levothyroxine": "thyroid hormone"}


def load(split, root):
    return [Sample(f"drug-{name}", [{"role": "system", "content": "Answer with the drug class only."},
                                    {"role": "user", "content": f"Which drug class does {name} belong to?"}],
                   target=cls) for name, cls in DRUGS.items()]


def ask(sample, ctx):
    """One greedy chat turn; the reply is the completion."""
    reply = ctx.generate("answer", GenRequest.chat(sample.messages, max_tokens=24, seed=ctx.seed("answer")))
    return reply.texts[0].strip()


def names_the_class(sample, outcome, ctx):
    said = outcome.completion.lower()
    return Score(sample.target.lower() in said, outcome.completion[:60])


drug_classes = Task("drug_classes", "custom", load, {"test": len(DRUGS)}, solver=ask, scorer=[names_the_class],
                    description="name the drug class of a common medicine")
