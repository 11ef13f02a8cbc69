"""The built-in page in a real headless Chromium against a real server process: it loads,
the tree expands, a plot holds the points sent, the status view fills in. `/status`, the
status view's data, is also driven in-process with a store and an index that are away."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from cyanite_py.api.app import build_app
from cyanite_py.api.web import status
from cyanite_py.counters import Registry
from cyanite_py.index.base import IndexUnavailable, Node
from cyanite_py.query import Reader
from tests.server_process import ServerProcess, wait_until, write_config
from tests.test_functions import World

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
WAIT_SECONDS = 30


STEP = 10
HOST1_POINTS = 30
HOST2_POINTS = 12


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server holding web.host1.cpu (30 windows), web.host2.cpu (12) and web.host1.load."""
    folder = tmp_path_factory.mktemp("page")
    config = write_config(folder / "cyanite.yaml", folder / "cyanite.db")
    process = ServerProcess(config).wait_until_serving()
    now = int(time.time())
    first = now - now % STEP - STEP * (HOST1_POINTS - 1)
    lines = [f"web.host1.cpu {i % 7} {first + STEP * i}" for i in range(HOST1_POINTS)]
    lines += [f"web.host2.cpu {i} {first + STEP * i}" for i in range(HOST2_POINTS)]
    lines.append(f"web.host1.load 1.5 {now}")
    process.send_lines("\n".join(lines) + "\n")
    wait_until(lambda: process.counter("engine_points") >= len(lines))
    try:
        yield process
    finally:
        assert process.stop() == 0


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    if not (CHROMIUM and DRIVER):
        pytest.skip("needs Debian's chromium and chromium-driver (scripts/test installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,860",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(DRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def url(server: ServerProcess, route: str = "/") -> str:
    return f"http://127.0.0.1:{server.ports['api']}{route}"


def wait(driver: WebDriver) -> WebDriverWait[WebDriver]:
    return WebDriverWait(driver, WAIT_SECONDS)


def tree_item(driver: WebDriver, path: str) -> WebElement:
    """The tree's entry for `path`, once it is shown."""
    selector = f'#tree li[data-path="{path}"]'
    return wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, selector))


def expand(driver: WebDriver, path: str) -> None:
    tree_item(driver, path).find_element(By.CSS_SELECTOR, ":scope > .node > .toggle").click()


def plotted(driver: WebDriver) -> tuple[int, int]:
    """(series, points) the chart holds, as the page exposes them."""
    info = driver.find_element(By.ID, "plot-info")
    return int(info.get_attribute("data-series") or 0), int(info.get_attribute("data-points") or 0)


def severe_console_messages(driver: webdriver.Chrome) -> list[str]:
    entries = driver.get_log("browser")  # type: ignore[no-untyped-call]
    return [entry["message"] for entry in entries if entry["level"] == "SEVERE"]


def test_the_page_is_served_with_its_files(server: ServerProcess) -> None:
    page = httpx.get(url(server))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for asset in (
        "/static/app.js",
        "/static/style.css",
        "/static/uplot/uPlot.iife.min.js",
        "/static/uplot/uPlot.min.css",
        "/static/uplot/LICENSE",
    ):
        assert httpx.get(url(server, asset)).status_code == 200, asset
    missing = httpx.get(url(server, "/static/nothing.js"))
    assert missing.status_code == 404
    assert "message" in missing.json()


def test_browse_the_tree_and_plot_the_points_sent(
    server: ServerProcess, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    browser.get(url(server))
    assert browser.title == "cyanite-py"
    expand(browser, "web")
    expand(browser, "web.host1")
    tree_item(browser, "web.host1.cpu").find_element(By.CSS_SELECTOR, "input").click()
    wait(browser).until(lambda d: plotted(d) == (1, HOST1_POINTS))
    assert browser.find_elements(By.CSS_SELECTOR, "#plot canvas")
    assert browser.execute_script("return typeof uPlot") == "function"

    expand(browser, "web.host2")
    tree_item(browser, "web.host2.cpu").find_element(By.CSS_SELECTOR, "input").click()
    wait(browser).until(lambda d: plotted(d) == (2, HOST1_POINTS + HOST2_POINTS))
    legend = browser.find_element(By.CSS_SELECTOR, "#plot .u-legend").text
    assert "web.host1.cpu" in legend
    assert "web.host2.cpu" in legend
    assert "target=web.host2.cpu" in browser.execute_script("return location.hash")

    # a typed target is evaluated by /render: the sum of both series, one point per window
    browser.find_element(By.ID, "target").send_keys("sumSeries(web.*.cpu)\n")
    wait(browser).until(lambda d: plotted(d) == (3, 2 * HOST1_POINTS + HOST2_POINTS))

    # the PNG link draws the same targets
    png = httpx.get(browser.find_element(By.ID, "png-link").get_attribute("href") or "")
    assert png.headers["content-type"] == "image/png"

    # removing a target takes its points off the plot
    browser.find_element(By.CSS_SELECTOR, "#targets li:first-child button").click()
    wait(browser).until(lambda d: plotted(d) == (2, HOST1_POINTS + HOST2_POINTS))
    browser.save_screenshot(str(tmp_path / "page.png"))
    assert severe_console_messages(browser) == []


def test_a_shorter_range_holds_fewer_points(
    server: ServerProcess, browser: webdriver.Chrome
) -> None:
    """The range comes from the address; from -2min the last 12 windows are shown at most."""
    browser.get(url(server, "/#target=web.host1.cpu&from=-2min&until=now"))
    wait(browser).until(lambda d: plotted(d)[0] == 1)
    assert browser.find_element(By.ID, "from").get_attribute("value") == "-2min"
    assert 0 < plotted(browser)[1] <= 13


def test_a_bad_target_shows_the_servers_message(
    server: ServerProcess, browser: webdriver.Chrome
) -> None:
    browser.get(url(server, "/#target=web.host1.cpu"))
    wait(browser).until(lambda d: plotted(d) == (1, HOST1_POINTS))
    browser.find_element(By.ID, "target").send_keys("sumSeries(web.*.cpu\n")
    info = browser.find_element(By.ID, "plot-info")
    wait(browser).until(lambda d: info.get_attribute("class") == "error")
    assert "expected ')'" in info.text
    assert plotted(browser) == (0, 0)
    # the browser logs the 400 itself, and nothing else
    assert [message.split(" - ")[1] for message in severe_console_messages(browser)] == [
        "Failed to load resource: the server responded with a status of 400 ()"
    ]


def test_the_status_view_shows_the_server(server: ServerProcess, browser: webdriver.Chrome) -> None:
    browser.get(url(server))
    browser.find_element(By.CSS_SELECTOR, '.tab[data-view="status"]').click()
    wait(browser).until(lambda d: d.find_element(By.ID, "series").text not in ("", "…"))
    assert browser.find_element(By.ID, "status-view").is_displayed()
    assert not browser.find_element(By.ID, "graph-view").is_displayed()
    assert int(browser.find_element(By.ID, "series").text.replace(",", "")) == 3
    wait(browser).until(lambda d: d.find_element(By.ID, "points-in-rate").text != "…")
    assert browser.find_element(By.ID, "store-health").text == "ok"
    assert browser.find_element(By.ID, "index-health").text == "ok"
    assert "points received" in browser.find_element(By.ID, "version").text
    assert severe_console_messages(browser) == []


def test_status_route_answers_json(server: ServerProcess) -> None:
    answer = httpx.get(url(server, "/status")).json()
    assert answer["counters"]["points_in"] == HOST1_POINTS + HOST2_POINTS + 1
    assert answer["gauges"]["series"] == 3
    assert answer["store"]["ok"]
    assert answer["index"]["ok"]
    assert isinstance(answer["problems"], list)


class _AwayIndex:
    async def find(self, pattern: str) -> list[Node]:
        raise IndexUnavailable("index unreachable")


class _SilentStore:
    async def read(self, *args: object) -> dict[str, object]:
        await trio.sleep_forever()
        raise AssertionError("unreachable")


async def test_status_says_which_backend_is_away(monkeypatch: pytest.MonkeyPatch) -> None:
    """An index that fails and a store that does not answer show as failing, with why."""
    monkeypatch.setattr(status, "PROBE_SECONDS", 0.2)
    world = World()
    reader = Reader(_SilentStore(), _AwayIndex(), world.engine)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=build_app(reader, Registry()))
    async with httpx.AsyncClient(transport=transport, base_url="http://cyanite") as client:
        logging.getLogger("cyanite_py.somewhere").warning("something to see: %d", 42)
        answer = (await client.get("/status")).json()
    assert answer["index"] == {
        "ok": False,
        "milliseconds": answer["index"]["milliseconds"],
        "message": "index unreachable",
    }
    assert answer["store"]["ok"] is False
    assert answer["store"]["message"] == "no answer within 0.2 s"
    newest = answer["problems"][0]
    assert (newest["level"], newest["logger"], newest["message"]) == (
        "warning",
        "cyanite_py.somewhere",
        "something to see: 42",
    )
