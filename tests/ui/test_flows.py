"""What a person does in the Dagster UI of `paysync dev`, in a real browser, in order:
materialize one workspace, backfill every workspace with one workspace's sandbox stopped,
re-execute from failure once it is back, read an asset's row count and plots, and turn a
schedule on. The page shows it; the webserver's GraphQL API confirms the exact statuses."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Locator, Page, expect

from paysync_dagster.providers.stripe.entities import ENTITIES as STRIPE_ENTITIES
from tests.support import wait_until
from tests.ui.conftest import save_page
from tests.ui.stack import (
    BACKFILL,
    BROKEN,
    BROKEN_CUSTOMERS,
    DEMO_SIZES,
    PARTITIONS,
    SCHEDULE_STATUS,
    WORKSPACES,
    Stack,
)

pytestmark = pytest.mark.slow  # the whole local stack and a browser

HEALTHY = sorted(DEMO_SIZES)
# The demo's PayFit workspaces have no Stripe configuration: the Stripe assets record their
# (empty) slices as such, so a failing workspace leaves them materialized too.
WITHOUT_STRIPE = sorted(set(PARTITIONS) - set(WORKSPACES))
RUN_SECONDS = 120
RUN_MS = RUN_SECONDS * 1000
SCHEDULE = "stripe_full_sync_schedule"


def _shot(page: Page, stack: Stack, name: str) -> None:
    print(f"screenshot: {save_page(page, stack.artifacts, name)}")


def _status_dot(page: Page, partition: str) -> Locator:
    """The colored dot beside a partition in an asset's Partitions tab."""
    dot = 'contains(@style, "border-radius: 100%")'
    return (
        page.locator(f'[title="{partition}"]')
        .first.locator(f"xpath=ancestor::div[.//div[{dot}]][1]//div[{dot}]")
        .first
    )


def _expect_partitions_view(
    page: Page, entity: str, *, materialized: list[str], failed: list[str]
) -> None:
    """The asset's Partitions tab: the counts and each partition's color."""
    page.goto(f"/assets/stripe/{entity}")
    page.get_by_role("tab", name="Partitions", exact=True).click()
    expect(page.get_by_text(f"Materialized ({len(materialized)})", exact=True)).to_be_visible()
    expect(page.get_by_text(f"Failed ({len(failed)})", exact=True)).to_be_visible()
    for partition in materialized:
        expect(_status_dot(page, partition)).to_have_attribute("style", re.compile(r"accent-green"))
    for partition in failed:
        expect(_status_dot(page, partition)).to_have_attribute("style", re.compile(r"accent-red"))


def _launched_run_id(page: Page) -> str:
    """Open the run the "Launched run …" toast names, from the Runs page; the run's id."""
    toast = page.get_by_text(re.compile(r"Launched run [0-9a-f]{8}"))
    expect(toast).to_be_visible()
    short_id = re.search(r"[0-9a-f]{8}", toast.inner_text()).group(0)
    page.get_by_role("link", name=re.compile(r"Runs$")).first.click()
    page.get_by_role("link", name=re.compile(short_id)).first.click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}"))
    return re.search(r"/runs/([0-9a-f-]{36})", page.url).group(1)


def test_the_sensor_started_one_initial_sync_for_the_added_workspace(stack: Stack):
    initial = stack.notes["initial_syncs"]
    assert [run["status"] for run in initial] == ["SUCCESS"]
    tags = {tag["key"]: tag["value"] for tag in initial[0]["tags"]}
    assert tags["dagster/partition"] == BROKEN
    assert initial[0]["jobName"] == "stripe_sync"


def test_materialize_one_workspace_of_customers(page: Page, stack: Stack):
    page.goto("/")
    page.get_by_role("link", name=re.compile(r"Catalog$")).click()
    page.get_by_role("link", name="stripe / customers").first.click()
    page.get_by_role("button", name="Materialize…").first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Launch runs to materialize stripe / customers")).to_be_visible()
    dialog.get_by_text("Select a partition or create one").click()
    page.get_by_role("menu").get_by_text("demo-small", exact=True).first.click()
    dialog.get_by_text("Launch runs to materialize").click()  # closes the partition picker
    expect(dialog.get_by_text("1 partition", exact=True)).to_be_visible()
    _shot(page, stack, "1-materialize-dialog")
    dialog.get_by_role("button", name="Launch 1 run").click()
    run_id = _launched_run_id(page)

    expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=RUN_MS)
    _shot(page, stack, "1-run-succeeded")
    run = stack.wait_for_run(run_id)
    assert run["status"] == "SUCCESS"
    assert {"key": "dagster/partition", "value": "demo-small"} in run["tags"]
    latest = stack.latest_materialization("customers", "demo-small")
    assert latest["runId"] == run_id
    assert latest["metadata"]["dagster/row_count"] == DEMO_SIZES["demo-small"]

    _expect_partitions_view(page, "customers", materialized=sorted(WORKSPACES), failed=[])
    page.get_by_text("demo-small", exact=True).first.click()
    expect(page.get_by_role("link", name=re.compile(run_id[:8])).first).to_be_visible()
    _shot(page, stack, "1-partition-materialized")


def test_backfill_every_workspace_with_one_sandbox_stopped(page: Page, stack: Stack):
    stack.broken.stop()
    page.goto("/")
    page.get_by_role("link", name=re.compile(r"Catalog$")).click()
    page.locator("a").filter(has_text=re.compile(r"^stripe$")).first.click()
    materialize = page.get_by_role("button", name=re.compile(r"Materialize (all|selected)…"))
    expect(materialize).to_be_visible()
    if "selected" in materialize.inner_text():
        # The group's graph opens with one asset selected; a click on the empty canvas
        # below the toolbar clears the selection, as a person would.
        box = materialize.bounding_box()
        page.mouse.click(box["x"], box["y"] + box["height"] + 60)
    page.get_by_role("button", name="Materialize all…").click()
    dialog = page.get_by_role("dialog")
    expect(
        dialog.get_by_text(f"Launch runs to materialize {len(STRIPE_ENTITIES)} assets")
    ).to_be_visible()
    dialog.get_by_role("button", name="All", exact=True).click()
    expect(dialog.get_by_text(f"{len(PARTITIONS)} partitions", exact=True)).to_be_visible()
    _shot(page, stack, "2-backfill-dialog")
    dialog.get_by_role("button", name="Launch backfill").click()
    toast = page.get_by_text(re.compile(r"Created backfill [a-z0-9]+"))
    expect(toast).to_be_visible()
    backfill_id = toast.inner_text().split()[-1]

    def finished_runs():
        backfill = stack.graphql(BACKFILL, id=backfill_id)["partitionBackfillOrError"]
        runs = backfill["runs"]
        done = runs and all(run["status"] in ("SUCCESS", "FAILURE", "CANCELED") for run in runs)
        return done and backfill["status"] != "REQUESTED" and backfill

    backfill = wait_until(finished_runs, f"backfill {backfill_id} finishes", RUN_SECONDS)
    assert backfill["numPartitions"] == len(PARTITIONS)
    assert len(backfill["runs"]) == 1, "a single-run backfill policy: one run for every workspace"
    run_id = backfill["runs"][0]["runId"]
    assert backfill["runs"][0]["status"] == "FAILURE"
    stack.notes["failed_run"] = run_id

    for entity in STRIPE_ENTITIES:
        statuses = stack.partition_statuses(entity)
        assert statuses["materializedPartitions"] == sorted(HEALTHY + WITHOUT_STRIPE), (
            entity,
            statuses,
        )
        assert statuses["failedPartitions"] == [BROKEN], (entity, statuses)
        assert stack.latest_materialization(entity, HEALTHY[0])["runId"] == run_id
    for entity in STRIPE_ENTITIES:
        _expect_partitions_view(
            page, entity, materialized=sorted(HEALTHY + WITHOUT_STRIPE), failed=[BROKEN]
        )
        _shot(page, stack, f"2-partitions-{entity}")

    page.goto(f"/runs/{run_id}")
    expect(page.get_by_text("Failure", exact=True).first).to_be_visible()
    # The failure names the workspace and its URL, and counts the others right.
    expect(
        page.get_by_text(
            re.compile(rf"did not finish for 1 of {len(PARTITIONS)} workspace\(s\) \(demo-broken\)")
        ).first
    ).to_be_visible()
    _shot(page, stack, "2-failed-run")


def test_reexecute_from_failure_once_the_sandbox_is_back(page: Page, stack: Stack):
    failed = stack.notes.get("failed_run")
    assert failed, "needs the failed backfill run of the previous test"
    stack.broken.start()
    page.goto(f"/runs/{failed}")
    reexecute = page.get_by_role("button", name="Re-execute all (*)")
    expect(reexecute).to_be_enabled()
    reexecute.locator("xpath=following::button[1]").click()  # its menu of re-executions
    page.get_by_role("menuitem").filter(has_text=re.compile(r"^From failure$")).click()
    confirm = page.get_by_role("dialog").get_by_role("button", name="Confirm")
    # Dagster asks once more for a run of a finished backfill.
    expect(confirm).to_be_visible()
    _shot(page, stack, "3-confirm-reexecution")
    confirm.click()
    page.wait_for_url(lambda url: "/runs/" in url and failed not in url)
    run_id = re.search(r"/runs/([0-9a-f-]{36})", page.url).group(1)
    expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=RUN_MS)
    # Only what the parent run did not materialize is synced again.
    already_done = (len(PARTITIONS) - 1) * len(STRIPE_ENTITIES)
    synced = len(STRIPE_ENTITIES)
    expect(
        page.get_by_text(re.compile(rf"{already_done} already_done, {synced} synced")).first
    ).to_be_visible()
    _shot(page, stack, "3-reexecution-succeeded")

    run = stack.wait_for_run(run_id)
    assert run["status"] == "SUCCESS"
    assert run["parentRunId"] == failed
    for entity in STRIPE_ENTITIES:
        statuses = stack.partition_statuses(entity)
        assert statuses["materializedPartitions"] == sorted(PARTITIONS), (entity, statuses)
        assert statuses["failedPartitions"] == [], (entity, statuses)
        assert stack.latest_materialization(entity, BROKEN)["runId"] == run_id
        assert stack.latest_materialization(entity, HEALTHY[0])["runId"] == failed
    for entity in STRIPE_ENTITIES:
        _expect_partitions_view(page, entity, materialized=sorted(PARTITIONS), failed=[])
        _shot(page, stack, f"3-partitions-{entity}")


def test_an_asset_shows_its_row_count_and_metadata_plots(page: Page, stack: Stack):
    latest = stack.latest_materialization("customers")
    row_count = latest["metadata"]["dagster/row_count"]
    engine = sa.create_engine(f"sqlite:///{stack.home / 'paysync.db'}")
    try:
        with engine.connect() as connection:
            live = connection.execute(
                sa.text(
                    "SELECT count(*) FROM customers"
                    " WHERE workspace_id = :workspace AND deleted_at IS NULL"
                ),
                {"workspace": latest["partition"]},
            ).scalar_one()
    finally:
        engine.dispose()
    assert row_count == live
    if latest["partition"] == BROKEN:
        assert row_count == BROKEN_CUSTOMERS

    page.goto("/assets")
    page.get_by_role("link", name="stripe / customers").first.click()
    label = page.get_by_text("Row count", exact=True)
    expect(label.locator("xpath=following-sibling::*[1]")).to_have_text(f"{row_count:,}")
    page.get_by_text("Plots", exact=True).click()
    for series in ("dagster/row_count", "listed"):
        title = page.get_by_text(series, exact=True).first
        title.scroll_into_view_if_needed()
        canvas = title.locator("xpath=../following-sibling::*[1]//canvas")
        expect(canvas).to_be_visible()
        # The chart is drawn: some of the canvas's pixels are painted.
        painted = wait_until(
            lambda canvas=canvas: canvas.evaluate(
                "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"
            ),
            f"the {series} plot is drawn",
            30,
        )
        assert painted > 100
    page.get_by_text("dagster/row_count", exact=True).first.scroll_into_view_if_needed()
    _shot(page, stack, "4-row-count-and-plots")


def test_turn_the_full_sync_schedule_on(page: Page, stack: Stack):
    state = stack.graphql(SCHEDULE_STATUS, name=SCHEDULE)["scheduleOrError"]["scheduleState"]
    assert state["status"] == "STOPPED", "schedules are off by default locally"
    page.goto("/")
    page.get_by_role("link", name=re.compile(r"Automation$")).first.click()
    page.get_by_role("link", name=SCHEDULE).first.click()
    running = page.get_by_role("row").filter(has_text="Running")
    toggle = running.get_by_role("checkbox")
    expect(toggle).not_to_be_checked()
    running.locator("label").click()
    expect(toggle).to_be_checked()

    def status() -> str:
        return stack.graphql(SCHEDULE_STATUS, name=SCHEDULE)["scheduleOrError"]["scheduleState"][
            "status"
        ]

    wait_until(lambda: status() == "RUNNING", f"{SCHEDULE} reads RUNNING", 30)
    page.reload()
    expect(
        page.get_by_role("row").filter(has_text="Running").get_by_role("checkbox")
    ).to_be_checked()
    _shot(page, stack, "5-schedule-running")
