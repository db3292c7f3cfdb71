"""Benchmark of the mark similarity engine (features/similarity.py).

    .venv/bin/python -m bench.similarity --n 1000000

Builds N marks — real USPTO live word marks when ``--source uspto`` (or ``auto`` and the shared
file exists; up to 175,634 of them), topped up with synthetic Latin and Chinese marks — and plants
look-alikes of a random ``--plant`` share (edits, look-alike letters, generic affixes, reordering,
plurals, Chinese homophones, shape-similar characters). It then times key preparation, candidate
search and verification over the whole set (the set against itself), reports how many planted
pairs were found, and measures the candidate stage's recall against brute-force rapidfuzz on
``--sample`` random query marks: every pair that brute force scores at or above the edit threshold
(Indel ratio of the Latin core / Chinese pinyin) must be among the candidates. The speed-up is the
brute-force time per query, extrapolated to all N queries (N*(N-1)/2 comparisons), over the
engine's time.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

USPTO = (Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "uspto-live-wordmarks-nomsentry"
         / "uspto_live_registered_wordmarks.csv")

# syllable = onset + nucleus + coda (English-like spelling; ~28k distinct syllables)
_ONSET = np.array(["", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "bl",
                   "br", "cl", "cr", "dr", "fl", "fr", "gl", "gr", "pl", "pr", "sc", "sk", "sl", "sm", "sn", "sp",
                   "st", "str", "sw", "tr", "th", "ch", "sh", "ph", "qu", "wh", "x", "y"])
_NUCLEUS = np.array(["a", "e", "i", "o", "u", "y", "ai", "au", "ea", "ee", "ei", "ie", "io", "oa", "oo", "ou", "ue"])
_CODA = np.array(["", "", "", "", "b", "c", "ck", "d", "f", "g", "k", "l", "ll", "m", "n", "nd", "ng", "nk", "nt",
                  "p", "r", "rd", "rk", "rn", "rt", "s", "ss", "st", "t", "tt", "v", "x", "z", "sh", "th", "ch"])
_GENERIC_LATIN = ["store", "pro", "official", "shop", "plus", "group", "online"]
_GENERIC_HAN = ["旗舰店", "国际", "优选", "集团", "官方", "专卖店", "科技"]
_CONF = {"o": "0", "i": "1", "l": "1", "m": "rn", "w": "vv", "s": "5"}


def _latin_words(rng: np.random.Generator, n: int) -> np.ndarray:
    nsyl = rng.choice([1, 2, 3], size=n, p=[0.3, 0.5, 0.2])
    out = np.full(n, "", dtype=object)
    for k in range(3):
        on = k < nsyl
        syl = rng.choice(_ONSET, n).astype(object) + rng.choice(_NUCLEUS, n) + rng.choice(_CODA, n)
        out = out + np.where(on, syl, "")
    return out


def _han_pool() -> np.ndarray:
    t = pd.read_csv(Path(__file__).resolve().parents[1] / "features" / "data" / "shape_similar.csv", dtype=str)
    chars = sorted(set("".join(t["chars"].str.replace(" ", "", regex=False))))
    return np.array([c for c in chars if "\u4e00" <= c <= "\u9fff"], dtype=object)


def synthetic_marks(n: int, rng: np.random.Generator, han_share: float = 0.4) -> np.ndarray:
    """n random marks: Latin (1-3 pronounceable words) and Chinese (2-4 characters)."""
    nh = int(n * han_share)
    nl = n - nh
    ntok = rng.choice([1, 2, 3], size=nl, p=[0.6, 0.3, 0.1])
    latin = _latin_words(rng, nl)
    for k in (2, 3):
        on = ntok >= k
        latin = np.where(on, latin + " " + _latin_words(rng, nl), latin)
    pool = _han_pool()
    nch = rng.integers(2, 5, nh)
    han = np.full(nh, "", dtype=object)
    for k in range(4):
        han = han + np.where(k < nch, rng.choice(pool, nh), "")
    marks = np.concatenate([np.char.upper(latin.astype(str)).astype(object), han])
    return marks[rng.permutation(n)]


def _variant(text: str, rng: np.random.Generator, homophones: dict, shapes: dict) -> tuple[str, str]:
    """One planted look-alike of ``text`` and the transformation used."""
    han = any("\u4e00" <= c <= "\u9fff" for c in text)
    if han:
        op = rng.choice(["homophone", "shape", "affix", "reorder"])
        chars = list(text)
        if op == "homophone":
            for i in rng.permutation(len(chars)):
                alts = [c for c in homophones.get(chars[i], ()) if c != chars[i]]
                if alts:
                    chars[i] = alts[rng.integers(len(alts))]
                    return "".join(chars), op
        if op in ("homophone", "shape"):
            for i in rng.permutation(len(chars)):
                alts = shapes.get(chars[i])
                if alts:
                    chars[i] = alts[rng.integers(len(alts))]
                    return "".join(chars), "shape"
        if op == "reorder" and len(chars) >= 3:
            return "".join(chars[::-1]), op
        return text + _GENERIC_HAN[rng.integers(len(_GENERIC_HAN))], "affix"
    op = rng.choice(["sub", "ins", "del", "confusable", "affix", "reorder", "plural", "case"])
    s = text.lower()
    i = int(rng.integers(max(len(s), 1)))
    if op == "sub" and len(s) >= 8:
        return s[:i] + "abcdefghijklmnopqrstuvwxyz"[rng.integers(26)] + s[i + 1:], op
    if op == "ins":
        return s[:i] + "abcdefghijklmnopqrstuvwxyz"[rng.integers(26)] + s[i:], op
    if op == "del" and len(s) >= 6:
        return s[:i] + s[i + 1:], op
    if op == "confusable":
        for j in rng.permutation(len(s)):
            if s[j] in _CONF:
                return s[:j] + _CONF[s[j]] + s[j + 1:], op
    if op == "reorder" and " " in s:
        return " ".join(s.split()[::-1]), op
    if op == "plural":
        return s + "s", op
    if op == "case":
        return s.title().replace(" ", "-"), op
    return s + " " + _GENERIC_LATIN[rng.integers(len(_GENERIC_LATIN))], "affix"


def build_marks(n: int, source: str, plant: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(marks[id, text], planted[src, dst, op])."""
    from features.textsim import pinyin_key, shape_pairs

    rng = np.random.default_rng(seed)
    n_plant = int(n * plant)
    n_base = n - n_plant
    parts = []
    if source in ("uspto", "auto") and USPTO.exists():
        real = pd.read_csv(USPTO, dtype=str, keep_default_na=False)["mark_text_normalized"].to_numpy(dtype=object)
        real = real[rng.permutation(len(real))][:n_base]
        parts.append(np.char.upper(real.astype(str)).astype(object))
    elif source == "uspto":
        raise SystemExit(f"--source uspto: {USPTO} does not exist")
    rest = n_base - sum(len(p) for p in parts)
    if rest > 0:
        parts.append(synthetic_marks(rest, rng))
    base = np.concatenate(parts)
    pool = _han_pool()
    pys = pinyin_key(pd.Series(pool, dtype="str")).to_numpy()
    homophones = pd.Series(pool).groupby(pys).agg(list)
    homophones = {c: homophones[p] for c, p in zip(pool, pys, strict=True)}
    shapes: dict[str, list[str]] = {}
    for ab in sorted(shape_pairs()):  # sorted: the same planted marks in every process
        shapes.setdefault(ab[0], []).append(ab[1])
    src = rng.choice(n_base, size=n_plant, replace=n_plant > n_base)
    planted = [_variant(base[i], rng, homophones, shapes) for i in src]
    texts = np.concatenate([base, np.array([p[0] for p in planted], dtype=object)])
    marks = pd.DataFrame({"id": np.arange(len(texts)), "text": texts})
    plant_df = pd.DataFrame({"src": src, "dst": np.arange(n_base, n), "op": [p[1] for p in planted]})
    return marks, plant_df


def brute_force(prep: pd.DataFrame, sample: np.ndarray, cfg) -> tuple[pd.DataFrame, float]:
    """Every pair (sample query, any mark) that the verification rules accept, found without blocking.

    The pool checked by the rules is every pair whose Indel ratio of the core/pinyin reaches the
    lowest ratio any rule uses (``min_phonetic_ratio``, 0.7) plus, for Latin queries, every Latin
    mark with the same first letter within OSA distance 2 (the letter-edit rule); ``_verify`` then
    keeps the pairs that match. Returns (pairs q, r, kind) and the brute-force seconds."""
    from rapidfuzz.distance import OSA

    from features import similarity as sim

    keys = prep["pinyin"].to_numpy(dtype=object)
    core = prep["core"].to_numpy(dtype=object)
    han = prep["han"].to_numpy()
    dist = prep["distinctive"].to_numpy()
    latin_rows = np.flatnonzero(dist & ~han)
    low = 100.0 * min(sim._edit_cutoff(cfg), float(cfg.min_phonetic_ratio))
    t0 = time.perf_counter()
    rows = []
    for start in range(0, len(sample), 50):
        q = sample[start:start + 50]
        m = process.cdist(keys[q], keys, scorer=fuzz.ratio, score_cutoff=low, dtype=np.uint8, workers=-1)
        qi, ri = np.nonzero(m)
        rows.append(pd.DataFrame({"q": q[qi], "r": ri}))
        ql = q[~han[q]]
        if len(ql):
            d = process.cdist(core[ql], core[latin_rows], scorer=OSA.distance, score_cutoff=2, dtype=np.int32,
                              workers=-1)
            qi, ri = np.nonzero(d <= 2)
            rows.append(pd.DataFrame({"q": ql[qi], "r": latin_rows[ri]}))
    pool = pd.concat(rows, ignore_index=True).drop_duplicates()
    pool = pool[pool["q"] != pool["r"]]
    v = sim._verify(prep, prep, pool["q"].to_numpy(), pool["r"].to_numpy(), cfg)
    elapsed = time.perf_counter() - t0
    return v.loc[v["kind"] != "", ["q", "r", "kind"]].reset_index(drop=True), elapsed


def main(argv: list[str] | None = None) -> dict:
    from core.config import load_config
    from features import similarity as sim

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200_000, help="number of marks (default 200000)")
    ap.add_argument("--source", choices=["auto", "synthetic", "uspto"], default="auto",
                    help="auto: real USPTO marks when the shared file exists, topped up with synthetic ones")
    ap.add_argument("--plant", type=float, default=0.05, help="share of planted look-alikes (default 0.05)")
    ap.add_argument("--sample", type=int, default=300, help="queries checked against brute force (default 300)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--config", default=None, help="TOML config overriding the defaults")
    args = ap.parse_args(argv)
    config = load_config(args.config)
    cfg = config.infringement

    t = time.perf_counter()
    marks, planted = build_marks(args.n, args.source, args.plant, args.seed)
    t_gen = time.perf_counter() - t
    print(f"marks: {len(marks):,} ({marks['text'].nunique():,} distinct), planted look-alikes: {len(planted):,} "
          f"[generated in {t_gen:.1f}s]")

    c0, t0 = time.process_time(), time.perf_counter()
    prep = sim.prepare_marks(marks, config)
    c1, t1 = time.process_time(), time.perf_counter()
    cand, skipped = sim._candidates(prep, prep, cfg, True)
    c2, t2 = time.process_time(), time.perf_counter()
    v = sim._verify(prep, prep, cand["q"].to_numpy(), cand["r"].to_numpy(), cfg)
    v = v[v["kind"] != ""]
    c3, t3 = time.process_time(), time.perf_counter()
    t_prep, t_cand, t_ver = t1 - t0, t2 - t1, t3 - t2
    total = t_prep + t_cand + t_ver
    print(f"prepare keys: {t_prep:.1f}s (cpu {c1 - c0:.1f}s) | candidate search: {t_cand:.1f}s (cpu {c2 - c1:.1f}s; "
          f"{len(cand):,} candidate pairs; skipped oversized blocks {sum(skipped.values())}) | "
          f"verification: {t_ver:.1f}s (cpu {c3 - c2:.1f}s; {len(v):,} matches)")
    print(f"machine load average during the run: {os.getloadavg()[0]:.1f} (2 cores; other jobs inflate wall time)")
    print("candidate search per key kind (seconds, pairs):", sim._LAST_TIMING)
    print(f"total (keys + candidates + verification): {total:.1f}s for {len(marks):,} marks")
    print("matches by kind:", v["kind"].value_counts().to_dict())

    # planted pairs found (either direction)
    found = set(zip(np.minimum(v["q"], v["r"]), np.maximum(v["q"], v["r"]), strict=True))
    pl = planted.assign(a=np.minimum(planted["src"], planted["dst"]), b=np.maximum(planted["src"], planted["dst"]))
    pl["found"] = [(a, b) in found for a, b in zip(pl["a"], pl["b"], strict=True)]
    eligible = prep["distinctive"].to_numpy()[pl["a"]] & prep["distinctive"].to_numpy()[pl["b"]]
    pl = pl[eligible]
    print(f"planted look-alikes found: {pl['found'].mean():.3f} of {len(pl):,} (both marks distinctive); by op:",
          pl.groupby("op")["found"].mean().round(3).to_dict())

    # candidate-stage recall against brute force on a sample of queries
    rng = np.random.default_rng(args.seed + 1)
    fuzzy_rows = np.flatnonzero(prep["fuzzy"].to_numpy())
    sample = rng.choice(fuzzy_rows, size=min(args.sample, len(fuzzy_rows)), replace=False)
    bf, t_bf = brute_force(prep, sample, cfg)
    cset = set(zip(cand["q"].to_numpy(), cand["r"].to_numpy(), strict=True))
    hit = np.array([(min(a, b), max(a, b)) in cset for a, b in zip(bf["q"], bf["r"], strict=True)], dtype=bool)
    recall = float(hit.mean()) if len(hit) else 1.0
    bf_all = t_bf / len(sample) * len(marks) / 2
    print(f"brute force: {len(sample)} queries x {len(marks):,} marks in {t_bf:.1f}s -> {len(bf):,} pairs the rules "
          f"accept; candidate recall {recall:.4f} ({int(hit.sum())}/{len(hit)}); by kind:",
          bf.assign(hit=hit).groupby("kind")["hit"].mean().round(4).to_dict())
    if len(hit) and not hit.all():
        miss = bf[~hit].head(8)
        keys = prep["text"].to_numpy()
        print("  missed e.g.:", [(keys[a], keys[b], k) for a, b, k in zip(miss["q"], miss["r"], miss["kind"],
                                                                        strict=True)])
    print(f"brute force extrapolated to all pairs: {bf_all:,.0f}s; engine {total:.1f}s -> speed-up x{bf_all / total:,.0f}")
    return {"n": len(marks), "t_prepare": t_prep, "t_candidates": t_cand, "t_verify": t_ver, "n_candidates": len(cand),
            "n_matches": len(v), "recall": recall, "planted_found": float(pl["found"].mean()),
            "speedup": bf_all / total}


if __name__ == "__main__":
    main()
