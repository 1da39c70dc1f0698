"""`python -m tools.vendor_ort [--check]`: the pinned onnxruntime-web files the "On your device"
tab runs, copied from the npm package into seg/assets/vendor/onnxruntime-web/ with its licence.

The app serves them from its own origin, so the tab works where only the package registries are
reachable (and on Spaces) and no request leaves the app's origin. They are committed; this script
is how they got there and how to move to another version (change VERSION and INTEGRITY together).
`--check` only verifies the committed copy against its manifest (offline; the tests run it).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

PACKAGE = "onnxruntime-web"
VERSION = "1.31.1"
# The registry's own integrity value for this tarball: a changed tarball is refused.
INTEGRITY = "sha512-5GeH+bWQ+HxM10z7erGlsWqryrwMbSvm/1tkIsKTT48g0fI19VXVVC435t4t7VsPdSQeS7NmuZPXrQ73k82URw=="
TARBALL = f"https://registry.npmjs.org/{PACKAGE}/-/{PACKAGE}-{VERSION}.tgz"
# The WebAssembly build only (SIMD, threads where the page is cross-origin isolated): its bundle
# carries the Emscripten glue inside, so two files. The WebGPU build's binary adds 29 MB.
FILES = ("ort.wasm.bundle.min.mjs", "ort-wasm-simd-threaded.wasm")
DEST = Path(__file__).resolve().parents[1] / "seg" / "assets" / "vendor" / PACKAGE
MANIFEST = DEST / "MANIFEST.json"
# The npm package ships no licence file; its package.json says MIT, and this is ONNX Runtime's.
LICENSE = """MIT License

Copyright (c) Microsoft Corporation

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download() -> bytes:
    with urllib.request.urlopen(TARBALL, timeout=120) as response:
        tarball = response.read()
    algorithm, expected = INTEGRITY.split("-", 1)
    if base64.b64encode(hashlib.new(algorithm, tarball).digest()).decode() != expected:
        raise SystemExit(f"{TARBALL}: integrity differs from the pinned {INTEGRITY[:20]}…: refused")
    return tarball


def vendor() -> None:
    with tarfile.open(fileobj=io.BytesIO(download()), mode="r:gz") as archive:
        contents = {name: archive.extractfile(f"package/dist/{name}").read() for name in FILES}
    DEST.mkdir(parents=True, exist_ok=True)
    for name, data in contents.items():
        (DEST / name).write_bytes(data)
    (DEST / "LICENSE").write_text(LICENSE)
    manifest = {"package": PACKAGE, "version": VERSION, "tarball": TARBALL, "integrity": INTEGRITY,
                "license": "MIT", "files": {name: {"bytes": len(data), "sha256": sha256(data)}
                                            for name, data in contents.items()}}
    MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{PACKAGE} {VERSION}: {', '.join(FILES)} -> {DEST}")


def problems() -> list[str]:
    """What is wrong with the committed copy (empty where it matches its manifest and VERSION)."""
    if not MANIFEST.is_file():
        return [f"{MANIFEST} is missing: run python -m tools.vendor_ort"]
    manifest = json.loads(MANIFEST.read_text())
    found = [] if manifest.get("version") == VERSION else [f"vendored {manifest.get('version')}, pinned {VERSION}"]
    for name in FILES:
        file = DEST / name
        if not file.is_file():
            found.append(f"{name} is missing")
        elif sha256(file.read_bytes()) != manifest["files"].get(name, {}).get("sha256"):
            found.append(f"{name} differs from its manifest")
    return found + ([] if (DEST / "LICENSE").is_file() else ["LICENSE is missing"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.vendor_ort", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="verify the committed copy; no network")
    if not parser.parse_args(argv).check:
        vendor()
    found = problems()
    print("\n".join(found) or f"{PACKAGE} {VERSION}: the vendored files match their manifest")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
