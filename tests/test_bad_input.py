"""Bad input raises ValueError/TypeError naming the argument; documented conversions do not."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import rebalancing as rb
from rebalancing import DenseCovariance

N = 4
CURRENT = np.array([0.4, 0.3, 0.2, 0.1])
TARGET = np.array([0.25, 0.25, 0.25, 0.25])
_VOL = np.array([0.15, 0.2, 0.25, 0.3])
COV = (np.full((N, N), 0.3) + 0.7 * np.eye(N)) * np.outer(_VOL, _VOL)
COSTS = np.array([0.001, 0.002, 0.0005, 0.003])


def _args(**overrides: Any) -> dict[str, Any]:
    """Valid keyword arguments for :func:`rb.solve`, with some replaced."""
    kwargs: dict[str, Any] = {
        "current": CURRENT.copy(),
        "target": TARGET.copy(),
        "cov": COV.copy(),
        "costs": COSTS.copy(),
        "lam": 1.0,
    }
    kwargs.update(overrides)
    return kwargs


def _with(value: np.ndarray, index: Any, new: float) -> np.ndarray:
    out = np.array(value, dtype=float)
    out[index] = new
    return out


def test_valid_arguments_solve() -> None:
    assert rb.solve(**_args()).status == "optimal"


# --- non-finite values ------------------------------------------------------------------------

VECTOR_ARGS = ["current", "target", "costs", "lower", "upper", "buy_costs", "sell_costs"]
_DEFAULTS = {
    "current": CURRENT,
    "target": TARGET,
    "costs": COSTS,
    "lower": np.zeros(N),
    "upper": np.ones(N),
    "buy_costs": COSTS,
    "sell_costs": COSTS,
}


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("name", VECTOR_ARGS)
def test_non_finite_vector_entry_names_argument(name: str, bad: float) -> None:
    value = _with(_DEFAULTS[name], 2, bad)
    with pytest.raises(ValueError, match=name):
        rb.solve(**_args(**{name: value}))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("name", ["costs", "lower", "upper", "buy_costs", "sell_costs"])
def test_non_finite_scalar_names_argument(name: str, bad: float) -> None:
    with pytest.raises(ValueError, match=name):
        rb.solve(**_args(**{name: bad}))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", [(0, 0), (1, 2), "both"])
def test_non_finite_cov_names_cov(bad: float, where: Any) -> None:
    cov = COV.copy()
    if where == "both":
        cov[1, 2] = cov[2, 1] = bad
    else:
        cov[where] = bad
    with pytest.raises(ValueError, match="cov"):
        rb.solve(**_args(cov=cov))
    with pytest.raises(ValueError, match="cov"):
        DenseCovariance(cov)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_warm_start_names_argument(bad: float) -> None:
    with pytest.raises(ValueError, match="warm_start"):
        rb.solve(**_args(), warm_start=_with(CURRENT, 0, bad))


# --- shapes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("target", np.full(N + 1, 1.0 / (N + 1))),
        ("target", np.full(N - 1, 1.0 / (N - 1))),
        ("target", TARGET.reshape(2, 2)),
        ("costs", np.zeros(N + 1)),
        ("costs", np.zeros((N, 1))),
        ("lower", np.zeros(N - 1)),
        ("upper", np.ones(N + 2)),
        ("buy_costs", np.zeros(N - 1)),
        ("sell_costs", np.zeros((1, N))),
    ],
)
def test_wrong_length_names_argument(name: str, value: np.ndarray) -> None:
    with pytest.raises(ValueError, match=name):
        rb.solve(**_args(**{name: value}))


def test_two_dimensional_current_names_current() -> None:
    with pytest.raises(ValueError, match="current"):
        rb.solve(**_args(current=CURRENT.reshape(2, 2)))


def test_scalar_current_names_current() -> None:
    with pytest.raises(ValueError, match="current"):
        rb.solve(**_args(current=1.0))


def test_wrong_length_warm_start_names_argument() -> None:
    with pytest.raises(ValueError, match="warm_start"):
        rb.solve(**_args(), warm_start=np.full(N + 1, 0.2))


@pytest.mark.parametrize(
    "cov",
    [
        np.eye(N + 1) * 0.04,  # wrong size
        np.eye(N - 1) * 0.04,
        np.zeros((N, N + 1)),  # not square
        np.zeros((N + 1, N)),
        np.zeros(N),  # not a matrix
        np.zeros((N, N, 1)),
        0.04,
        np.zeros((0, 0)),
    ],
    ids=["bigger", "smaller", "wide", "tall", "vector", "3d", "scalar", "empty"],
)
def test_cov_shape_names_cov(cov: Any) -> None:
    with pytest.raises(ValueError, match="cov"):
        rb.solve(**_args(cov=cov))


def test_non_square_dense_covariance_names_cov() -> None:
    with pytest.raises(ValueError, match="cov"):
        DenseCovariance(np.zeros((3, 4)))


def test_dense_covariance_of_wrong_size_names_cov() -> None:
    sigma = DenseCovariance(np.eye(N + 1) * 0.04)
    with pytest.raises(ValueError, match="cov"):
        rb.solve(**_args(cov=sigma))


# --- covariance values ------------------------------------------------------------------------


def test_asymmetric_cov_names_cov() -> None:
    cov = COV.copy()
    cov[0, 1] += 1e-3
    with pytest.raises(ValueError, match=r"cov.*symmetric"):
        rb.solve(**_args(cov=cov))
    with pytest.raises(ValueError, match=r"cov.*symmetric"):
        DenseCovariance(cov)


def test_rounding_level_asymmetry_is_accepted() -> None:
    cov = COV.copy()
    cov[0, 1] *= 1 + 1e-14
    assert rb.solve(**_args(cov=cov)).status == "optimal"


@pytest.mark.parametrize("smallest", [-1e-3, -0.5, -1e-6])
def test_indefinite_cov_names_cov(smallest: float) -> None:
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(N, N)))
    cov = (q * np.array([smallest, 0.01, 0.04, 0.09])) @ q.T
    cov = 0.5 * (cov + cov.T)
    with pytest.raises(ValueError, match=r"cov.*positive semidefinite"):
        rb.solve(**_args(cov=cov))
    with pytest.raises(ValueError, match=r"cov.*positive semidefinite"):
        DenseCovariance(cov)


def test_negative_diagonal_cov_names_cov() -> None:
    with pytest.raises(ValueError, match="cov"):
        rb.solve(**_args(cov=np.diag([0.04, -0.01, 0.04, 0.04])))


def test_psd_check_can_be_disabled_for_known_psd_matrices() -> None:
    sigma = DenseCovariance(COV, check_psd=False)
    assert sigma.n == N
    assert "4" in repr(sigma)
    assert rb.solve(**_args(cov=sigma)).status == "optimal"


# --- costs, lam, options ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["costs", "buy_costs", "sell_costs"])
@pytest.mark.parametrize("negative", [-1e-4, [0.001, -0.001, 0.0, 0.0]])
def test_negative_costs_name_argument(name: str, negative: Any) -> None:
    with pytest.raises(ValueError, match=f"{name} must be >= 0"):
        rb.solve(**_args(**{name: negative}))


@pytest.mark.parametrize("lam", [-1.0, -1e-300, np.nan, np.inf, -np.inf])
def test_bad_lam_value_names_lam(lam: float) -> None:
    with pytest.raises(ValueError, match="lam"):
        rb.solve(**_args(lam=lam))


@pytest.mark.parametrize("lam", ["1.0", None, [1.0], True, 1 + 0j, np.array([1.0])])
def test_bad_lam_type_names_lam(lam: Any) -> None:
    with pytest.raises(TypeError, match="lam"):
        rb.solve(**_args(lam=lam))


@pytest.mark.parametrize("lam", [1, np.float32(1.0), np.int64(1), np.float64(1.0)])
def test_numeric_lam_types_are_accepted(lam: Any) -> None:
    ref = rb.solve(**_args(lam=1.0))
    res = rb.solve(**_args(lam=lam))
    np.testing.assert_array_equal(res.weights, ref.weights)


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("tol", 0.0, ValueError),
        ("tol", -1e-10, ValueError),
        ("tol", np.nan, ValueError),
        ("tol", "1e-10", TypeError),
        ("abs_tol", -1.0, ValueError),
        ("abs_tol", np.inf, ValueError),
        ("max_iter", 0, ValueError),
        ("max_iter", -5, ValueError),
        ("max_iter", 10.5, (TypeError, ValueError)),
        ("max_iter", "100", (TypeError, ValueError)),
    ],
)
def test_bad_options_name_argument(option: str, value: Any, error: Any) -> None:
    with pytest.raises(error, match=option):
        rb.solve(**_args(), **{option: value})


# --- bounds -----------------------------------------------------------------------------------


def test_lower_above_upper_names_both() -> None:
    lower = np.array([0.0, 0.3, 0.0, 0.0])
    upper = np.array([1.0, 0.2, 1.0, 1.0])
    with pytest.raises(ValueError, match="lower must be <= upper") as info:
        rb.solve(**_args(lower=lower, upper=upper))
    assert "asset 1" in str(info.value)


@pytest.mark.parametrize(
    ("lower", "upper"),
    [
        (0.3, 1.0),  # sum(lower) = 1.2 > 1
        (0.0, 0.2),  # sum(upper) = 0.8 < 1
        ([0.5, 0.5, 0.1, 0.0], 1.0),
        (-1.0, [0.1, 0.1, 0.1, 0.1]),
    ],
)
def test_infeasible_bounds_name_bounds(lower: Any, upper: Any) -> None:
    with pytest.raises(ValueError, match=r"infeasible.*sum\(lower\).*sum\(upper\)"):
        rb.solve(**_args(lower=lower, upper=upper))


def test_bounds_summing_exactly_to_one_are_feasible() -> None:
    res = rb.solve(**_args(lower=0.25, upper=0.25))
    np.testing.assert_array_equal(res.weights, np.full(N, 0.25))


# --- weights that do not sum to one -----------------------------------------------------------


@pytest.mark.parametrize("name", ["current", "target"])
@pytest.mark.parametrize("factor", [0.5, 2.0, 0.0, -1.0, 1 + 1e-5])
def test_weights_not_summing_to_one_name_argument(name: str, factor: float) -> None:
    value = _DEFAULTS[name] * factor
    with pytest.raises(ValueError, match=f"{name} must sum to 1"):
        rb.solve(**_args(**{name: value}))


@pytest.mark.parametrize("name", ["current", "target"])
def test_weights_within_tolerance_of_one_are_accepted(name: str) -> None:
    value = _DEFAULTS[name] * (1 + 5e-7)
    res = rb.solve(**_args(**{name: value}))
    assert res.status == "optimal"
    assert abs(float(np.sum(res.weights)) - 1.0) <= 1e-12


# --- empty inputs and wrong kinds -------------------------------------------------------------


@pytest.mark.parametrize("name", ["current", "target"])
@pytest.mark.parametrize("empty", [[], np.array([]), ()])
def test_empty_weights_name_argument(name: str, empty: Any) -> None:
    with pytest.raises(ValueError, match=name):
        rb.solve(**_args(**{name: empty}))


def test_everything_empty_names_current() -> None:
    with pytest.raises(ValueError, match="current"):
        rb.solve([], [], np.zeros((0, 0)))


@pytest.mark.parametrize("name", ["costs", "lower", "upper", "buy_costs", "sell_costs"])
def test_empty_per_asset_argument_names_it(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        rb.solve(**_args(**{name: []}))


_BAD_DTYPES = {
    "str": lambda a: a.astype(str),
    "object": lambda a: a.astype(object),
    "complex": lambda a: a.astype(complex),
    "bool": lambda a: a > 0.2,
    "datetime": lambda a: np.zeros(a.shape, dtype="datetime64[D]"),
    "bytes": lambda a: a.astype("S8"),
}


@pytest.mark.parametrize("dtype", sorted(_BAD_DTYPES))
@pytest.mark.parametrize("name", VECTOR_ARGS)
def test_bad_dtype_vector_names_argument(name: str, dtype: str) -> None:
    value = _BAD_DTYPES[dtype](np.array(_DEFAULTS[name]))
    with pytest.raises(TypeError, match=name):
        rb.solve(**_args(**{name: value}))


@pytest.mark.parametrize("dtype", sorted(_BAD_DTYPES))
def test_bad_dtype_cov_names_cov(dtype: str) -> None:
    value = _BAD_DTYPES[dtype](COV)
    with pytest.raises(TypeError, match="cov"):
        rb.solve(**_args(cov=value))


@pytest.mark.parametrize("name", ["costs", "lower", "upper", "buy_costs", "sell_costs"])
@pytest.mark.parametrize("value", ["0.001", b"1", 1 + 1j, True, None])
def test_bad_scalar_kind_names_argument(name: str, value: Any) -> None:
    if value is None and name in ("buy_costs", "sell_costs"):
        pytest.skip("None means 'same as costs' for buy_costs and sell_costs")
    with pytest.raises(TypeError, match=name):
        rb.solve(**_args(**{name: value}))


@pytest.mark.parametrize("name", ["costs", "lower", "upper", "buy_costs", "sell_costs"])
def test_a_mapping_by_unknown_ticker_names_argument(name: str) -> None:
    # A mapping is labelled by ticker (like a Series): one ticker for four weights is an error
    # that names the argument.
    with pytest.raises(ValueError, match=name):
        rb.solve(**_args(**{name: {"a": 0.001}}))


def test_ragged_list_names_argument() -> None:
    with pytest.raises((TypeError, ValueError), match="cov"):
        rb.solve(**_args(cov=[[0.04, 0.0], [0.0]]))


@pytest.mark.parametrize("value", ["abcd", None, object(), {"a": "x", "b": "y"}])
def test_non_array_current_names_current(value: Any) -> None:
    with pytest.raises((TypeError, ValueError), match="current"):
        rb.solve(**_args(current=value))


def test_bad_warm_start_type_names_argument() -> None:
    with pytest.raises(TypeError, match="warm_start"):
        rb.solve(**_args(), warm_start=CURRENT.astype(str))


# --- documented conversions: no error, same answer --------------------------------------------


def _reference_result() -> rb.RebalanceResult:
    return rb.solve(**_args())


def test_integer_arrays_are_converted() -> None:
    current = np.array([1, 0, 0, 0])
    target = np.array([0, 0, 1, 0], dtype=np.int32)
    cov = np.eye(N, dtype=np.int64)
    res = rb.solve(current, target, cov, 0, 1)
    expected = rb.solve(current.astype(float), target.astype(float), cov.astype(float), 0.0)
    np.testing.assert_array_equal(res.weights, expected.weights)
    assert res.weights.dtype == np.float64
    assert res.status == "optimal"


def test_unsigned_and_small_integer_dtypes_are_converted() -> None:
    cov = np.eye(N, dtype=np.uint8)
    lower = np.zeros(N, dtype=np.int8)
    res = rb.solve(CURRENT, TARGET, cov, COSTS, lower=lower, upper=np.ones(N, dtype=np.uint16))
    expected = rb.solve(CURRENT, TARGET, np.eye(N), COSTS)
    np.testing.assert_array_equal(res.weights, expected.weights)


def test_float32_inputs_are_converted() -> None:
    f32 = {k: np.asarray(v, dtype=np.float32) for k, v in _args().items() if k != "lam"}
    res = rb.solve(**f32, lam=1.0)
    as64 = {k: v.astype(np.float64) for k, v in f32.items()}
    expected = rb.solve(**as64, lam=1.0)
    np.testing.assert_array_equal(res.weights, expected.weights)
    assert res.weights.dtype == np.float64
    assert res.status == "optimal"


def test_float16_and_longdouble_are_converted() -> None:
    res = rb.solve(
        CURRENT.astype(np.longdouble), TARGET, COV.astype(np.float16), COSTS.astype(np.float16)
    )
    expected = rb.solve(
        CURRENT, TARGET, COV.astype(np.float16).astype(float), COSTS.astype(np.float16)
    )
    np.testing.assert_array_equal(res.weights, expected.weights)


def test_fortran_ordered_cov_is_accepted() -> None:
    cov_f = np.asfortranarray(COV)
    assert not cov_f.flags.c_contiguous
    res = rb.solve(**_args(cov=cov_f))
    np.testing.assert_array_equal(res.weights, _reference_result().weights)
    assert DenseCovariance(cov_f).matrix.flags.c_contiguous


def test_lists_and_tuples_are_accepted() -> None:
    res = rb.solve(
        CURRENT.tolist(),
        tuple(TARGET.tolist()),
        [list(row) for row in COV],
        COSTS.tolist(),
        lam=1.0,
        lower=[0.0] * N,
        upper=(1.0,) * N,
    )
    np.testing.assert_array_equal(res.weights, _reference_result().weights)
    assert isinstance(res.weights, np.ndarray)


def test_non_contiguous_slices_are_accepted() -> None:
    big_cov = np.zeros((2 * N, 2 * N))
    big_cov[::2, ::2] = COV
    interleaved = np.zeros(2 * N)
    interleaved[::2] = CURRENT
    tgt = np.zeros(2 * N)
    tgt[1::2] = TARGET
    costs = np.repeat(COSTS, 2)
    current_view, target_view = interleaved[::2], tgt[1::2]
    assert not current_view.flags.c_contiguous
    res = rb.solve(current_view, target_view, big_cov[::2, ::2], costs[::2], lam=1.0)
    np.testing.assert_array_equal(res.weights, _reference_result().weights)


def test_reversed_views_are_accepted() -> None:
    perm = np.arange(N)[::-1]
    res = rb.solve(CURRENT[::-1], TARGET[::-1], COV[::-1, ::-1], COSTS[::-1])
    np.testing.assert_allclose(res.weights[perm], _reference_result().weights, atol=1e-15)


def test_transposed_cov_view_is_accepted() -> None:
    res = rb.solve(**_args(cov=COV.T))
    np.testing.assert_array_equal(res.weights, _reference_result().weights)


def test_read_only_inputs_are_accepted() -> None:
    args = _args()
    for key in ("current", "target", "cov", "costs"):
        args[key].setflags(write=False)
    res = rb.solve(**args)
    np.testing.assert_array_equal(res.weights, _reference_result().weights)


def test_scalar_costs_and_bounds_broadcast() -> None:
    a = rb.solve(CURRENT, TARGET, COV, 0.002, lower=0.05, upper=0.6)
    b = rb.solve(
        CURRENT, TARGET, COV, np.full(N, 0.002), lower=np.full(N, 0.05), upper=np.full(N, 0.6)
    )
    np.testing.assert_array_equal(a.weights, b.weights)


def test_zero_dimensional_array_costs_broadcast() -> None:
    a = rb.solve(CURRENT, TARGET, COV, np.array(0.002))
    b = rb.solve(CURRENT, TARGET, COV, 0.002)
    np.testing.assert_array_equal(a.weights, b.weights)


def test_dense_covariance_reuses_the_buffer() -> None:
    sigma = DenseCovariance(COV)
    assert np.shares_memory(sigma.matrix, COV)
    res = rb.solve(**_args(cov=sigma))
    np.testing.assert_array_equal(res.weights, _reference_result().weights)
