"""Every loader reads its real file with the count the data README states; bad files fail naming file, line, field."""

import json

import pytest

from clinqa.data import DataError
from clinqa.tasks import load
from clinqa.data.loaders.hub import rows_to_records
from clinqa.data.loaders.liveqa import load_liveqa
from clinqa.data.loaders.medicationqa import load_medicationqa
from clinqa.data.loaders.medmcqa import load_medmcqa
from clinqa.data.loaders.medqa import load_medqa
from clinqa.data.loaders.mmlu import load_mmlu_file
from clinqa.data.loaders.pubmedqa import load_pubmedqa
from clinqa.tasks import REGISTRY


@pytest.mark.parametrize("name,split", [(n, s) for n, task in REGISTRY.items() for s in task.splits])
def test_real_counts(data_dir, name, split):
    recs = load(name, split, data_dir)
    assert len(recs) == REGISTRY[name].splits[split]
    assert len({r.id for r in recs}) == len(recs), "ids must be unique"


def test_record_contents(data_dir):
    q = load("medqa", "test", data_dir)[0]
    assert q.answer == "B" and q.options["B"].startswith("Tell the attending")
    q5 = load("medqa5", "test", data_dir)[0]
    assert set(q5.options) == set("ABCDE") and q5.answer == "C"
    m = load("medmcqa", "dev", data_dir)[0]
    assert m.answer == "A" and m.id == "45258d3d-b974-44dd-a161-c3fccbdadd88"   # cop is 1-based
    p = {r.id: r for r in load("pubmedqa", "test", data_dir)}
    assert p["12377809"].answer == "A" and p["12377809"].context
    assert not set(p) & {r.id for r in load("pubmedqa", "train", data_dir)}
    labels = [r.answer for r in p.values()]
    assert (labels.count("A"), labels.count("B"), labels.count("C")) == (276, 169, 55)
    live = load("liveqa", "test", data_dir)
    assert sum(1 for r in live if r.references) == 104 and live[0].id == "TQ1"
    assert load("medicationqa", "test", data_dir)[0].question.startswith("how does rivatigmine")
    assert {r.subject for r in load("mmlu", "test", data_dir)} == {
        "anatomy", "clinical_knowledge", "college_biology", "college_medicine", "medical_genetics", "professional_medicine"}


def _write(tmp_path, name, lines):
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n")
    return p


GOOD = {"question": "Q?", "options": {"A": "x", "B": "y"}, "answer_idx": "A"}


def test_malformed_json_names_line(tmp_path):
    p = _write(tmp_path, "m.jsonl", [json.dumps(GOOD), "{not json"])
    with pytest.raises(DataError) as e:
        load_medqa(p)
    assert e.value.line == 2 and str(p) in str(e.value) and "malformed JSON" in str(e.value)


def test_missing_answer(tmp_path):
    p = _write(tmp_path, "m.jsonl", [json.dumps(GOOD), json.dumps({**GOOD, "answer_idx": None})])
    with pytest.raises(DataError) as e:
        load_medqa(p)
    assert (e.value.line, e.value.field) == (2, "answer_idx") and "missing field" in str(e.value)


def test_answer_not_among_options(tmp_path):
    p = _write(tmp_path, "m.jsonl", [json.dumps({**GOOD, "answer_idx": "E"})])
    with pytest.raises(DataError, match=r"m.jsonl:1 .*field 'answer': answer 'E' is not among options"):
        load_medqa(p)


def test_empty_question(tmp_path):
    p = _write(tmp_path, "m.jsonl", [json.dumps({**GOOD, "question": "  "})])
    with pytest.raises(DataError) as e:
        load_medqa(p)
    assert e.value.field == "question" and "empty question" in str(e.value)


def test_medmcqa_cop_out_of_range(tmp_path):
    row = {"question": "q", "opa": "a", "opb": "b", "opc": "c", "opd": "d", "cop": 5, "id": "x1"}
    p = _write(tmp_path, "dev.json", [json.dumps(row)])
    with pytest.raises(DataError) as e:
        load_medmcqa(p)
    assert (e.value.line, e.value.field, e.value.record) == (1, "cop", "x1")
    p = _write(tmp_path, "dev.json", [json.dumps({**row, "cop": 4, "opc": None})])
    with pytest.raises(DataError, match="field 'opc': missing field"):
        load_medmcqa(p)


def test_mmlu_bad_row(tmp_path):
    p = _write(tmp_path, "anatomy_test.csv", ["q,a,b,c,d,A", "q2,a,b,c,D"])
    with pytest.raises(DataError) as e:
        load_mmlu_file(p, "anatomy", "test")
    assert e.value.line == 2 and "6 columns" in str(e.value)
    p = _write(tmp_path, "anatomy_test.csv", ["q,a,b,c,d,F"])
    with pytest.raises(DataError, match="field 'answer'"):
        load_mmlu_file(p, "anatomy", "test")


def test_pubmedqa_bad_label(tmp_path):
    (tmp_path / "ori_pqal.json").write_text(json.dumps({"1": {"QUESTION": "q", "CONTEXTS": ["c"], "final_decision": "yes"}}))
    (tmp_path / "test_ground_truth.json").write_text(json.dumps({"1": "perhaps"}))
    with pytest.raises(DataError) as e:
        load_pubmedqa(tmp_path)
    assert e.value.record == "1" and "yes/no/maybe" in str(e.value)
    (tmp_path / "test_ground_truth.json").write_text("{broken")
    with pytest.raises(DataError, match="test_ground_truth.json:1: malformed JSON"):
        load_pubmedqa(tmp_path)


def test_liveqa_bad_xml(tmp_path):
    p = tmp_path / "x.xml"
    p.write_text("<root><NLM-QUESTION qid='1'>\n<Original-Question>")
    with pytest.raises(DataError, match="malformed XML"):
        load_liveqa(p)


def test_medicationqa_missing_column(tmp_path):
    import openpyxl
    wb = openpyxl.Workbook()
    wb.active.append(["Question", "Focus (Drug)"])
    wb.active.append(["what is x?", "x"])
    p = tmp_path / "m.xlsx"
    wb.save(p)
    with pytest.raises(DataError) as e:
        load_medicationqa(p)
    assert (e.value.line, e.value.field) == (1, "Answer")


def test_missing_file_and_unknown_names(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load("medqa", "test", tmp_path)
    with pytest.raises(DataError, match="unknown task"):
        load("medqa9")
    with pytest.raises(DataError, match="no split 'train'"):
        load("medqa", "train")


def test_hub_rows_convert_like_local_files():
    recs = rows_to_records([{"question": "q", "opa": "a", "opb": "b", "opc": "c", "opd": "d", "cop": 0, "id": "h1"},
                            {"question": "q2", "choices": ["w", "x", "y", "z"], "answer": 3},
                            {"question": "q3", "answer": "an answer"}], "hubset", "validation", "hf:test/x")
    assert recs[0].answer == "A"    # the hub copy of MedMCQA has 0-based cop
    assert recs[1].answer == "D" and recs[1].options["D"] == "z"
    assert recs[2].references == ("an answer",)
    with pytest.raises(DataError, match="field 'question'"):
        rows_to_records([{"options": {}}], "h", "s", "hf:test/x")
