#!/usr/bin/env python3
"""Download the independent evaluation sources: providers' SDKs, their tests and docs.

Reads bench/eval/sources.tsv (registry, name, pinned version, why) and fetches every
package with the registry's ordinary client into a cache that is never committed:

  pypi    pip download --no-deps: the artifact sources.tsv names (sdist, which usually
          holds the tests, or wheel where the sdist could not be prepared here)
  npm     npm pack
  crates  the hosts cargo uses (index.crates.io, static.crates.io)

Each package is unpacked to CACHE/src/<registry>/<name>-<version>/ (files as published,
with the archive's top-level folder kept). Already-fetched packages are skipped.

Usage: bench/eval/fetch.py [--cache DIR] [--resolve]
  --cache    default: $EVAL_CACHE, else ${CARGO_TARGET_DIR:-target}/eval
  --resolve  fill in versions written as "-" with the registry's latest and rewrite
             sources.tsv (used once, to pin; the committed file is pinned)
Needs: python3, pip, npm, network access to PyPI, npm and crates.io's index and static hosts.

The cache must stay outside any git work tree that ignores it: envshim, like git,
would skip ignored files (CARGO_TARGET_DIR outside the repository is fine).
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = os.path.join(HERE, "sources.tsv")


def default_cache():
    if os.environ.get("EVAL_CACHE"):
        return os.environ["EVAL_CACHE"]
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(HERE, "..", "..", "target")
    return os.path.join(target, "eval")


def read_sources():
    rows = []
    for line in open(SOURCES):
        if line.startswith("#") or not line.strip():
            rows.append(line)
            continue
        rows.append(line.rstrip("\n").split("\t"))
    return rows


def unpack(archive, dest):
    os.makedirs(dest, exist_ok=True)
    if archive.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as z:
            z.extractall(dest)
    else:
        with tarfile.open(archive) as t:
            t.extractall(dest, filter="data")


BACKENDS = ["setuptools", "wheel", "hatchling", "hatch-vcs", "hatch-fancy-pypi-readme",
            "poetry-core", "flit_core", "pdm-backend", "setuptools_scm"]


def pip(cache):
    """A venv of common build backends, so that sdists are prepared without build
    isolation (which would install a backend again for every package)."""
    venv = os.path.join(cache, "venv")
    exe = os.path.join(venv, "bin", "pip")
    if not os.path.exists(exe):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([exe, "install", "--quiet"] + BACKENDS, check=True)
    return exe


def fetch_pypi(name, ver, tmp, cache, artifact=""):
    spec = f"{name}=={ver}" if ver != "-" else name
    base = [pip(cache), "download", "--quiet", "--no-deps", "-d", tmp, spec]
    r = subprocess.CompletedProcess([], 1)
    if artifact != "wheel":
        r = subprocess.run(base + ["--no-binary", ":all:", "--no-build-isolation"],
                           capture_output=True, text=True)
        if artifact == "sdist" and r.returncode != 0:
            raise RuntimeError(f"the sdist could not be prepared: {r.stderr.strip()[-300:]}")
    if r.returncode != 0 or not os.listdir(tmp):
        for f in os.listdir(tmp):
            os.remove(os.path.join(tmp, f))
        r = subprocess.run(base + ["--only-binary", ":all:"], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(r.stderr.strip().splitlines()[-1] if r.stderr else "pip failed")
    return os.path.join(tmp, os.listdir(tmp)[0])


def fetch_npm(name, ver, tmp, cache, artifact=""):
    spec = f"{name}@{ver}" if ver != "-" else name
    out = subprocess.run(["npm", "pack", "--silent", "--json", "--pack-destination", tmp, spec],
                         capture_output=True, text=True, check=True).stdout
    return os.path.join(tmp, json.loads(out)[0]["filename"])


def crates_get(url):
    req = urllib.request.Request(url, headers={"User-Agent": "envshim-bench-eval (local)"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read()


def index_path(name):
    n = name.lower()
    if len(n) <= 2:
        return f"{len(n)}/{n}"
    if len(n) == 3:
        return f"3/{n[0]}/{n}"
    return f"{n[:2]}/{n[2:4]}/{n}"


def fetch_crate(name, ver, tmp, cache, artifact=""):
    # The hosts cargo itself uses: the sparse index and the static download host.
    if ver == "-":
        lines = crates_get(f"https://index.crates.io/{index_path(name)}").decode().splitlines()
        vers = [json.loads(l) for l in lines]
        ver = [v["vers"] for v in vers if not v["yanked"] and "-" not in v["vers"]][-1]
    path = os.path.join(tmp, f"{name}-{ver}.crate")
    open(path, "wb").write(crates_get(f"https://static.crates.io/crates/{name}/{name}-{ver}.crate"))
    return path


def version_of(reg, name, archive):
    base = os.path.basename(archive)
    if reg == "crates":
        return base[len(name) + 1:-len(".crate")]
    if reg == "npm":  # scope-name-1.2.3.tgz
        return base[:-len(".tgz")].rsplit("-", 1)[1] if base.count("-") else "?"
    # pypi: name-1.2.3.tar.gz or name-1.2.3-py3-none-any.whl
    stem = base.replace(".tar.gz", "").replace(".zip", "")
    if stem.endswith(".whl"):
        return stem.split("-")[1]
    return stem.rsplit("-", 1)[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=default_cache())
    ap.add_argument("--resolve", action="store_true")
    args = ap.parse_args()
    rows = read_sources()
    fetchers = {"pypi": fetch_pypi, "npm": fetch_npm, "crates": fetch_crate}
    failed = 0
    for row in rows:
        if isinstance(row, str):
            continue
        reg, name, ver = row[:3]
        artifact = row[4] if len(row) > 4 else ""
        if ver == "-" and not args.resolve:
            sys.exit(f"{name}: no pinned version in sources.tsv (run once with --resolve)")
        safe = name.replace("/", "+")
        if ver == "-":  # resolving: a version already in the cache is kept
            have = glob.glob(os.path.join(args.cache, "src", reg, glob.escape(safe) + "-[0-9]*"))
            if len(have) == 1:
                ver = row[2] = os.path.basename(have[0])[len(safe) + 1:]
        if ver != "-" and os.path.isdir(os.path.join(args.cache, "src", reg, f"{safe}-{ver}")):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            try:
                archive = fetchers[reg](name, ver, tmp, args.cache, artifact)
            except Exception as e:  # noqa: BLE001 - report and go on with the others
                print(f"FAILED {reg} {name} {ver}: {e}", file=sys.stderr)
                failed += 1
                continue
            if ver == "-":
                ver = version_of(reg, name, archive)
                row[2] = ver
            dest = os.path.join(args.cache, "src", reg, f"{safe}-{ver}")
            shutil.rmtree(dest, ignore_errors=True)
            try:
                unpack(archive, dest)
            except Exception as e:  # noqa: BLE001 - e.g. a link out of the archive
                shutil.rmtree(dest, ignore_errors=True)
                print(f"FAILED {reg} {name} {ver}: cannot unpack: {e}", file=sys.stderr)
                failed += 1
                continue
            print(f"{reg} {name} {ver} ({os.path.basename(archive)})")
    if args.resolve:
        with open(SOURCES, "w") as f:
            for row in rows:
                f.write(row if isinstance(row, str) else "\t".join(row) + "\n")
    if failed:
        sys.exit(f"{failed} package(s) failed")


if __name__ == "__main__":
    main()
