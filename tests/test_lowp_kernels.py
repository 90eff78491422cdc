"""The reduced-precision products on every path this CPU has, against NumPy: bfloat16 products
with float32 accumulation (operands rounded to nearest even, as the hardware converts them), and
int8 products with exact int32 sums."""

import os
import subprocess
import sys

import numpy as np
import pytest

import fastdense
from fastdense import _core, backend

BF16_PATHS = backend.reduced_precision()["bfloat16_paths"]
INT8_PATHS = backend.reduced_precision()["int8_paths"]
# Odd sizes leave tails in every blocked dimension; (70, 50, 4200) has more depth than one cache
# slice of the kernels (4096), so c's blocks are reloaded and accumulated into.
SHAPES = [(1, 1, 1), (5, 7, 3), (33, 65, 70), (64, 64, 64), (100, 37, 513), (17, 300, 40), (40, 33, 1100),
          (70, 50, 4200)]


def bf16_round_reference(x):
    """Round-to-nearest-even to bfloat16 in NumPy, subnormals to signed zero."""
    bits = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    out = rounded.astype(np.uint32).view(np.float32).copy()
    out[(bits & 0x7F800000) == 0] = 0.0
    out[np.signbit(x) & (out == 0)] = -0.0
    nan = np.isnan(x)
    out[nan] = x[nan]
    return out


def test_rounding_is_nearest_even_like_the_hardware():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(5000).astype(np.float32) * 10.0 ** rng.integers(-30, 30, 5000),
                        np.array([0.0, -0.0, 1.0, 1.00390625, 1.01171875, 1.005859375, 3.4e38, np.inf, -np.inf,
                                  1e-40, -1e-40], np.float32)]).astype(np.float32)
    rounded = _core.round_to_bfloat16(x)
    np.testing.assert_array_equal(rounded.view(np.uint32), bf16_round_reference(x).view(np.uint32))
    # 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1.0).
    assert _core.round_to_bfloat16(np.array([1.00390625], np.float32))[0] == 1.0
    # The packing conversion (VCVTNE2PS2BF16 where the CPU has it) gives the same bits.
    bits = _core.floats_to_bfloat16_bits(x).astype(np.uint32) << 16
    np.testing.assert_array_equal(bits, rounded.view(np.uint32))
    assert np.isnan(_core.round_to_bfloat16(np.array([np.nan], np.float32))[0])


@pytest.mark.parametrize("path", BF16_PATHS)
@pytest.mark.parametrize("transpose_a", [False, True])
@pytest.mark.parametrize("transpose_b", [False, True])
def test_bf16_product_matches_numpy(path, transpose_a, transpose_b):
    rng = np.random.default_rng(1)
    for m, n, k in SHAPES:
        a = rng.standard_normal((k, m) if transpose_a else (m, k)).astype(np.float32)
        b = rng.standard_normal((n, k) if transpose_b else (k, n)).astype(np.float32)
        ra, rb = bf16_round_reference(a).astype(np.float64), bf16_round_reference(b).astype(np.float64)
        expected = (ra.T if transpose_a else ra) @ (rb.T if transpose_b else rb)
        got = _core.gemm_bf16(a, b, transpose_a, transpose_b, path)
        assert got.shape == (m, n) and got.dtype == np.float32
        # The products of bf16 values are exact in float32; only the float32 sums round.
        scale = (np.abs(ra.T if transpose_a else ra) @ np.abs(rb.T if transpose_b else rb)).max()
        np.testing.assert_allclose(got, expected, rtol=0, atol=scale * k * 2.0 ** -23 + 1e-30)


@pytest.mark.parametrize("transpose", [False, True])
def test_emulated_product_rounds_its_operands_like_the_hardware(transpose):
    # The emulated path rounds each operand while packing it (fastdense's AVX-512 kernel) or in a
    # copy: multiplied by 1, every value comes back exactly as the hardware rounds it (ties to even,
    # subnormals to signed zero, infinities kept, NaN stays NaN), through a and through b.
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.standard_normal(300).astype(np.float32) * 10.0 ** rng.integers(-30, 30, 300),
                        np.array([0.0, -0.0, 1.00390625, 1.01171875, 3.4e38, np.inf, -np.inf, 1e-40, -1e-40, np.nan],
                                 np.float32)]).astype(np.float32)
    one = np.ones((1, 1), np.float32)
    row, column = x.reshape(1, -1), x.reshape(-1, 1)
    through_a = _core.gemm_bf16(row if transpose else column, one, transpose, False, "emulated").ravel()
    through_b = _core.gemm_bf16(one, column if transpose else row, False, transpose, "emulated").ravel()
    expected = bf16_round_reference(x)
    for got in (through_a, through_b):
        assert np.array_equal(np.isnan(got), np.isnan(expected))
        finite = ~np.isnan(expected)
        np.testing.assert_array_equal(got[finite], expected[finite])  # (a sum from +0 turns -0 into +0)


def test_bf16_paths_agree_and_differ_from_float32():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((48, 200)).astype(np.float32)
    b = rng.standard_normal((200, 40)).astype(np.float32)
    results = [_core.gemm_bf16(a, b, False, False, path) for path in BF16_PATHS]
    for r in results[1:]:
        np.testing.assert_allclose(r, results[0], rtol=1e-5, atol=1e-4)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    error = np.abs(results[0] - exact).max() / np.abs(exact).max()
    assert 1e-5 < error < 2e-2  # bfloat16 operands: about 8 significant bits


@pytest.mark.parametrize("path", INT8_PATHS)
def test_int8_product_is_exact(path):
    rng = np.random.default_rng(3)
    for m, n, k in SHAPES + [(3, 5, 4096)]:
        a = rng.integers(-128, 128, (m, k)).astype(np.int8)
        b = rng.integers(-128, 128, (k, n)).astype(np.int8)
        got = _core.gemm_int8(a, b, path)
        np.testing.assert_array_equal(got, a.astype(np.int64) @ b.astype(np.int64))
    extreme = np.full((33, 2048), -128, np.int8)
    np.testing.assert_array_equal(_core.gemm_int8(extreme, np.full((2048, 17), -128, np.int8), path),
                                  np.full((33, 17), 128 * 128 * 2048, np.int64))


@pytest.mark.parametrize("path", INT8_PATHS)
def test_int8_product_with_more_rows_than_stay_in_cache_is_exact(path):
    # More than 1 MB of int8 rows: the kernels walk c in 256-column slabs (64 below that), here
    # with a partial last slab and odd tails in every dimension.
    rng = np.random.default_rng(5)
    a = rng.integers(-128, 128, (300, 4000)).astype(np.int8)
    b = rng.integers(-128, 128, (4000, 301)).astype(np.int8)
    expected = a.astype(np.float64) @ b.astype(np.float64)  # exact: |sums| < 2^53
    np.testing.assert_array_equal(_core.gemm_int8(a, b, path), expected)


def test_reported_paths_are_the_best_the_cpu_has():
    info = backend.reduced_precision()
    isa = info["isa"]
    assert info["bfloat16"] == ("amx" if isa["amx_bf16"] else "avx512bf16" if isa["avx512_bf16"] else "emulated")
    assert info["bfloat16"] in info["bfloat16_paths"] and info["int8"] in info["int8_paths"]
    assert "emulated" in info["bfloat16_paths"] and "portable" in info["int8_paths"]


def test_unknown_path_names_are_refused():
    with pytest.raises(ValueError, match="avx512bf16"):
        backend.set_reduced_precision_path("fast")
    with pytest.raises(ValueError, match="no bfloat16 path"):
        _core.gemm_bf16(np.ones((2, 2), np.float32), np.ones((2, 2), np.float32), False, False, "sse")


def test_environment_variable_forces_the_emulated_path():
    code = "from fastdense import backend; i = backend.reduced_precision(); print(i['bfloat16'], i['int8'])"
    env = dict(os.environ, FASTDENSE_LOWP="emulated")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(fastdense.__file__)))  # the fastdense under test
    assert out.stdout.split() == ["emulated", "portable"]


def test_forcing_a_path_at_run_time():
    best = backend.reduced_precision()["bfloat16"]
    try:
        backend.set_reduced_precision_path("emulated")
        assert backend.reduced_precision()["bfloat16"] == "emulated"
    finally:
        backend.set_reduced_precision_path(None)
    assert backend.reduced_precision()["bfloat16"] == best
