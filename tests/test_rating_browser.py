"""The rating app in a real browser (Playwright driving Debian's Chromium, headless): an admin creates a study, two
raters log in, rate, leave and resume, submit; the export holds exactly their ratings. A second study has gold items
and a qualification phase: a rater failing qualification never sees a real item, a rater failing gold items is
flagged on the dashboard; drafts autosave, and a 409 from a second tab is shown to the rater. Screenshots of the
rating, admin and dashboard pages go to $CLINQA_ARTIFACTS (default: artifacts/screenshots)."""

import csv
import io
import json
import os
import shutil
from pathlib import Path

import pytest

from clinqa.rating.app import create_app
from clinqa.rating.auth import create_user
from clinqa.data.rubric import load_rubric
from rating_helpers import DB_PARAMS, PASSWORD, answers_run, fresh_db_url, serve

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
ARTIFACTS = Path(os.environ.get("CLINQA_ARTIFACTS", Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"))
RUBRIC = load_rubric()


def log_in(page, base, user):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Log out")


def choose(page, choices: dict[str, str]):
    for key, value in choices.items():
        page.check(f'input[name="{key}"][value="{value}"]')


def axes_on(page):
    return [a for kind in ("physician", "pairwise") for a in RUBRIC.axes(kind)
            if page.locator(f'input[name="{a.key}"]').count()]


def rate_everything(page, base, chosen: list, pick=None):
    """From the home page, open the next item until none is left, choosing the last value of each axis (tie for
    pairwise; or what `pick` says) and submitting; record what was sent."""
    for _ in range(50):
        page.goto(f"{base}/")
        page.wait_for_selector("text=Your ratings")
        nxt = page.get_by_role("link", name="Continue with the next item")
        if not nxt.count():
            return
        nxt.click()
        page.wait_for_selector("text=Submit")
        values = {a.key: (pick or {}).get(a.key, a.scale[-1]) for a in axes_on(page)}
        choose(page, values)
        chosen.append((page.url, values))
        with page.expect_navigation():
            page.get_by_role("button", name="Submit", exact=True).click()


@pytest.mark.parametrize("db", DB_PARAMS)
def test_admin_creates_study_raters_rate_leave_resume_submit_export(db, tmp_path):
    from playwright.sync_api import sync_playwright
    app = create_app(fresh_db_url(db, tmp_path))
    for name, admin in (("boss", True), ("ann", False), ("bob", False)):
        create_user(app.state.engine, name, PASSWORD, "physician", is_admin=admin)
    answers = answers_run(tmp_path, n_questions=2)
    server, thread, base = serve(app)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"])
            ctx = browser.new_context(viewport={"width": 1366, "height": 900})
            page = ctx.new_page()
            # the admin creates the study
            log_in(page, base, "boss")
            page.fill("input[name=name]", "browser study")
            page.fill("input[name=answers]", str(answers.dir))
            page.fill("input[name=sources]", "model,physician")
            page.fill("input[name=physician_replication]", "2")
            page.fill("input[name=pairwise_replication]", "1")
            page.click("text=Create study")
            page.wait_for_selector("text=study browser study created")
            page.click("text=Log out")

            # ann rates part of her first item, saves a draft, leaves, comes back and finds it, then finishes
            log_in(page, base, "ann")
            page.wait_for_selector("text=0 of 5 submitted")
            page.click("text=Continue with the next item")
            first_url = page.url
            axes = axes_on(page)
            partial = {a.key: a.scale[0] for a in axes[:3]}
            choose(page, partial)
            page.click("text=Save draft")
            page.wait_for_selector("text=Draft saved (3 axes answered)")
            page.screenshot(path=str(ARTIFACTS / f"rating_page_{db}.png"), full_page=False)
            page.click("text=Log out")
            log_in(page, base, "ann")
            page.click("text=Continue with the next item")
            assert page.url == first_url
            for key, value in partial.items():
                assert page.is_checked(f'input[name="{key}"][value="{value}"]')
            page.get_by_role("button", name="Submit", exact=True).click()          # incomplete: refused, nothing lost
            assert "missing" in page.wait_for_selector(".error").inner_text()
            for key, value in partial.items():
                assert page.is_checked(f'input[name="{key}"][value="{value}"]')
            chosen_ann = []
            rate_everything(page, base, chosen_ann)
            page.wait_for_selector("text=All done")
            page.click("text=Log out")

            log_in(page, base, "bob")
            chosen_bob = []
            rate_everything(page, base, chosen_bob)
            page.wait_for_selector("text=All done")
            page.click("text=Log out")

            log_in(page, base, "boss")
            page.wait_for_selector("text=Progress per item")
            page.screenshot(path=str(ARTIFACTS / f"admin_page_{db}.png"), full_page=True)
            resp = page.request.get(f"{base}/admin/studies/1/export.csv")
            assert resp.ok
            rows = list(csv.DictReader(io.StringIO(resp.text())))
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
    # 2 questions x 2 sources, 2 physicians each -> 8 x 12 axes; 2 pairs rated once -> 2 x 9 axes
    assert len(rows) == 8 * 12 + 2 * 9
    assert {r["rater"] for r in rows} == {"ann", "bob"}
    sent = Counter_of(chosen_ann, "ann") + Counter_of(chosen_bob, "bob")
    got = sorted((r["rater"], r["axis"], r["value"]) for r in rows)
    assert got == sorted(sent)


def Counter_of(chosen, rater):
    return [(rater, k, v) for _, values in chosen for k, v in values.items()]


EXPECTED = {"consensus": "Aligned with consensus", "bias": "No", "harm_extent": "No harm"}
WRONG = {"consensus": "Opposed to consensus", "bias": "Yes", "harm_extent": "Death or severe harm"}


def launch(pw):
    return pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"])


@pytest.mark.parametrize("db", DB_PARAMS)
def test_gold_and_qualification_study_in_the_browser(db, tmp_path):
    from playwright.sync_api import sync_playwright
    app = create_app(fresh_db_url(db, tmp_path))
    for name, admin in (("boss", True), ("ann", False), ("bob", False), ("cat", False)):
        create_user(app.state.engine, name, PASSWORD, "physician", is_admin=admin)
    answers = answers_run(tmp_path, n_questions=2)
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps(dict(qid=f"{phase}{i}", question=f"{phase} question {i}?", text="Known answer.",
                                            kind="physician", phase=phase, expected=EXPECTED,
                                            feedback="Guideline answer.")) + "\n"
                            for phase in ("qualification", "gold") for i in range(2)))
    server, thread, base = serve(app)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as pw:
            browser = launch(pw)
            page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
            log_in(page, base, "boss")
            page.fill("input[name=name]", "gold study")
            page.fill("input[name=answers]", str(answers.dir))
            page.fill("input[name=sources]", "model,physician")
            page.fill("input[name=physician_replication]", "2")
            page.fill("input[name=gold_rate]", "0.5")
            page.fill("input[name=gold]", str(gold))
            page.click("text=Create study")
            page.wait_for_selector("text=study gold study created")
            page.click("text=Log out")

            # bob fails the qualification: feedback, and never a real item
            log_in(page, base, "bob")
            page.wait_for_selector("text=Rate the qualification items first")
            rate_everything(page, base, [], pick=WRONG)
            page.wait_for_selector("text=Qualification not passed")
            assert page.locator("text=Guideline answer.").count() == 2
            assert not page.get_by_role("link", name="Continue with the next item").count()
            with app.state.engine.connect() as c:
                from sqlalchemy import text
                real = c.execute(text(
                    "select a.id from assignments a join users u on u.id = a.rater_id join items i "
                    "on i.id = a.item_id where u.username = 'bob' and i.gold is null")).scalars().all()
            assert real
            for aid in real:
                assert page.goto(f"{base}/rate/{aid}").status == 404
            page.goto(f"{base}/")
            page.click("text=Log out")

            # ann passes; autosave keeps a choice without any button; a second tab's submit gives a visible 409
            log_in(page, base, "ann")
            page.click("text=Continue with the next item")
            first = page.url
            choose(page, {"consensus": EXPECTED["consensus"]})
            page.wait_for_selector("text=Draft saved (1 axes answered)")
            page.reload()
            assert page.is_checked(f'input[name="consensus"][value="{EXPECTED["consensus"]}"]')
            tab2 = page.context.new_page()
            tab2.goto(first)
            choose(tab2, {a.key: EXPECTED.get(a.key, a.scale[-1]) for a in axes_on(tab2)})
            with tab2.expect_navigation():
                tab2.get_by_role("button", name="Submit", exact=True).click()
            tab2.close()
            choose(page, {"bias": "Yes"})
            page.wait_for_selector("#draft-status >> text=already submitted")
            rate_everything(page, base, [], pick=EXPECTED)
            page.wait_for_selector("text=All done")
            page.click("text=Log out")

            # cat passes the qualification, then answers everything (gold included) against the expected values
            log_in(page, base, "cat")
            for _ in range(2):
                page.goto(f"{base}/")
                page.get_by_role("link", name="Continue with the next item").click()
                page.wait_for_selector("text=qualification item")
                choose(page, {a.key: EXPECTED.get(a.key, a.scale[-1]) for a in axes_on(page)})
                with page.expect_navigation():
                    page.get_by_role("button", name="Submit", exact=True).click()
            rate_everything(page, base, [], pick=WRONG)
            page.wait_for_selector("text=All done")
            page.click("text=Log out")

            log_in(page, base, "boss")
            page.click("text=Progress per item and rater quality")
            page.wait_for_selector("#raters")
            page.screenshot(path=str(ARTIFACTS / f"dashboard_{db}.png"), full_page=True)
            rows = {r.locator("td").first.inner_text(): r.inner_text() for r in page.locator("#raters tr").all()[1:]}
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
    assert "gold 0% < 70%" in rows["cat"] and "failed qualification" in rows["bob"]
    assert "gold" not in rows["ann"].split("\t")[-1] and "passed" in rows["ann"]


@pytest.mark.parametrize("db", DB_PARAMS)
def test_choices_sent_after_the_session_expired_or_while_the_database_is_busy_are_kept(db, tmp_path):
    """A rater whose session ran out (3 s here) clicks a choice: the autosave is kept, the browser goes to the login
    page, and after logging in the item shows the choice. A choice clicked while another writer holds the database
    lock gets 503 and is saved by the page's retry once the lock is released."""
    from playwright.sync_api import sync_playwright

    from clinqa.rating import actions
    from clinqa.rating.study import StudyConfig, create_study
    from rating_helpers import HeldLock
    url = fresh_db_url(db, tmp_path)
    app = create_app(url, session_hours=3 / 3600, trusted_proxies="")
    engine = app.state.engine
    uid = create_user(engine, "ann", PASSWORD, "physician").id
    create_study(engine, StudyConfig("s", ["model"], physician_replication=1), answers_run(tmp_path).answers())
    server, thread, base = serve(app)
    try:
        with sync_playwright() as pw:
            browser = launch(pw)
            page = browser.new_context().new_page()
            log_in(page, base, "ann")
            page.click("text=Continue with the next item")
            page.wait_for_selector("text=Submit")
            item = page.url
            aid = int(item.rsplit("/", 1)[1])
            page.wait_for_timeout(4500)                        # the session expires while the page is open
            with page.expect_navigation(url=f"{base}/login?next=/rate/{aid}"):
                # click, not check: check() re-reads the radio after the click, and the page may already have left
                page.click('input[name="bias"][value="Yes"]')
            page.fill("input[name=username]", "ann")
            page.fill("input[name=password]", PASSWORD)
            with page.expect_navigation(url=item):
                page.click("button[type=submit]")
            assert page.is_checked('input[name="bias"][value="Yes"]')
            kept_after_expiry = actions.open_assignment(engine, aid, uid).values
            app.state.ctx.session_hours = 1                    # from here on, sessions of an hour
            page.reload()
            with HeldLock(db, url, tmp_path / "ratings.sqlite"):
                choose(page, {"harm_extent": "No harm"})
                page.wait_for_selector("#draft-status >> text=busy")
                page.wait_for_timeout(1000)
            page.wait_for_selector("text=Draft saved (2 axes answered)", timeout=20000)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
    assert kept_after_expiry == {"bias": "Yes"}
    assert actions.open_assignment(engine, aid, uid).values == {"bias": "Yes", "harm_extent": "No harm"}
