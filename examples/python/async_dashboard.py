"""Follows several streams at once on one asyncio loop, with a token that an
async function refreshes before every connection attempt.

    python examples/python/async_dashboard.py URL [URL ...]
"""

from __future__ import annotations

import asyncio
import sys
from typing import Dict, List

import ssekit


async def fresh_token() -> Dict[str, str]:
    await asyncio.sleep(0)  # ask the token service here
    return {"Authorization": "Bearer fresh"}


async def follow(url: str, limit: int) -> List[str]:
    seen: List[str] = []
    async with ssekit.aconnect(url, headers=fresh_token, retry=1.0) as es:
        es.on_error(lambda e: print(f"{url}: {e}; retrying in {e.retry_after} s", file=sys.stderr))
        async for ev in es:
            seen.append(ev.data)
            if len(seen) == limit:
                break
    return seen


async def main(urls: List[str]) -> None:
    results = await asyncio.gather(*(follow(u, 5) for u in urls))
    for url, data in zip(urls, results):
        print(url, data)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
