"""``make bench``: generate demo worlds, score them, record per-stage wall time and peak memory.

Sizes come from BENCH_SIZES (comma-separated, default "100000,1000000"; add 10000000 with
BENCH_LARGE=1; 10M is scored with pipeline/national_scale.toml, and then 1M once more with it, so
growth is measured with the same settings). Each run is a fresh subprocess so peak RSS is per run.
The newest run's table replaces the one in docs/performance.md (between its bench markers).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# From this many applications the bench scores with the national-scale settings (docs/performance.md).
NATIONAL_FROM = 10_000_000
NATIONAL_CONFIG = ROOT / "pipeline" / "national_scale.toml"


def _machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}"


def _generator_stamp() -> str:
    """Hash of the demo generator's source: a world made by another version is made again."""
    h = hashlib.sha256()
    for name in ("world.py", "terms.py"):
        h.update((ROOT / "demo" / name).read_bytes())
    return h.hexdigest()[:16]


def _world(n: int, work: Path) -> tuple[Path, float]:
    """The demo world of ``n`` applications (made again when the generator changed), and the seconds
    it took to make (0 when reused)."""
    world = work / f"world-{n}"
    stamp = world / "GENERATOR"
    start = time.perf_counter()
    if not (world / "dataset" / "applications.csv").exists() or not stamp.exists() \
            or stamp.read_text().strip() != _generator_stamp():
        shutil.rmtree(world, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "pipeline.cli", "demo-data", str(world), "--n-applications", str(n),
                        "--seed", "11"], check=True)
        stamp.write_text(_generator_stamp() + "\n")
    return world, time.perf_counter() - start


def planned_runs(sizes: list[int]) -> list[tuple[int, bool]]:
    """(size, national settings?) for each run: a national register (10M) is scored with the settings
    documented for it, the smaller worlds with the defaults. When a national-size world is benched,
    the largest smaller world is scored with the national settings too, so growth is also measured
    with the same settings at both sizes."""
    runs = [(n, n >= NATIONAL_FROM) for n in sizes]
    smaller = [n for n in sizes if n < NATIONAL_FROM]
    if smaller and len(smaller) < len(sizes):
        runs.insert(sizes.index(max(smaller)) + 1, (max(smaller), True))
    return runs


def run_size(n: int, work: Path, national: bool) -> dict:
    world, gen = _world(n, work)
    config = ["--config", str(NATIONAL_CONFIG)] if national else []
    # the extra same-settings run writes beside the world's usual run (the references read that one)
    run = world / ("run-national" if national and n < NATIONAL_FROM else "run")
    # --builtin: a champion model registered in the user's home must not change what is measured
    subprocess.run([sys.executable, "-m", "pipeline.cli", "score", str(world / "dataset"), "--out",
                    str(run), "--as-of", "2026-01-01", "--top", "0", "--builtin", *config], check=True)
    manifest = json.loads((run / "manifest.json").read_text())
    marks = next((s["marks_process"]["seconds"] for s in manifest["stages"] if "marks_process" in s), None)
    # intake screening against the run's register index, in a fresh process (its load time is real)
    screen = json.loads(subprocess.run([sys.executable, "-m", "bench.screen", str(run)], check=True,
                                       capture_output=True, text=True).stdout.strip().splitlines()[-1])
    return {"n": n, "generate_s": round(gen, 1), "stages": manifest["stages"], "marks_process_s": marks,
            "screen": screen,
            "config": NATIONAL_CONFIG.name if national else "defaults", "reference_run": run.name == "run",
            # builder stages that ran in threads overlap; their enclosing stage counts once
            "total_s": round(sum(s["seconds"] for s in manifest["stages"] if not s.get("parallel")), 1),
            "peak_mb": max(s["peak_rss_mb"] for s in manifest["stages"])}


def growth(results: list[dict]) -> list[str]:
    """Each run's total against the next smaller run with the same settings (``×7.2 vs 100,000``)."""
    cells = []
    for r in results:
        prev = [p for p in results if p["config"] == r["config"] and p["n"] < r["n"]]
        p = max(prev, key=lambda x: x["n"]) if prev else None
        cells.append(f"×{r['total_s'] / p['total_s']:.1f} vs {p['n']:,} (data ×{r['n'] / p['n']:g})" if p else "")
    return cells


def reference_ratios(world: Path, n: int) -> dict:
    """Naive references on the same data, so the numbers mean something on any machine:
    networkx connected components vs the scipy csgraph used by the pipeline (on the run's
    related-party edges), and the similarity engine vs brute-force rapidfuzz on a sample
    (bench.similarity, synthetic marks of the same count)."""
    import networkx as nx
    import pandas as pd

    from bench import similarity as bench_similarity
    from pipeline.entities import assign_groups

    edges = pd.read_parquet(world / "run" / "edges.parquet", columns=["a", "b"])
    keys = pd.read_parquet(world / "run" / "applicant_scores.parquet", columns=["applicant_key"])["applicant_key"]
    t = time.perf_counter()
    assign_groups(pd.Index(keys), edges)
    t_csgraph = time.perf_counter() - t
    t = time.perf_counter()
    g = nx.Graph()
    g.add_nodes_from(keys)
    g.add_edges_from(zip(edges["a"], edges["b"]))
    n_comp = sum(1 for _ in nx.connected_components(g))
    t_nx = time.perf_counter() - t
    out = {"components": n_comp, "csgraph_s": round(t_csgraph, 2), "networkx_s": round(t_nx, 2)}
    if n > 1_000_000:  # the brute-force sample alone would take hours; the 1M figure is the reference
        return out | {"similarity_s": "–", "similarity_recall": "–", "similarity_speedup": "–"}
    sim = bench_similarity.main(["--n", str(n), "--source", "synthetic", "--sample", "300"])
    return out | {"similarity_s": round(sim["t_prepare"] + sim["t_candidates"] + sim["t_verify"], 1),
                  "similarity_recall": round(sim["recall"], 4), "similarity_speedup": round(sim["speedup"])}


START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def write_table(page: Path, table: str) -> None:
    """Replace the text between the bench markers of ``page`` with ``table`` (the newest run)."""
    text = page.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{page}: the markers {START} and {END} are missing; restore them around the table")
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    page.write_text(f"{head}{START}\n{table}\n{END}{tail}", encoding="utf-8")


def main() -> int:
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "100000,1000000").split(",") if s]
    if os.environ.get("BENCH_LARGE") == "1":
        sizes.append(10_000_000)
    work = ROOT / ".tmscreen" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    results = [run_size(n, work, national) for n, national in planned_runs(sizes)]
    refs = [reference_ratios(work / f"world-{r['n']}", r["n"]) if r["reference_run"] else None for r in results] \
        if os.environ.get("BENCH_REFERENCES", "1") == "1" else []
    stages = [s["stage"] for s in results[0]["stages"]]
    lines = [f"Run on {_machine()} (`{'BENCH_LARGE=1 ' if 10_000_000 in sizes else ''}make bench`).\n",
             "| stage | " + " | ".join(f"{r['n']:,} apps" + (", national" if r["config"] != "defaults" else "") + " (s)"
                                     for r in results) + " |",
             "|---|" + "---|" * len(results)]
    for stage in stages:
        cells = [next((f"{s['seconds']:.1f}" for s in r["stages"] if s["stage"] == stage), "") for r in results]
        parallel = any(s.get("parallel") for r in results for s in r["stages"] if s["stage"] == stage)
        label = f"&nbsp;&nbsp;{stage} (thread, inside features.builders)" if parallel else stage
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| &nbsp;&nbsp;marks process (beside entities; the wait is features.marks_wait) | "
                 + " | ".join(f"{r['marks_process_s']:.1f}" if r["marks_process_s"] else "" for r in results) + " |")
    lines.append("| **total** | " + " | ".join(f"**{r['total_s']}**" for r in results) + " |")
    lines.append("| peak RSS (MB) | " + " | ".join(f"{r['peak_mb']:.0f}" for r in results) + " |")
    lines.append("| configuration | " + " | ".join(r["config"] for r in results) + " |")
    lines.append("| growth of the total, same configuration | " + " | ".join(growth(results)) + " |")
    lines.append("| demo generation (s) | " + " | ".join(f"{r['generate_s']}" for r in results) + " |")
    lines.append("| **intake screening** (`tmscreen screen`, docs/screening.md) | |" + " |" * (len(results) - 1))
    for label, cell in (("register index: build (s, the index stage) / size (MB)",
                         lambda x: f"{x['index_build_s']} / {x['index_mb']}"),
                        ("index load (s)", lambda x: f"{x['load_s']}"),
                        ("one application: p50 / p99 (ms)", lambda x: f"{x['single_p50_ms']} / {x['single_p99_ms']}"),
                        ("batches of 1,000 (applications/s)", lambda x: f"{x['batch_per_s']}")):
        lines.append(f"| {label} | " + " | ".join(cell(r["screen"]) for r in results) + " |")
    if refs:
        lines.append("| **naive references** | |" + " |" * (len(results) - 1))
        lines.append("| group components: scipy csgraph / networkx (s) | "
                     + " | ".join(f"{x['csgraph_s']} / {x['networkx_s']}" if x else "" for x in refs) + " |")
        lines.append("| similarity on as many synthetic marks: engine (s), candidate recall vs brute force, "
                     "speed-up over all-pairs rapidfuzz | "
                     + " | ".join(f"{x['similarity_s']}, {x['similarity_recall']}, x{x['similarity_speedup']}"
                                  if x else "" for x in refs) + " |")
    write_table(ROOT / "docs" / "performance.md", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
