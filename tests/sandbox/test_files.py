"""Photos, documents and albums: uploads, attach:// parts, re-sending by file_id, download."""

from __future__ import annotations

import base64

from tests.sandbox.conftest import TOKEN, Client

# A real 2x3 PNG header is enough for the sandbox to read its size.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x03" + b"\x00" * 20


async def download(client: Client, file_id: str) -> bytes:
    file = await client.ok("getFile", file_id=file_id)
    async with client.http.get(f"{client.url}/file/bot{TOKEN}/{file['file_path']}") as resp:
        assert resp.status == 200
        return await resp.read()


async def test_a_photo_uploaded_as_its_own_part_is_stored(client: Client) -> None:
    alice = await client.user()
    status, answer = await client.multipart(
        "sendPhoto",
        {"photo": ("chart.png", PNG)},
        chat_id=str(alice),
        caption="<b>Q1</b>",
        parse_mode="HTML",
    )
    assert status == 200, answer
    sent = answer["result"]
    (size,) = sent["photo"]
    assert (size["width"], size["height"], size["file_size"]) == (2, 3, len(PNG))
    assert sent["caption"] == "Q1"
    assert await download(client, size["file_id"]) == PNG
    file = await client.ok("getFile", file_id=size["file_id"])
    assert file["file_unique_id"] == size["file_unique_id"]


async def test_attach_references_and_resending_by_file_id(client: Client) -> None:
    alice = await client.user()
    bob = await client.user("Bob")
    status, answer = await client.multipart(
        "sendDocument",
        {"a1b2c3": ("report.pdf", b"%PDF-1.4 data")},
        chat_id=str(alice),
        document="attach://a1b2c3",
    )
    assert status == 200, answer
    document = answer["result"]["document"]
    assert (document["file_name"], document["mime_type"], document["file_size"]) == (
        "report.pdf",
        "application/pdf",
        13,
    )
    again = await client.ok("sendDocument", chat_id=bob, document=document["file_id"])
    assert again["document"]["file_id"] == document["file_id"]
    assert await download(client, document["file_id"]) == b"%PDF-1.4 data"


async def test_file_ids_must_exist_and_be_of_the_right_kind(client: Client) -> None:
    alice = await client.user()
    sent = await client.control(
        "/sandbox/messages",
        {
            "from_id": alice,
            "document": {"file_name": "notes.txt", "base64": base64.b64encode(b"hello").decode()},
        },
    )
    doc_id = sent["message"]["document"]["file_id"]
    assert sent["message"]["document"]["mime_type"] == "text/plain"
    cases = [
        ("sendPhoto", {"photo": doc_id}, "Bad Request: can't use file of type Document as Photo"),
        (
            "sendPhoto",
            {"photo": "AgACnonsense"},
            "Bad Request: wrong file identifier/HTTP URL specified",
        ),
        (
            "sendPhoto",
            {"photo": "https://example.com/a.jpg"},
            "Bad Request: failed to get HTTP URL content",
        ),
        ("sendPhoto", {}, "Bad Request: there is no photo in the request"),
        (
            "sendDocument",
            {"document": "attach://missing"},
            'Bad Request: wrong HTTP URL specified: file "missing" is not attached',
        ),
        (
            "sendPhoto",
            {"photo": doc_id.replace("BQAC", "AgAC"), "caption": "x" * 1025},
            "Bad Request: wrong file identifier/HTTP URL specified",
        ),
    ]
    for method, params, description in cases:
        assert await client.error(method, chat_id=alice, **params) == (400, description)
    pic = await client.control("/sandbox/messages", {"from_id": alice, "photo": True})
    photo_id = pic["message"]["photo"][-1]["file_id"]
    assert await client.error("sendPhoto", chat_id=alice, photo=photo_id, caption="x" * 1025) == (
        400,
        "Bad Request: message caption is too long",
    )
    assert await client.error("getFile", file_id="nope") == (400, "Bad Request: invalid file_id")
    status, answer = await client.multipart(
        "sendDocument", {"document": ("empty.txt", b"")}, chat_id=str(alice)
    )
    assert (status, answer["description"]) == (400, "Bad Request: file must be non-empty")


async def test_an_unknown_file_path_is_not_found(client: Client) -> None:
    async with client.http.get(f"{client.url}/file/bot{TOKEN}/photos/nothing.jpg") as resp:
        assert resp.status == 404
    async with client.http.get(f"{client.url}/file/botbad/photos/nothing.jpg") as resp:
        assert resp.status == 401


async def test_an_album_of_uploads_and_known_files(client: Client) -> None:
    alice = await client.user()
    pic = await client.control("/sandbox/messages", {"from_id": alice, "photo": True})
    known = pic["message"]["photo"][-1]["file_id"]
    media = [
        {"type": "photo", "media": "attach://one", "caption": "<b>first</b>", "parse_mode": "HTML"},
        {"type": "photo", "media": known},
        {"type": "photo", "media": "attach://two"},
    ]
    status, answer = await client.multipart(
        "sendMediaGroup",
        {"one": ("1.png", PNG), "two": ("2.jpg", b"\xff\xd8jpeg")},
        chat_id=str(alice),
        media=media,
    )
    assert status == 200, answer
    album = answer["result"]
    assert len(album) == 3
    assert len({m["media_group_id"] for m in album}) == 1
    assert album[0]["caption"] == "first"
    assert "caption" not in album[1]
    assert album[1]["photo"][0]["file_id"] == known
    assert [m["message_id"] for m in await client.messages(alice)][1:] == [
        m["message_id"] for m in album
    ]
    logged = (await client.requests("?method=sendMediaGroup"))[-1]
    assert logged["params"]["one"] == {"file": "1.png", "size": len(PNG)}
    assert logged["params"]["media"] == media


async def test_albums_are_checked_like_telegram(client: Client) -> None:
    alice = await client.user()
    pic = (await client.control("/sandbox/messages", {"from_id": alice, "photo": True}))["message"]
    photo = pic["photo"][-1]["file_id"]
    doc = await client.control(
        "/sandbox/messages", {"from_id": alice, "document": {"file_name": "a.pdf"}}
    )
    document = doc["message"]["document"]["file_id"]
    cases = [
        ([{"type": "photo", "media": photo}], "Bad Request: media group must contain 2-10 items"),
        (
            [{"type": "photo", "media": photo}] * 11,
            "Bad Request: too much messages to send as an album",
        ),
        (
            [{"type": "photo", "media": photo}, {"type": "document", "media": document}],
            "Bad Request: document can't be mixed with other media types",
        ),
        (
            [
                {"type": "photo", "media": photo},
                {"type": "photo", "media": photo, "caption": "c" * 1025},
            ],
            "Bad Request: message caption is too long",
        ),
    ]
    for media, description in cases:
        assert await client.error("sendMediaGroup", chat_id=alice, media=media) == (
            400,
            description,
        )
    documents = await client.ok(
        "sendMediaGroup",
        chat_id=alice,
        media=[{"type": "document", "media": document}, {"type": "document", "media": document}],
    )
    assert [m["document"]["file_name"] for m in documents] == ["a.pdf", "a.pdf"]
