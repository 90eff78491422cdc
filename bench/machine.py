"""What machine a benchmark ran on, read once for every script in bench/: the CPU model and the
vector extensions that decide fastdense's code paths (AVX2, AVX-512, AVX512-BF16, AMX)."""

import platform

ISA_FLAGS = {"avx2": "avx2", "avx512f": "avx512f", "avx512_bf16": "avx512_bf16", "amx": "amx_tile"}


def cpu_description():
    """(CPU model, the ISA extensions among ISA_FLAGS it has), from /proc/cpuinfo where there is one."""
    model, flags = None, None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model is None:
                    model = value.strip()
                elif key.strip() == "flags" and flags is None:
                    flags = set(value.split())
    except OSError:
        pass
    return model or platform.processor() or platform.machine(), [
        name for name, flag in ISA_FLAGS.items() if flag in (flags or ())]


def cpu_model():
    return cpu_description()[0]
