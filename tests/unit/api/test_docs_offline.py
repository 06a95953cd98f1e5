"""/docs and /redoc load their JavaScript and CSS from the API itself, never from a CDN
(before: cdn.jsdelivr.net, a blank page without internet)."""

from __future__ import annotations

import re

import httpx


async def test_docs_pages_reference_only_local_assets_that_are_served(
    client: httpx.AsyncClient,
) -> None:
    for page in ("/docs", "/redoc"):
        html = (await client.get(page)).text
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
        urls += re.findall(r"""url: ?["']([^"']+)["']""", html)
        assert urls, page
        for url in urls:
            assert url.startswith("/"), f"{page} loads {url} from elsewhere"
            assert (await client.get(url)).status_code == 200, url
