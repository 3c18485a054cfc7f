"""Which index a partition uses, by its size, the `--index` spellings that override the choice, and when a
partition's index must be rebuilt. Both stores follow it (FAISS per modality partition; Milvus per collection, by
its largest partition).

- up to `FLAT_MAX` crops: `flat`, exact search over the raw vectors (no index file at all);
- above it: `ivf-pq`, an inverted file over product-quantised codes (one byte per 8 dimensions: 96 bytes for
  a 768-d embedding, 1/32 of the raw vectors), whose candidates (`rescore` x k of them) are re-scored exactly
  from the raw vectors, so the codes choose candidates but never set an answer's score;
- `ivf-sq8` (8-bit codes, a quarter of the raw vectors) and `ivf-flat` (the raw vectors; exact at
  nprobe = nlist) are there to be asked for.
At 1e6 clustered 768-d vectors on 2 cores (`benchmarks/results/gallery/scale-1e6.md`): ivf-pq at nlist 4096,
nprobe 512 gave recall@10 0.993 at p50 5.9 ms; ivf-sq8 needed the same nprobe for 0.992 at 19.7 ms (it scans
8x the bytes per list); exact search took 108 ms. `nprobe` starts at `default_nprobe`; `vireid gallery eval`
measures recall against exact search and raises it where needed.
FAISS builds ivf-pq without polysemous training (`PQ{m}x8np`): that training reorders the codebook so that
Hamming distances between codes approximate true distances, which only a polysemous search uses; the exact
re-scoring never does, and it cost about 78 s per partition whatever its size (an IVF64 with 96 sub-quantisers on
20,000 vectors trained in 82 s with it, 3.9 s without).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from vireid.errors import VireidError

FLAT_MAX = 50_000
"""Crops per partition searched exactly. At dimension 768 a flat query reads 3 KB per crop: 150 MB here."""
KINDS = ("flat", "ivf-flat", "ivf-sq8", "ivf-pq")
RESCORE = 4


@dataclass(frozen=True)
class IndexSpec:
    kind: str = "flat"
    nlist: int = 0
    nprobe: int = 0
    rescore: int = RESCORE
    pq_m: int = 0

    @property
    def is_ivf(self) -> bool:
        return self.kind != "flat"

    def factory(self, dim: int) -> str:
        """The `faiss.index_factory` string of this spec at dimension `dim`."""
        codes = {"ivf-flat": "Flat", "ivf-sq8": "SQ8", "ivf-pq": f"PQ{self.pq_bytes(dim)}x8np"}[self.kind]
        return f"IVF{self.nlist},{codes}"

    def pq_bytes(self, dim: int) -> int:
        """ivf-pq's sub-quantisers (`m`, or one byte per 8 dimensions)."""
        return self.pq_m or pq_bytes(dim)

    def code_bytes(self, dim: int) -> int:
        """Bytes per vector the index holds in memory: the raw vector, one byte per dimension or the PQ code."""
        return {"ivf-sq8": dim, "ivf-pq": self.pq_bytes(dim)}.get(self.kind, 4 * dim)

    def same_build(self, other: IndexSpec) -> bool:
        """Whether `other` is the same index (kind, nlist, m); nprobe and rescore are search settings."""
        return (self.kind, self.nlist, self.pq_m) == (other.kind, other.nlist, other.pq_m)

    def min_crops(self) -> int:
        """Crops needed to train it: a centroid per list, and 256 per PQ sub-quantiser's codebook."""
        return max(self.nlist, 256 if self.kind == "ivf-pq" else 0) if self.is_ivf else 0

    def describe(self) -> str:
        if not self.is_ivf:
            return "flat (exact)"
        text = f"{self.kind} nlist={self.nlist} nprobe={self.nprobe} rescore={self.rescore}x"
        return text + (f" m={self.pq_m}" if self.kind == "ivf-pq" else "")

    def text(self) -> str:
        """The spelling `parse` reads back (stored in the catalogue)."""
        if not self.is_ivf:
            return "flat"
        return f"{self.kind}:nlist={self.nlist},nprobe={self.nprobe},rescore={self.rescore},m={self.pq_m}"


def default_nlist(crops: int) -> int:
    """About 4 sqrt(n) lists, a power of two, at least 64 (FAISS's guideline for millions of vectors)."""
    return max(64, 2 ** round(math.log2(4 * math.sqrt(max(crops, 1)))))


def default_nprobe(nlist: int) -> int:
    """An eighth of the lists: recall@10 0.99 at 1e5 (nlist 1024) and 1e6 (nlist 4096) in the benchmark."""
    return max(8, nlist // 8)


def pq_bytes(dim: int) -> int:
    """PQ sub-quantisers: one byte per 8 dimensions, and a divisor of `dim`."""
    m = max(1, dim // 8)
    while dim % m:
        m -= 1
    return m


def choose(crops: int, override: IndexSpec | None = None) -> IndexSpec:
    """The spec for a partition of `crops` crops: `override` where given (its zero fields filled in)."""
    spec = override or (IndexSpec("flat") if crops <= FLAT_MAX else IndexSpec("ivf-pq"))
    if spec.is_ivf:
        nlist = spec.nlist or default_nlist(crops)
        spec = replace(spec, nlist=nlist, nprobe=spec.nprobe or default_nprobe(nlist))
    return spec


def plan(current: IndexSpec, crops: int, override: IndexSpec | None) -> tuple[IndexSpec, bool]:
    """The spec a partition of `crops` crops takes at the end of an ingest, and whether its index is rebuilt.

    `override` (`--index`) is chosen again at the partition's size; otherwise a flat partition follows `choose`
    (it turns IVF above `FLAT_MAX`) and an IVF one keeps its index, new crops folded in. Only a change of kind,
    nlist or m rebuilds; a new nprobe or rescore is recorded as it is."""
    wanted = choose(crops, override) if (override or not current.is_ivf) else current
    return wanted, not wanted.same_build(current)


def require_buildable(spec: IndexSpec, crops: int, dim: int, what: str) -> None:
    """Refuse, in one line, an index that cannot be built over `crops` crops (`what`, e.g. "visible crops") of
    dimension `dim`: PQ sub-quantisers that do not divide it, or more to train than there are crops."""
    if spec.kind == "ivf-pq" and dim % spec.pq_bytes(dim):
        raise VireidError(f"--index ivf-pq m={spec.pq_m} must divide the embedding dimension {dim}")
    if crops < spec.min_crops():
        raise VireidError(
            f"{spec.kind} with nlist={spec.nlist} needs at least {spec.min_crops()} {what} to train its quantisers, "
            f"and the gallery holds {crops}; use --index flat (exact) until it has more"
        )


def parse(text: str) -> IndexSpec:
    """`flat`, `ivf-sq8`, or with settings: `ivf-sq8:nlist=1024,nprobe=32,rescore=4` (`m=` for ivf-pq)."""
    kind, _, settings = text.strip().partition(":")
    if kind not in KINDS:
        raise VireidError(f"--index must be one of {', '.join(KINDS)} (optionally kind:nlist=N,nprobe=N), got {text!r}")
    values: dict[str, int] = {}
    for item in filter(None, settings.split(",")):
        key, _, value = item.partition("=")
        if key not in ("nlist", "nprobe", "rescore", "m") or not value.isdigit():
            raise VireidError(f"--index setting {item!r} is not nlist=N, nprobe=N, rescore=N or m=N")
        values[key] = int(value)
    spec = IndexSpec(
        kind, values.get("nlist", 0), values.get("nprobe", 0), values.get("rescore", RESCORE), values.get("m", 0)
    )
    if spec.rescore < 1 or (spec.nlist and spec.nprobe > spec.nlist):
        raise VireidError(f"--index {text!r}: rescore must be >= 1 and nprobe <= nlist")
    return spec
