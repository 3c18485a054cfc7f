"""The API's request and response models (Pydantic): what `/docs` shows and what every route returns.

Form models for the multipart routes (a search may carry an image; an upload carries crops), JSON models for the
rest. Times go out as ISO 8601 in the service's time zone beside their epoch seconds; an unknown capture time
(0 in the gallery) goes out as null.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Modality = Literal["visible", "infrared"]
CropId = str
"""A crop's gallery id goes out as a string of digits: it is opaque, and a Milvus id (60 bits, from the content
hash) would lose its last digits as a JavaScript number. Requests take it as digits, quoted or not."""


class SearchForm(BaseModel):
    """`POST /api/v1/search` (multipart/form-data): the query is the `image` file part or `crop_id`. A field
    not named here is refused (`routes/deps.py`), so that `camera=` for `cameras=` is not silently ignored."""

    modality: Modality | None = Field(None, description="The query image's modality (required with an image).")
    crop_id: int | None = Field(None, ge=0, description="Search with a stored crop instead of an image.")
    cameras: list[str] = Field(default_factory=list, description="Only these cameras (repeat the field).")
    since: dt.datetime | None = Field(None, description="Captured at or after (ISO 8601; no zone: the service's).")
    until: dt.datetime | None = Field(None, description="Captured at or before.")
    hours: str | None = Field(None, description="Hour-of-day window, may cross midnight: 22:00-06:00.")
    k: int = Field(20, ge=1, le=200, description="Matches per page.")
    min_score: float | None = Field(None, ge=-1, le=1, description="Cosine cut-off.")
    same_modality: bool = Field(False, description="Search the query's own modality instead of the other one.")
    group_by: Literal["track"] | None = Field(None, description="track: the best crop of each track.")
    cursor: str | None = Field(None, description="next_cursor of the previous page, with the same query.")


class MatchOut(BaseModel):
    crop_id: CropId
    score: float
    camera: str
    time: dt.datetime | None
    timestamp: int | None
    track: int | None
    modality: Modality
    image_url: str


class IndexOut(BaseModel):
    modality: Modality
    description: str
    exact: bool


class FingerprintOut(BaseModel):
    visible: str
    infrared: str
    dim: int


class QueryOut(BaseModel):
    modality: Modality
    searched: Modality
    crop_id: CropId | None = None
    image_sha256: str | None = None


class SearchOut(BaseModel):
    matches: list[MatchOut]
    allowed: int = Field(description="Crops of the searched modality the filters allow (before any cut-off).")
    next_cursor: str | None
    took_ms: float
    index: IndexOut
    fingerprint: FingerprintOut
    query: QueryOut
    hours: str | None = None
    timezone: str


class CamerasOut(BaseModel):
    visible: list[str]
    infrared: list[str]


class PartitionOut(BaseModel):
    modality: Modality
    crops: int
    index: str


class InfoOut(BaseModel):
    store: str
    crops: int
    partitions: list[PartitionOut]
    fingerprint: FingerprintOut | None
    backend: dict[str, str]
    timezone: str
    reads_need_token: bool
    writes_enabled: bool
    limits: dict[str, int]


class SessionForm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=512)


class SessionOut(BaseModel):
    scope: Literal["read", "write", "open"]


class CropsForm(BaseModel):
    """`POST /api/v1/crops` (multipart/form-data): `files` parts, the same metadata for each (other fields are
    refused, as for a search)."""

    modality: Modality
    camera: str = Field("", max_length=64)
    time: dt.datetime | None = None
    track: int = Field(-1, ge=-1)


class AddedCrop(BaseModel):
    crop_id: CropId | None
    sha256: str
    added: bool


class CropsOut(BaseModel):
    added: int
    skipped: int
    crops: list[AddedCrop]


class RemoveIn(BaseModel):
    """`DELETE /api/v1/crops` (JSON): by id, camera or capture-time range; at least one condition."""

    model_config = ConfigDict(extra="forbid")

    ids: list[int] = Field(default_factory=list)
    cameras: list[str] = Field(default_factory=list)
    since: dt.datetime | None = None
    until: dt.datetime | None = None


class RemoveOut(BaseModel):
    removed: int
    remaining: int


class HealthOut(BaseModel):
    status: Literal["ok"]
