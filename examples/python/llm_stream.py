"""Streams an LLM-style answer: POST a JSON prompt, print tokens until [DONE].

    python examples/python/llm_stream.py URL "a prompt"
"""

from __future__ import annotations

import sys

import ssekit


def main(url: str, prompt: str) -> int:
    try:
        with ssekit.connect(url, json={"prompt": prompt}, done="[DONE]", one_shot=True,
                            headers={"Authorization": "Bearer demo"}) as es:
            for ev in es:
                token: str = ev.json()["token"]
                print(token, end="", flush=True)
    except ssekit.HTTPStatusError as e:
        print(f"refused: {e.status_code}: {e.text}", file=sys.stderr)
        return 1
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
