"""Gallery indexes at scale, side by side in one run: build time, memory, query latency and recall against exact.

Clustered synthetic vectors at the branch's dimension (no images needed), shaped like ReID embeddings: people
(`--crops-per-person` crops each) whose centres lie in a `--intrinsic`-dimensional subspace (so that people differ
by degrees, as real identities do, rather than all being orthogonal), each crop its person's latent plus noise
(same-person cosine about 0.75), projected to `--dim`, plus a little isotropic noise, L2-normalised. Queries are
new crops of stored people. (With independent random centres in 768 dimensions every non-matching crop scores
about 0 and the top 10 past a person's own crops are ties that no index can, or needs to, reproduce.)
Per size and per index (flat, the default ivf-pq with exact re-scoring, ivf-sq8 with re-scoring, ivf-flat),
through the gallery's own code (`vireid.gallery.index_choice`, whose FAISS factory string each row names: ivf-pq
is built without polysemous training, `PQ{m}x8np`; `vireid.gallery.ranking`), with FAISS threads = the cores:
- build: train + add seconds, index bytes (serialised) and the raw vectors' bytes;
- query latency p50 / p99 at batch 1 and 32 (ms per batch);
- recall@10 against exact search.
`--kinds ivf-pq-before,ivf-pq` sets the build before issue 31 beside today's (`BEFORE`).
Run alone on the machine (two cores are easily shared by accident):
    python benchmarks/gallery_scale.py --sizes 1000000 > benchmarks/results/gallery/scale-1e6.md
    python benchmarks/gallery_scale.py --sizes 1000000 --kinds ivf-pq-before,ivf-pq --nprobe-factors 0.5,1,2
"""

from __future__ import annotations

import argparse
import subprocess
import time
from typing import Any

import faiss
import numpy as np

from vireid.gallery import faiss_index, ranking
from vireid.gallery.index_choice import IndexSpec, choose


def crops(people: np.ndarray, labels: np.ndarray, projection: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors of crops of `people[labels]` (latent centres), projected by `projection`, in chunks."""
    dim = projection.shape[1]
    out = np.empty((len(labels), dim), dtype=np.float32)
    for start in range(0, len(labels), 100_000):
        part = labels[start : start + 100_000]
        latent = people[part] + 0.6 * rng.standard_normal((len(part), people.shape[1]), dtype=np.float32)
        x = latent @ projection
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        x += rng.standard_normal(x.shape, dtype=np.float32) * (0.15 / np.sqrt(dim))
        out[start : start + len(part)] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def latency(run: object, queries: np.ndarray, batch: int, repeats: int) -> tuple[float, float]:
    times = []
    for i in range(repeats):
        start = (i * batch) % (len(queries) - batch + 1)
        began = time.perf_counter()
        run(queries[start : start + batch])  # type: ignore[operator]
        times.append(1000 * (time.perf_counter() - began))
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f[:10]) & set(e[:10])) / 10 for f, e in zip(found, exact, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--intrinsic", type=int, default=64)
    parser.add_argument("--crops-per-person", type=int, default=20)
    parser.add_argument("--kinds", default="ivf-sq8,ivf-flat,ivf-pq")
    parser.add_argument("--nprobe-factors", default="0.125,0.25,0.5,1,2", help="nprobe = the default x each")
    parser.add_argument("--queries", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    flags = subprocess.run(
        "lscpu | grep -o 'avx2\\|avx512f\\|avx512_vnni\\|avx512_bf16\\|amx_bf16\\|amx_int8' | sort -u | tr '\\n' ' '",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    print(f"CPU flags: {flags}; FAISS {faiss.__version__}, {faiss.omp_get_max_threads()} threads\n")
    print(
        "| crops | index | build s | index MiB | raw MiB | p50 / p99 ms, batch 1 | p50 / p99 ms, batch 32 | recall@10 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    projection = rng.standard_normal((args.intrinsic, args.dim), dtype=np.float32)
    for n in (int(s) for s in args.sizes.split(",")):
        bench_size(n, args, rng, projection)


BEFORE = "ivf-pq-before"
"""A kind this script also builds, for a side-by-side: ivf-pq as the gallery built it before issue 31 (FAISS's
`PQ{m}x8` with its polysemous training, 64 training vectors per list, FAISS's PQ training defaults)."""


def build(kind: str, spec: IndexSpec, data: np.ndarray, rng: np.random.Generator) -> tuple[Any, str]:
    """The index of `kind` over `data`, built as the gallery builds it (`faiss_index.trained`), and its factory."""
    dim = data.shape[1]
    if kind != BEFORE:
        index = faiss_index.trained(spec, dim, lambda rows: data[rows], np.arange(len(data)))
        factory = spec.factory(dim)
    else:
        factory = spec.factory(dim).removesuffix("np")
        index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
        index.train(data[np.sort(rng.permutation(len(data))[: spec.nlist * 64])])
    index.add_with_ids(data, np.arange(len(data)))
    return index, factory


def bench_size(n: int, args: argparse.Namespace, rng: np.random.Generator, projection: np.ndarray) -> None:
    """One table block: exact search, then each IVF kind at nprobe = the default x each factor."""
    people = rng.standard_normal((max(1, n // args.crops_per_person), args.intrinsic), dtype=np.float32)
    data = crops(people, rng.integers(0, len(people), size=n), projection, rng)
    queries = crops(people, rng.integers(0, len(people), size=args.queries), projection, rng)
    _, exact = ranking.exact_top_k(data, queries, 10)
    raw = data.nbytes / 2**20
    p1, p32 = (latency(lambda q: ranking.exact_top_k(data, q, 10), queries, b, r) for b, r in ((1, 10), (32, 5)))
    print(f"| {n:,} | flat (exact) | 0 | 0 | {raw:.0f} | {p1[0]:.1f} / {p1[1]:.1f} | {p32[0]:.1f} / {p32[1]:.1f} | 1 |")
    for kind in args.kinds.split(","):
        spec = choose(n, IndexSpec("ivf-pq" if kind == BEFORE else kind))
        began = time.perf_counter()
        index, factory = build(kind, spec, data, rng)
        seconds = time.perf_counter() - began
        size = faiss.serialize_index(index).nbytes / 2**20
        rescore = spec.rescore if kind != "ivf-flat" else 1
        for factor in (float(f) for f in args.nprobe_factors.split(",")):
            params = faiss.SearchParametersIVF()
            params.nprobe = max(1, min(spec.nlist, round(spec.nprobe * factor)))

            def ivf(q: np.ndarray, params: object = params) -> np.ndarray:
                _, candidates = index.search(q, 10 * rescore, params=params)  # noqa: B023 (used in this iteration)
                return ranking.rescore(data, q, candidates, 10)[1]

            found = ivf(queries)
            p1, p32 = latency(ivf, queries, 1, args.repeats), latency(ivf, queries, 32, 10)
            print(
                f"| {n:,} | {kind} nlist={spec.nlist} nprobe={params.nprobe} rescore={rescore}x "
                f"(`{factory}`) | {seconds:.0f} | "
                f"{size:.0f} | {raw:.0f} | {p1[0]:.1f} / {p1[1]:.1f} | {p32[0]:.1f} / {p32[1]:.1f} | "
                f"{recall(found, exact):.3f} |"
            )


if __name__ == "__main__":
    main()
