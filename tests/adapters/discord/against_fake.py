"""`python -m tests.adapters.discord.against_fake PORT [stackprep arguments]`: the real
`stackprep` command, as its own process, talking to the fake Discord on 127.0.0.1:PORT.

It only points discord.py's two public class attributes at the fake (design.md section 6)
before handing over to `bot.cli.entry.main`: everything else is what users run.
"""

from __future__ import annotations

import sys

import discord.gateway
import discord.http
import yarl

from bot.cli.entry import main


def run(argv: list[str]) -> int:
    port = int(argv[0])
    discord.http.Route.BASE = f"http://127.0.0.1:{port}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(f"ws://127.0.0.1:{port}/gateway")
    return main(argv[1:])


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
