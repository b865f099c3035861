"""Settlement input snapshots in S3: the exact tree, stars, tiers and volumes a period was
settled with, so that a refund (or a late order) after settlement can be priced by
re-running the engine on the same input with the new volumes (RULES.md 5.7).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Snapshot:
    ids: list[str]
    parent: np.ndarray
    stars: np.ndarray
    guide_tier: np.ndarray
    registration_order: np.ndarray
    volumes_fen: np.ndarray


class SnapshotStore:
    def __init__(self, s3_client: Any, bucket: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket

    def save(self, key: str, snapshot: Snapshot) -> None:
        import numpy as np  # the composition root builds this store in every function; only settlements load numpy

        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            ids=np.array(snapshot.ids, dtype=str),
            parent=snapshot.parent,
            stars=snapshot.stars,
            guide_tier=snapshot.guide_tier,
            registration_order=snapshot.registration_order,
            volumes_fen=snapshot.volumes_fen,
        )
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=buffer.getvalue(), ServerSideEncryption="aws:kms")

    def load(self, key: str) -> Snapshot:
        import numpy as np

        body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        with np.load(io.BytesIO(body), allow_pickle=False) as data:
            return Snapshot(
                ids=data["ids"].tolist(),
                parent=data["parent"],
                stars=data["stars"],
                guide_tier=data["guide_tier"],
                registration_order=data["registration_order"],
                volumes_fen=data["volumes_fen"],
            )
