"""Link-header pagination: right cursors, three pages, forward paging, limits."""

from __future__ import annotations

import re

import aiohttp
from yarl import URL

from mastod.sandbox import RunningSandbox, Sandbox


def links(header: str | None) -> dict[str, URL]:
    """`rel -> URL` from a Link header."""
    return {rel: URL(url) for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', header or "")}


async def _status(client: aiohttp.ClientSession, text: str) -> str:
    async with client.post("/api/v1/statuses", json={"status": text}) as resp:
        body = await resp.json()
        return str(body["id"])


async def test_bookmarks_page_by_bookmark_id_across_three_pages(
    client: aiohttp.ClientSession, sandbox: Sandbox, running: RunningSandbox
) -> None:
    sandbox.bookmarks.clear()
    ids = [await _status(client, f"bookmark me {n}") for n in range(5)]
    # Bookmark in an order unlike the statuses' own, so the two id orders disagree.
    order = [ids[2], ids[0], ids[4], ids[1], ids[3]]
    for sid in order:
        async with client.post(f"/api/v1/statuses/{sid}/bookmark") as resp:
            assert resp.status == 200
    bookmark_ids = {link.target_id: link.id for link in sandbox.bookmarks.values()}

    pages: list[list[str]] = []
    url: str | URL = "/api/v1/bookmarks?limit=2"
    cursors = []
    while True:
        async with client.get(url) as resp:
            page = [s["id"] for s in await resp.json()]
            rels = links(resp.headers.get("Link"))
        if not page:
            assert "Link" not in resp.headers
            break
        pages.append(page)
        if "next" not in rels:
            break
        cursors.append(rels["next"].query["max_id"])
        assert str(rels["next"].origin()) == running.url
        url = rels["next"].relative()
    assert pages == [order[::-1][0:2], order[::-1][2:4], order[::-1][4:5]]
    # The cursor is the bookmark's own id, which is not the status id.
    assert cursors == [bookmark_ids[pages[0][-1]], bookmark_ids[pages[1][-1]]]
    assert all(c not in ids for c in cursors)


async def test_favourites_page_by_favourite_id(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    sandbox.favourites.clear()
    ids = [await _status(client, f"fav {n}") for n in range(3)]
    for sid in ids:
        await client.post(f"/api/v1/statuses/{sid}/favourite")
    async with client.get("/api/v1/favourites?limit=2") as resp:
        rels = links(resp.headers["Link"])
        assert [s["id"] for s in await resp.json()] == [ids[2], ids[1]]
    fav_id = sandbox.favourites[("1", ids[1])].id
    assert rels["next"].query["max_id"] == fav_id
    assert rels["prev"].query["min_id"] == sandbox.favourites[("1", ids[2])].id


async def test_home_timeline_cursors_and_forward_paging(client: aiohttp.ClientSession) -> None:
    ids = [await _status(client, f"timeline {n}") for n in range(6)]
    async with client.get("/api/v1/timelines/home?limit=2") as resp:
        first = [s["id"] for s in await resp.json()]
        rels = links(resp.headers["Link"])
    assert first == [ids[5], ids[4]]
    assert rels["next"].query["max_id"] == ids[4]
    assert rels["prev"].query["min_id"] == ids[5]
    assert rels["next"].query["limit"] == "2"
    async with client.get(rels["next"].relative()) as resp:
        assert [s["id"] for s in await resp.json()] == [ids[3], ids[2]]
    # min_id pages forward: the statuses just above the cursor, newest first.
    async with client.get(f"/api/v1/timelines/home?min_id={ids[1]}&limit=2") as resp:
        assert [s["id"] for s in await resp.json()] == [ids[3], ids[2]]
    # since_id gives the newest ones above the cursor.
    async with client.get(f"/api/v1/timelines/home?since_id={ids[1]}&limit=2") as resp:
        assert [s["id"] for s in await resp.json()] == [ids[5], ids[4]]
    # A page that is not full has no next link; an empty page has no Link at all.
    async with client.get(f"/api/v1/timelines/home?min_id={ids[4]}&limit=2") as resp:
        assert [s["id"] for s in await resp.json()] == [ids[5]]
        assert set(links(resp.headers["Link"])) == {"prev"}
    async with client.get(f"/api/v1/timelines/home?min_id={ids[5]}") as resp:
        assert await resp.json() == []
        assert "Link" not in resp.headers


async def test_limit_defaults_and_caps(client: aiohttp.ClientSession) -> None:
    for n in range(45):
        await _status(client, f"bulk {n}")
    async with client.get("/api/v1/timelines/home") as resp:
        assert len(await resp.json()) == 20
    async with client.get("/api/v1/timelines/home?limit=100") as resp:
        assert len(await resp.json()) == 40


async def test_link_keeps_filters_but_never_the_access_token(client: aiohttp.ClientSession) -> None:
    async with client.get(
        "/api/v1/notifications?limit=1&types[]=mention&types[]=favourite"
    ) as resp:
        rels = links(resp.headers["Link"])
    assert rels["next"].query.getall("types[]") == ["mention", "favourite"]
    async with client.get("/api/v1/timelines/public?limit=1&access_token=secret") as resp:
        assert "secret" not in resp.headers["Link"]
