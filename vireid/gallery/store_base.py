"""What every gallery store shares, so FAISS and Milvus cannot answer the same question differently.

`StoreBase` implements `GalleryStore` (`store.py`) once: the guards (an empty filter never removes, vectors of the
wrong shape or dimension are refused, an empty gallery is named as such, `k` within the engine's limit), the
fingerprint's presence and sameness, `tune`'s policy, the building of matches, and the translation of the
engine's own errors into one line (`_one_line`), applied to every public method. An engine (`faiss_store.py`,
`milvus_store.py`) writes only the underscored methods, as a runtime backend writes only `_infer`
(docs/architecture.md, "Gallery").
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from vireid.data.sample import MODALITIES, Modality
from vireid.errors import VireidError
from vireid.gallery.index_choice import IndexSpec
from vireid.gallery.records import Crop, CropFilter, Fingerprint, GalleryInfo, Match, PartitionInfo, StoredCrop

Log = Callable[[str], None]


@dataclass(frozen=True)
class Ranked:
    """An engine's answer before it becomes `Match`es: Q x k scores and keys (best first, key -1 past the end),
    and each key's gallery id and crop. A key is whatever the engine ranks by (a FAISS row, a Milvus id)."""

    scores: np.ndarray
    keys: np.ndarray
    crops: Mapping[int, tuple[int, Crop]]

    def matches(self) -> list[list[Match]]:
        return [
            [Match(*self._crop(key, score)) for score, key in zip(row_scores, row_keys, strict=True) if key >= 0]
            for row_scores, row_keys in zip(self.scores, self.keys, strict=True)
        ]

    def _crop(self, key: int, score: float) -> tuple[int, float, Crop]:
        gallery_id, crop = self.crops[int(key)]
        return gallery_id, float(score), crop


class StoreBase(ABC):
    store: str = ""
    """"faiss" or "milvus", as `info` reports it."""
    max_k: int = 2**31 - 1
    """The most answers one query may ask for (Milvus: 16,384)."""
    location: str
    fingerprint: Fingerprint | None = None
    writable: bool = True
    """False where the gallery was opened for reading only (`tune` then keeps nothing and says so)."""

    # -- the interface (`GalleryStore`) ----------------------------------------------------------------------
    def set_fingerprint(self, fingerprint: Fingerprint) -> None:
        with self._translated():
            if self.fingerprint is not None:
                self.fingerprint.require_same(fingerprint, f"gallery {self.location}")
                return
            self._create(fingerprint)
            self.fingerprint = fingerprint

    def known(self, contents: Sequence[str]) -> set[str]:
        with self._translated():
            return self._known(contents) if self.fingerprint is not None and contents else set()

    def add(self, crops: Sequence[Crop], vectors: np.ndarray) -> list[int]:
        with self._translated():
            if self.fingerprint is None:
                raise VireidError(f"gallery {self.location}: set_fingerprint comes before add")
            vectors = _rows(vectors, self.fingerprint.dim, "vectors")
            if len(vectors) != len(crops):
                raise VireidError(f"add was given {len(crops)} crops and {len(vectors)} vectors")
            return self._add(crops, vectors) if crops else []

    def finish(self, log: Log | None = None) -> None:
        with self._translated():
            if self.fingerprint is not None:
                self._finish(log or (lambda _line: None))

    def search(self, modality: Modality, queries: np.ndarray, k: int, where: CropFilter) -> list[list[Match]]:
        return self._answer(modality, queries, k, where, exact=False)

    def exact_search(self, modality: Modality, queries: np.ndarray, k: int, where: CropFilter) -> list[list[Match]]:
        return self._answer(modality, queries, k, where, exact=True)

    def remove(self, where: CropFilter) -> int:
        with self._translated():
            if where.empty:
                raise VireidError(
                    "remove needs --id, --camera, --since or --until (it never empties a gallery by accident)"
                )
            return self._remove(where) if self.fingerprint is not None else 0

    def info(self) -> GalleryInfo:
        with self._translated():
            parts = [self._partition_info(m) for m in MODALITIES] if self.fingerprint is not None else []
            return GalleryInfo(self.store, self.location, self.fingerprint, tuple(p for p in parts if p.crops))

    def cameras(self, modality: Modality) -> list[str]:
        with self._translated():
            return self._cameras(modality) if self.fingerprint is not None else []

    def describe(self, modality: Modality) -> str:
        with self._translated():
            self._filled()
            return self._spec(modality).describe()

    def tune(self, modality: Modality, log: Log) -> bool:
        """Double nprobe (up to nlist) and keep it; False for an exact index, at nprobe = nlist, or read-only."""
        with self._translated():
            self._filled()
            spec = self._spec(modality)
            if not spec.is_ivf or spec.nprobe >= spec.nlist or not self.writable:
                return False
            wider = replace(spec, nprobe=min(spec.nlist, 2 * spec.nprobe))
            self._save_spec(modality, wider)
            log(f"{modality}: nprobe {spec.nprobe} -> {wider.nprobe}")
            return True

    def count(self, modality: Modality, where: CropFilter) -> int:
        with self._translated():
            return self._count(modality, where) if self.fingerprint is not None else 0

    def stored(self, ids: Sequence[int]) -> list[StoredCrop]:
        with self._translated():
            wanted = [int(i) for i in dict.fromkeys(ids) if 0 <= int(i) < 2**63]
            return self._stored(wanted) if self.fingerprint is not None and wanted else []

    def span(self, modality: Modality) -> tuple[int, int] | None:
        with self._translated():
            return self._span(modality) if self.fingerprint is not None else None

    def roots(self) -> tuple[str, ...]:
        with self._translated():
            return tuple(self._roots()) if self.fingerprint is not None else ()

    def add_roots(self, folders: Sequence[str]) -> None:
        with self._translated():
            self._filled()
            have = self._roots()
            wanted = covering([*have, *(str(Path(f).resolve()) for f in folders)])
            if set(wanted) != set(have):
                self._save_roots(wanted)

    def close(self) -> None:
        with self._translated():
            self._close()

    # -- shared steps ----------------------------------------------------------------------------------------
    def _answer(
        self, modality: Modality, queries: np.ndarray, k: int, where: CropFilter, exact: bool
    ) -> list[list[Match]]:
        with self._translated():
            fingerprint = self._filled()
            queries = _rows(queries, fingerprint.dim, "queries")
            if not 1 <= k <= self.max_k:
                raise VireidError(f"a search asks for 1 to {self.max_k} answers per query on {self.store}, got {k}")
            return self._rank(modality, queries, k, where, exact).matches()

    def _filled(self) -> Fingerprint:
        if self.fingerprint is None:
            raise VireidError(f"gallery {self.location} is empty; add crops first (`vireid gallery add`)")
        return self.fingerprint

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """The engine's own errors as one line (`VireidError`), whichever public method met them."""
        try:
            yield
        except VireidError:
            raise
        except Exception as err:
            line = self._one_line(err)
            if line is None:
                raise
            raise VireidError(line) from None

    # -- what an engine implements -----------------------------------------------------------------------------
    @abstractmethod
    def _one_line(self, err: Exception) -> str | None:
        """`err` in one line, if it is the engine's refusal or failure (else None: it is a bug, and propagates)."""

    @abstractmethod
    def _create(self, fingerprint: Fingerprint) -> None:
        """Make a new gallery's storage for vectors of `fingerprint` (the base records it)."""

    @abstractmethod
    def _known(self, contents: Sequence[str]) -> set[str]: ...

    @abstractmethod
    def _add(self, crops: Sequence[Crop], vectors: np.ndarray) -> list[int]:
        """Store crops (float32 N x dim vectors, checked) durably, keyed on their content; their gallery ids."""

    @abstractmethod
    def _finish(self, log: Log) -> None:
        """Bring the index up to date with `index_choice.plan` (build, rebuild or fold in)."""

    @abstractmethod
    def _rank(self, modality: Modality, queries: np.ndarray, k: int, where: CropFilter, exact: bool) -> Ranked: ...

    @abstractmethod
    def _remove(self, where: CropFilter) -> int: ...

    @abstractmethod
    def _partition_info(self, modality: Modality) -> PartitionInfo: ...

    @abstractmethod
    def _cameras(self, modality: Modality) -> list[str]: ...

    @abstractmethod
    def _spec(self, modality: Modality) -> IndexSpec:
        """The index of `modality`'s partition and its search settings."""

    @abstractmethod
    def _save_spec(self, modality: Modality, spec: IndexSpec) -> None:
        """Keep new search settings (nprobe) of the same index, for every later session."""

    @abstractmethod
    def _count(self, modality: Modality, where: CropFilter) -> int: ...

    @abstractmethod
    def _stored(self, ids: list[int]) -> list[StoredCrop]: ...

    @abstractmethod
    def _span(self, modality: Modality) -> tuple[int, int] | None: ...

    @abstractmethod
    def _roots(self) -> list[str]: ...

    @abstractmethod
    def _save_roots(self, folders: list[str]) -> None:
        """Replace the recorded folders by `folders` (already the smallest set that covers them all)."""

    @abstractmethod
    def _close(self) -> None: ...


def covering(folders: Sequence[str]) -> list[str]:
    """The fewest of `folders` that hold all of them: a folder under another one listed adds nothing."""
    kept: list[Path] = []
    for folder in sorted({Path(f) for f in folders}, key=lambda p: (len(p.parts), str(p))):
        if not any(folder.is_relative_to(root) for root in kept):
            kept.append(folder)
    return sorted(str(p) for p in kept)


def _rows(array: np.ndarray, dim: int, what: str) -> np.ndarray:
    """`array` as float32 N x dim, or one line saying what it is instead."""
    array = np.asarray(array)
    if array.ndim != 2 or array.shape[1] != dim:
        raise VireidError(f"{what} must be N x {dim} (the gallery's dimension), got shape {tuple(array.shape)}")
    return np.ascontiguousarray(array, dtype=np.float32)
