"""The HTML page of a plan's report (`clinqa.plan.report`): Table-4 and Table-5 style tables whose every number links
to its run directory, the long-form sets' rating figures (linking to each set's full rating analysis), adversarial
subsets, the study, and the cells still missing."""

from __future__ import annotations

from jinja2 import Environment, select_autoescape

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ name }}: clinqa plan report</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right}.missing{color:#b00;font-style:italic}.partial{color:#8a5a00}
small{color:#555}img{max-width:100%;border:1px solid #eee;margin:.5em 0}a{color:#1a4f8b;text-decoration:none}
</style></head><body>
<h1>{{ name }}</h1>
<p>Accuracy: % with 95% Clopper-Pearson interval; "vs CoT": accuracy difference (paired bootstrap 95%) and exact
McNemar p on the questions both runs finished. Every number links to its run directory; <code>numbers.csv</code> holds
them all. Cells not run yet say <span class="missing">missing</span>, never 0.</p>

<h2>Best strategy per dataset (Table 4 style)</h2>
{% if best %}<table><tr><th>dataset</th>{% for m in models %}<th>{{ m }}</th>{% endfor %}</tr>
{% for t in tasks %}<tr><td>{{ t }}</td>{% for m in models %}{% set b = best_by.get((t, m)) %}
<td class="n">{% if b %}<a href="{{ b.run_dir }}">{{ pct(b) }}</a><br><small>{{ b.strategy }}, n={{ b.n }}{% if b.status == 'partial' %}, partial{% endif %}</small>{% else %}<span class="missing">missing</span>{% endif %}</td>{% endfor %}</tr>{% endfor %}
</table>{% else %}<p class="missing">no multiple-choice results yet</p>{% endif %}

{% for m in models %}
<h2>{{ m }}: accuracy per strategy (Table 5 style)</h2>
<table><tr><th>dataset</th>{% for s in strategies %}<th>{{ s }}</th>{% endfor %}</tr>
{% for t in tasks %}<tr><td>{{ t }}</td>{% for s in strategies %}{% set c = grid.get((m, t, s)) %}
<td class="n">{% if not c %}<small>not in plan</small>{% elif c.acc.value is none %}<span class="missing">missing</span>{% else %}
<a href="{{ c.acc.run_dir }}">{{ pct(c.acc) }}</a>{% if c.acc.status == 'partial' %} <span class="partial">partial {{ c.acc.n }}/{{ c.acc.total }}</span>{% endif %}
{% if c.diff %}<br><small>vs CoT {{ '%+.1f' % (100 * c.diff.value) }} [{{ '%+.1f' % (100 * c.diff.low) }}, {{ '%+.1f' % (100 * c.diff.high) }}], McNemar p={{ '%.3g' % c.p.value }} (n={{ c.p.n }})</small>{% endif %}{% endif %}</td>{% endfor %}</tr>{% endfor %}
</table>
{% endfor %}

<h2>Long-form answers</h2>
{% for s in sections %}<h3>{{ s.key }}</h3>
<p>Run directory <a href="{{ s.run_dir }}">{{ s.run_dir }}</a>. Answers: {% for src, n in s.sources.items() %}{{ src }} {% if n %}{{ n }}{% else %}<span class="missing">missing</span>{% endif %}{% if not loop.last %}, {% endif %}{% endfor %}.
{% if s.note %}<span class="missing">{{ s.note }}</span>{% endif %}
{% if s.report %}Full rating analysis (tables, tests, reliability{% if s.judge %}, judge cards{% endif %}): <a href="{{ s.report }}">{{ s.report }}</a>.{% endif %}</p>
{% for f in s.figures %}<img alt="{{ f }}" src="{{ f }}">{% endfor %}
{% endfor %}

{% if adversarial %}<h2>Adversarial subsets (physician ratings, best-bin share %)</h2>
<table><tr><th>set</th><th>category</th><th>axis</th><th>source</th><th>share [95% CI]</th><th>ratings</th></tr>
{% for r in adversarial %}<tr><td>{{ r.dataset }}</td><td>{{ r.category }}</td><td>{{ r.axis }}</td><td>{{ r.source }}</td>
<td class="n"><a href="{{ r.run_dir }}">{{ pct(r) }}</a></td><td class="n">{{ r.n }}</td></tr>{% endfor %}</table>{% endif %}

{% if studies %}<h2>Human study</h2>
<ul>{% for c in studies %}<li>{{ c.params.name }} in {{ c.params.db }}: {{ c.params.physician }} physician, {{ c.params.lay }} lay raters per answer, {{ c.params.pairwise }} per pair{% if c.params.select_budget %}; judge-selected budget {{ c.params.select_budget }} answers per set{% endif %}</li>{% endfor %}</ul>{% endif %}

<h2>Missing cells</h2>
{% if missing %}<table><tr><th>cell</th><th>state</th><th>run directory</th></tr>
{% for r in missing %}<tr><td>{{ r.cell }}</td><td class="missing">{{ r.state }}</td><td>{{ r.run_dir }}</td></tr>{% endfor %}</table>
{% else %}<p>none: every cell of the plan has finished.</p>{% endif %}
</body></html>"""


def pct(r: dict) -> str:
    return f"{100 * r['value']:.1f} [{100 * r['low']:.1f}, {100 * r['high']:.1f}]"


def _ordered(values) -> list:
    return list(dict.fromkeys(values))


def render(name: str, mc: list[dict], best: list[dict], sections: list[dict], adversarial: list[dict],
           missing: list[dict], studies: list) -> str:
    grid: dict = {}
    for r in mc:
        c = grid.setdefault((r["model"], r["dataset"], r["strategy"]), {"acc": None, "diff": None, "p": None})
        if r["statistic"] == "accuracy":
            c["acc"] = {**r, "value": r.get("value")}
        elif r["statistic"].startswith("difference"):
            c["diff"] = r
        else:
            c["p"] = r
    env = Environment(autoescape=select_autoescape(["html"]))
    env.globals["pct"] = pct
    return env.from_string(PAGE).render(
        name=name, models=_ordered(r["model"] for r in mc), tasks=_ordered(r["dataset"] for r in mc),
        strategies=_ordered(r["strategy"] for r in mc), grid=grid, best=best,
        best_by={(b["dataset"], b["model"]): b for b in best}, sections=sections, adversarial=adversarial,
        missing=missing, studies=studies)
