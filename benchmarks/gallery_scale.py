"""Gallery indexes at scale, side by side in one run: build time, memory, query latency and recall against exact.

Clustered synthetic vectors at the branch's dimension (no images needed): `--clusters` people-like clusters,
each vector a unit-norm centre plus noise, queries drawn the same way. Per size and per index (flat, the
default ivf-sq8 with exact re-scoring, ivf-flat, ivf-pq with re-scoring), through the gallery's own code
(`vireid.gallery.index_choice`, `vireid.gallery.ranking`), with FAISS threads = the cores:
- build: train + add seconds, index bytes (serialised) and the raw vectors' bytes;
- query latency p50 / p99 at batch 1 and 32 (ms per batch);
- recall@10 against exact search.
Run alone on the machine (two cores are easily shared by accident):
    python benchmarks/gallery_scale.py --sizes 100000,1000000 > benchmarks/results/gallery/scale.md
"""

from __future__ import annotations

import argparse
import subprocess
import time

import faiss
import numpy as np

from vireid.gallery import ranking
from vireid.gallery.index_choice import IndexSpec, choose


def clustered(n: int, dim: int, clusters: int, rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
    labels = rng.integers(0, clusters, size=n)
    x = centres[labels] + rng.normal(scale=0.6 / np.sqrt(dim), size=(n, dim)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


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
    parser.add_argument("--clusters", type=int, default=20000)
    parser.add_argument("--queries", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    flags = subprocess.run(
        "lscpu | grep -o 'avx2\\|avx512f\\|avx512_vnni\\|avx512_bf16\\|amx_bf16\\|amx_int8' | sort -u | tr '\\n' ' '",
        shell=True, capture_output=True, text=True, check=False,
    ).stdout.strip()
    print(f"CPU flags: {flags}; FAISS {faiss.__version__}, {faiss.omp_get_max_threads()} threads\n")
    print("| crops | index | build s | index MiB | raw MiB | p50 / p99 ms, batch 1 | p50 / p99 ms, batch 32 | recall@10 |")
    print("|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(args.clusters, args.dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    for n in (int(s) for s in args.sizes.split(",")):
        data = clustered(n, args.dim, args.clusters, rng, centres)
        queries = clustered(args.queries, args.dim, args.clusters, rng, centres)
        _, exact = ranking.exact_top_k(data, queries, 10)
        raw = data.nbytes / 2**20

        def flat(q: np.ndarray) -> object:
            return ranking.exact_top_k(data, q, 10)

        p1, p32 = latency(flat, queries, 1, 10), latency(flat, queries, 32, 5)
        print(f"| {n:,} | flat (exact) | 0 | 0 | {raw:.0f} | {p1[0]:.1f} / {p1[1]:.1f} | {p32[0]:.1f} / {p32[1]:.1f} | 1.000 |")
        for kind in ("ivf-sq8", "ivf-flat", "ivf-pq"):
            spec = choose(n, IndexSpec(kind))
            began = time.perf_counter()
            index = faiss.index_factory(args.dim, spec.factory(args.dim), faiss.METRIC_INNER_PRODUCT)
            sample = rng.permutation(n)[: spec.nlist * 64]
            index.train(data[np.sort(sample)])
            index.add_with_ids(data, np.arange(n))
            build = time.perf_counter() - began
            size = faiss.serialize_index(index).nbytes / 2**20
            for nprobe in (spec.nprobe, 2 * spec.nprobe, 4 * spec.nprobe):
                params = faiss.SearchParametersIVF()
                params.nprobe = nprobe
                rescore = spec.rescore if kind != "ivf-flat" else 1

                def ivf(q: np.ndarray, params: object = params, rescore: int = rescore) -> np.ndarray:
                    _, candidates = index.search(q, 10 * rescore, params=params)
                    return ranking.rescore(data, q, candidates, 10)[1]

                found = ivf(queries)
                p1, p32 = latency(ivf, queries, 1, args.repeats), latency(ivf, queries, 32, 10)
                print(
                    f"| {n:,} | {kind} nlist={spec.nlist} nprobe={nprobe} rescore={rescore}x | {build:.0f} | "
                    f"{size:.0f} | {raw:.0f} | {p1[0]:.1f} / {p1[1]:.1f} | {p32[0]:.1f} / {p32[1]:.1f} | "
                    f"{recall(found, exact):.3f} |"
                )
        del data


if __name__ == "__main__":
    main()
