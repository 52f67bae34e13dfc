"""The blog API end to end, through httpx's ASGI transport, on a rolled-back database."""

from __future__ import annotations

import httpx


async def make_author(client: httpx.AsyncClient, name: str = "Ann") -> dict[str, object]:
    response = await client.post(
        "/authors", json={"name": name, "email": f"{name.lower()}@example.com"}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_create_and_read_an_author(client: httpx.AsyncClient) -> None:
    author = await make_author(client)
    assert set(author) == {"id", "name", "email"}
    response = await client.get(f"/authors/{author['id']}")
    assert response.status_code == 200
    assert response.json() == author


async def test_missing_row_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/authors/999999")
    assert response.status_code == 404
    assert "does not exist" in response.json()["detail"]


async def test_duplicate_email_is_409(client: httpx.AsyncClient) -> None:
    await make_author(client)
    response = await client.post("/authors", json={"name": "Ann", "email": "ann@example.com"})
    assert response.status_code == 409
    assert response.json()["type"] == "UniqueViolationError"
    # the failed insert left the test's transaction usable
    assert (await client.get("/posts")).status_code == 200


async def test_client_supplied_id_and_nested_relation_are_refused(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/authors", json={"id": 7, "name": "Eve", "email": "e@x.io"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "id"]
    author = await make_author(client)
    nested = {"title": "t", "author": {"name": "Mallory", "email": "m@x.io"}}
    response = await client.post("/posts", json=nested)
    assert response.status_code == 422
    assert ["body", "author"] in [error["loc"] for error in response.json()["detail"]]
    response = await client.post("/posts", json={"title": "t", "author_id": author["id"]})
    assert response.status_code == 201


async def test_unknown_author_is_409(client: httpx.AsyncClient) -> None:
    response = await client.post("/posts", json={"title": "t", "author_id": 999999})
    assert response.status_code == 409
    assert response.json()["type"] == "ForeignKeyViolationError"


async def test_created_post_is_consistent(client: httpx.AsyncClient) -> None:
    author = await make_author(client)
    response = await client.post("/posts", json={"title": "t", "author_id": author["id"]})
    assert response.json() == {"id": response.json()["id"], "title": "t", "body": "",
                               "author_id": author["id"]}  # fmt: skip


async def test_moving_a_post_shows_the_new_author(client: httpx.AsyncClient) -> None:
    ann = await make_author(client, "Ann")
    bob = await make_author(client, "Bob")
    post = (await client.post("/posts", json={"title": "t", "author_id": ann["id"]})).json()
    assert (await client.get(f"/posts/{post['id']}")).json()["author"]["name"] == "Ann"
    moved = await client.put(f"/posts/{post['id']}", json={"title": "t", "author_id": bob["id"]})
    assert moved.status_code == 200
    assert moved.json()["author"] == bob
    assert moved.json()["author_id"] == bob["id"]


async def test_pages_hold_items_and_total(client: httpx.AsyncClient) -> None:
    author = await make_author(client)
    for n in range(5):
        await client.post("/posts", json={"title": f"post {n}", "author_id": author["id"]})
    first = (await client.get("/posts", params={"limit": 2})).json()
    assert first["total"] == 5
    assert [item["title"] for item in first["items"]] == ["post 0", "post 1"]
    last = (await client.get("/posts", params={"limit": 2, "offset": 4})).json()
    assert [item["title"] for item in last["items"]] == ["post 4"]
    assert (await client.get("/posts", params={"limit": 0})).status_code == 422


async def test_lifespan_creates_tables(tmp_path: object) -> None:
    from blog.main import create_app
    from blog.models import Author

    app = create_app(f"sqlite:///{tmp_path}/lifespan.db")
    async with app.router.lifespan_context(app):
        assert await Author.objects.count() == 0
