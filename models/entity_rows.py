"""The layout the compiled kernels read: one row per entity, its periods contiguous."""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike


def entity_rows(values: np.ndarray, dtype: DTypeLike = np.float64) -> np.ndarray:
    """A read-only (entities, periods) C-contiguous view of a (periods, entities) array.

    No copy for a DataFrame's own block (Fortran order) of the right dtype. Always
    read-only, so each kernel is compiled (and cached) for one array type only.
    """
    rows = np.ascontiguousarray(np.asarray(values).T, dtype=dtype).view()
    rows.flags.writeable = False
    return rows
