"""`/render?format=png|svg` through the real app: decoded pictures of the requested size,
drawn where the data is, and a 400 for every bad parameter."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any
from xml.etree import ElementTree

import httpx
import numpy as np
import pytest
from PIL import Image

from cyanite_py.api import picture
from cyanite_py.api.app import build_app
from cyanite_py.counters import Registry
from tests.test_functions import T0, World

RED = (255, 0, 0)
WHITE = (255, 255, 255)


@pytest.fixture
async def world() -> World:
    world = World()
    await world.put("flat.right", [None] * 5 + [5.0] * 5)  # data in the right half only
    await world.put("flat.low", [2.0] * 10)
    await world.put("odd.$name^{", [1.0, 2.0, 3.0])
    return world


@pytest.fixture
def registry() -> Registry:
    return Registry()


@pytest.fixture
async def client(world: World, registry: Registry) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(world.reader, registry))
    async with httpx.AsyncClient(transport=transport, base_url="http://graphite") as client:
        yield client


# The windows of `put` lie at T0+10 ... T0+100.
SPAN = {"from": str(T0), "until": str(T0 + 100)}


async def png(client: httpx.AsyncClient, **params: Any) -> np.ndarray[Any, Any]:
    response = await client.get("/render", params={"format": "png", **SPAN, **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))


def near(pixels: np.ndarray[Any, Any], color: tuple[int, int, int]) -> np.ndarray[Any, Any]:
    """Where the pixels are within a little of `color` (lines are anti-aliased)."""
    close: np.ndarray[Any, Any] = np.all(np.abs(pixels.astype(int) - color) <= 40, axis=-1)
    return close


async def test_png_has_the_size_asked_for(client: httpx.AsyncClient) -> None:
    pixels = await png(client, target="flat.*", width=640, height=123)
    assert pixels.shape == (123, 640, 3)
    default = await png(client, target="flat.*")
    assert default.shape == (250, 330, 3)  # graphite-web's default size


async def test_the_line_is_drawn_where_the_data_is(client: httpx.AsyncClient) -> None:
    """graphOnly fills the picture with the plot: y 0..10 puts the value 5 half way up,
    and only the right half of the range holds data."""
    pixels = await png(
        client,
        target="flat.right",
        width=400,
        height=200,
        graphOnly="true",
        yMin=0,
        yMax=10,
        colorList="ff0000",
        bgcolor="white",
        lineWidth=3,
    )
    red = near(pixels, RED)
    rows, columns = np.nonzero(red)
    assert len(rows) > 100
    assert abs(np.median(rows) - 100) <= 3
    # points at T0+60 ... T0+100; the series span T0+10 to T0+110, as graphite-web's do
    assert abs(columns.min() - 200) <= 3
    assert abs(columns.max() - 360) <= 3
    assert near(pixels[:, :195], WHITE).all()
    assert near(pixels[:, 365:], WHITE).all()


async def test_area_mode_fills_below_the_line(client: httpx.AsyncClient) -> None:
    common = {
        "target": "flat.low",
        "width": 300,
        "height": 300,
        "graphOnly": "true",
        "yMin": 0,
        "yMax": 10,
        "colorList": "red",
        "bgcolor": "ffffff",
    }
    line = near(await png(client, **common), RED)
    area = near(await png(client, **common, areaMode="all"), RED)
    assert not line[-20:].any()  # 2 of 10: the line is at 4/5 of the height
    assert area[-20:, 10:260].all()  # filled down to the bottom, up to the last point
    assert area[:200].sum() == 0


async def test_stacked_series_draw_above_each_other(client: httpx.AsyncClient) -> None:
    pixels = await png(
        client,
        target=["flat.low", "flat.low"],
        areaMode="stacked",
        colorList="ff0000,0000ff",
        graphOnly="true",
        yMin=0,
        yMax=10,
        width=200,
        height=200,
        bgcolor="white",
    )
    blue_rows = np.nonzero(near(pixels, (0, 0, 255)))[0]
    red_rows = np.nonzero(near(pixels, RED))[0]
    assert red_rows.min() >= 155  # the first series fills 0..2
    assert 115 <= blue_rows.min() <= 125  # the second fills 2..4: up to 4/10 of the height


async def test_template_and_colours_reach_the_picture(client: httpx.AsyncClient) -> None:
    plain = await png(client, target="flat.low", template="plain")
    assert tuple(plain[0, 0]) == WHITE
    default = await png(client, target="flat.low")
    assert tuple(default[0, 0]) == (0, 0, 0)  # graphite-web's default: black
    chosen = await png(client, target="flat.low", bgcolor="#336699")
    assert tuple(chosen[0, 0]) == (0x33, 0x66, 0x99)


async def test_decorations_and_modes_draw(client: httpx.AsyncClient) -> None:
    """Titles, a legend, every line mode, and names that look like TeX draw without error."""
    for line_mode in ("slope", "staircase", "connected"):
        pixels = await png(
            client,
            target=["flat.*", "odd.*"],
            title="Title $x^{",
            vtitle="units",
            lineMode=line_mode,
            hideLegend="false",
            fgcolor="yellow",
            width=500,
            height=300,
        )
        assert near(pixels, (255, 255, 0)).sum() > 200  # text and axes in yellow


async def test_no_data_draws_an_empty_picture(client: httpx.AsyncClient) -> None:
    pixels = await png(client, target="nothing.here", width=200, height=100)
    assert pixels.shape == (100, 200, 3)
    tiny = await png(client, target="flat.low", width=1, height=1)
    assert tiny.shape == (1, 1, 3)


async def test_svg_parses_with_the_size_asked_for(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/render", params={"format": "svg", "target": "flat.*", "width": 640, "height": 321, **SPAN}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/svg+xml"
    root = ElementTree.fromstring(response.content)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert (root.get("width"), root.get("height")) == ("640px", "321px")
    assert root.get("viewBox") == "0 0 640 321"


async def test_pictures_are_counted(client: httpx.AsyncClient, registry: Registry) -> None:
    await png(client, target="flat.low")
    await client.get("/render", params={"format": "svg", "target": "flat.low", **SPAN})
    assert registry.value("api_pictures_drawn", format="png") == 1
    assert registry.value("api_pictures_drawn", format="svg") == 1


async def test_too_many_series_are_a_400(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(picture, "MAX_SERIES", 2)
    response = await client.get("/render", params={"format": "png", "target": "*.*", **SPAN})
    assert response.status_code == 400
    assert "3 series are too many to draw (at most 2)" in response.json()["message"]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"width": "0"}, "width must be between 1 and 4096"),
        ({"height": "4097"}, "height must be between 1 and 4096"),
        ({"width": "wide"}, "width must be a number"),
        ({"height": "nan"}, "height must be a finite number"),
        ({"colorList": "red,notacolour"}, "colorList: 'notacolour' is not a colour"),
        ({"colorList": ","}, "colorList names no colour"),
        ({"bgcolor": "#12345"}, "bgcolor"),
        ({"fgcolor": "zz"}, "fgcolor"),
        ({"template": "fancy"}, "template 'fancy' is not known"),
        ({"lineMode": "curvy"}, "lineMode must be one of slope, staircase, connected"),
        ({"areaMode": "some"}, "areaMode must be one of none, first, all, stacked"),
        ({"yMin": "5", "yMax": "1"}, "yMin must be below yMax"),
        ({"yMax": "inf"}, "yMax must be a finite number"),
        ({"hideLegend": "maybe"}, "hideLegend must be true or false"),
        ({"lineWidth": "1000"}, "lineWidth must be between"),
        ({"areaAlpha": "2"}, "areaAlpha must be between 0 and 1"),
        ({"format": "gif"}, "format 'gif' is not served"),
    ],
)
async def test_bad_parameters_are_a_400_naming_them(
    client: httpx.AsyncClient, params: dict[str, str], words: str
) -> None:
    query = {"format": "png", "target": "flat.low", **params}
    response = await client.get("/render", params=query)
    assert response.status_code == 400
    assert words in response.json()["message"]
