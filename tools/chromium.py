"""Debian's Chromium, for the browser tests and the in-browser benchmark: where it is, and how it
is started (headless, offline of everything but the app, a fake camera that plays a test pattern)."""

from __future__ import annotations

import shutil

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
