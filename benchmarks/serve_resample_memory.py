"""Peak memory of resampling 10 s of audio at rates whose one-step torchaudio kernel is huge.

Usage: ``python -m benchmarks.serve_resample_memory``. Prints, for each rate, the size of the
kernel one torchaudio call would build (values), the steps :func:`speechtl.data.resampling.plan`
takes instead, and the growth of the process's peak RSS (MB) over a 48 kHz warm-up.
"""

import resource

import torch

from speechtl.data.resampling import kernel_size, plan, resample


def main() -> None:
    resample(torch.zeros(48000), 48000, 16000)  # torch and its allocator warmed up
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for rate in (16001, 95999, 8001, 44100):
        resample(torch.randn(rate * 10), rate, 16000)
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024
        print(f"{rate} Hz: one-step kernel {kernel_size(rate, 16000):,} values; steps {plan(rate, 16000).steps}; "
              f"peak RSS growth so far {grown} MB")


if __name__ == "__main__":
    main()
