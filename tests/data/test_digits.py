import numpy as np
import pytest

from optlab.data import load_digits


def test_splits_shapes_dtypes_and_range():
    splits = load_digits(seed=0)
    sizes = [len(split.y) for split in splits]
    assert sum(sizes) == 1797 and sizes == [1077, 360, 360]
    for split in splits:
        assert split.x.dtype == np.float32 and split.x.shape[1:] == (8, 8, 1)
        assert split.y.dtype == np.int32 and split.x.min() >= 0.0 and split.x.max() <= 1.0
        assert set(np.unique(split.y)) == set(range(10))  # stratified: every class in every split


def test_split_is_seeded_and_disjoint():
    a, b, c = load_digits(seed=0), load_digits(seed=0), load_digits(seed=1)
    np.testing.assert_array_equal(a.train.x, b.train.x)
    assert not np.array_equal(a.train.x, c.train.x)
    rows = {row.tobytes() for split in a for row in split.x}
    assert len(rows) >= 1797 - 20  # the raw data has a few duplicate images, no row is reused


@pytest.mark.parametrize(
    "kwargs, needle",
    [({"seed": -1}, "seed must be a non-negative int, got -1"), ({"val_fraction": 0.0}, "val_fraction must be"),
     ({"val_fraction": 0.5, "test_fraction": 0.5}, "val_fraction \\+ test_fraction must be < 1")],
)
def test_arguments_validated(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        load_digits(**kwargs)
