"""MedQA as physicians judged it: the relabelling reader and the sound rule on a hand-made CSV, the text mapping to
MedQA (by text, never by number), the `medqa-sound` task on the shared data, and the report's subset rows."""

import csv
from types import SimpleNamespace

import pytest

from clinqa.data.errors import DataError
from clinqa.data.loaders.medqa_relabel import RELPATH, match_by_text, read_relabelling, text_key
from clinqa.report import subset_rows
from conftest import DATA

COLS = ["", "time", "worker_id", "qid", "question", "A", "B", "C", "D", "answer_idx", "blind_answerable",
        "blind_answers", "info_missing", "important_info_missing", "seen_change", "seen_answerable", "seen_answers"]


def judgement(qid, worker, key="A", blind="['A']", answerable="TRUE", missing="FALSE", seen_ok="", seen=""):
    return {"qid": qid, "worker_id": worker, "question": f'Question "{qid}" about  a patient?', "A": "a", "B": "b",
            "C": "c", "D": "d", "answer_idx": key, "blind_answerable": answerable, "blind_answers": blind,
            "info_missing": missing, "important_info_missing": missing, "seen_change": "TRUE" if seen else "FALSE",
            "seen_answerable": seen_ok, "seen_answers": seen, "time": "1", "": "0"}


def write(tmp_path, rows):
    p = tmp_path / "relabel.csv"
    with open(p, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLS)
        w.writeheader()
        w.writerows(rows)
    return p


def test_sound_rule_is_a_majority_on_each_criterion(tmp_path):
    rows = [judgement("ok", w) for w in "123"]
    # one physician disagrees on each criterion: still sound
    rows += [judgement("one-off", "1", blind="['B']"), judgement("one-off", "2", missing="TRUE"),
             judgement("one-off", "3", answerable="FALSE")]
    # two of three say the key is wrong (blind B, kept B after seeing the key)
    rows += [judgement("bad-key", w, blind="['B']", seen_ok="TRUE", seen="['B']") for w in "12"]
    rows += [judgement("bad-key", "3")]
    # two of three changed their answer to the key after seeing it: the key stands
    rows += [judgement("convinced", w, blind="['B']", seen_ok="TRUE", seen="['A']") for w in "12"]
    rows += [judgement("convinced", "3")]
    # two of three: important information missing
    rows += [judgement("missing", w, missing="TRUE") for w in "12"] + [judgement("missing", "3")]
    # four physicians, two not answerable: 2 of 4 is no majority
    rows += [judgement("four", w, answerable="FALSE", blind="") for w in "12"] + [judgement("four", w) for w in "34"]
    qs = {q.qid: q for q in read_relabelling(write(tmp_path, rows))}
    assert {k: q.sound for k, q in qs.items()} == {"ok": True, "one-off": True, "bad-key": False, "convinced": True,
                                                   "missing": False, "four": False}
    assert len(qs["four"].judgements) == 4


def test_bad_cells_name_line_and_field(tmp_path):
    with pytest.raises(DataError, match=r":3: field 'important_info_missing'"):
        read_relabelling(write(tmp_path, [judgement("q", "1"), judgement("q", "2", missing="maybe")]))
    with pytest.raises(DataError, match=r":2: field 'blind_answers'"):
        read_relabelling(write(tmp_path, [judgement("q", "1", blind="C")]))


def test_mapping_is_by_text_not_number(tmp_path):
    qs = read_relabelling(write(tmp_path, [judgement("0", "1"), judgement("1", "1")]))
    records = [SimpleNamespace(id="medqa-test-7", question='question "1" about a patient ?'),
               SimpleNamespace(id="medqa-test-9", question="Question 0 about a patient?")]
    mapping, unmatched = match_by_text(qs, records)
    assert mapping == {"0": "medqa-test-9", "1": "medqa-test-7"} and unmatched == []
    mapping, unmatched = match_by_text(qs, records[:1] * 2)          # two candidates: no unique match
    assert mapping == {} and unmatched == ["0", "1"]
    assert text_key('A "quoted"  text.') == text_key("a quoted text")


def test_report_scores_a_run_on_a_nested_runs_questions():
    def store(task, qids, correct):
        rows = [dict(qid=q, correct=c) for q, c in zip(qids, correct)]
        return SimpleNamespace(results=lambda: rows, run_info=lambda: {"config": {"dataset": task, "strategy": "x",
                                                                                  "model": "m"}})
    full = store("medqa", ["a", "b", "c", "d"], [True, False, True, False])
    sub = store("medqa-sound", ["a", "c"], [True, True])
    got = subset_rows(full, full.results(), [full, sub])
    assert [(name, [r["qid"] for r in rows]) for name, rows in got] == [("medqa-sound", ["a", "c"])]
    assert subset_rows(sub, sub.results(), [full, sub]) == []


needs_data = pytest.mark.skipif(not (DATA / RELPATH).is_file() or not (DATA / "medqa").is_dir(),
                                reason="needs ../shared/data medqa and medqa_relabelling")


@needs_data
def test_every_relabelled_question_maps_to_one_medqa_question_with_the_same_key():
    from clinqa.data.loaders.medqa import load_medqa
    qs = read_relabelling(DATA / RELPATH)
    records = load_medqa(DATA / "medqa/phrases_no_exclude_test.jsonl")
    mapping, unmatched = match_by_text(qs, records)
    assert len(qs) == 1273 and unmatched == [] and len(set(mapping.values())) == 1273
    by_id = {r.id: r for r in records}
    assert all(by_id[mapping[q.qid]].answer == q.key for q in qs)
    # as found: the relabelling's qid is the 0-based line of phrases_no_exclude_test.jsonl
    assert all(mapping[q.qid] == f"medqa-test-{int(q.qid) + 1}" for q in qs)


@needs_data
def test_medqa_sound_task_loads_the_physician_sound_subset():
    from clinqa.tasks import get_task
    sound = get_task("medqa-sound").load(root=DATA)
    full = {r.id: r for r in get_task("medqa").load(root=DATA)}
    assert len(sound) == 1142 and all(full[r.id] == r for r in sound)
