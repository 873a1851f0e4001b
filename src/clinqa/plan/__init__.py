"""Evaluation plans: the paper's whole evaluation (multiple-choice tasks x strategies, long-form answers, graders,
the human study) as one YAML file run by `clinqa run plan.yaml`. Modules: `schema` and `load` (the file, validated
with line numbers), `expand` (plan -> cells), `cells` (the adapter calling clinqa's evaluation API, one function per
cell kind), `state` (what a cell's run directory holds), `estimate` (dry run), `execute` / `ray_pool` (running cells
with retries, here or on Ray), `status` (live table), `report` / `report_html` (the paper's report), `run` (the API),
`cli` (the command)."""
