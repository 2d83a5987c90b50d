"""TensorBoard scalars of a training run, written whenever ``tensorboard`` is importable.

``EXP/train_log.jsonl`` and ``EXP/valid_log.jsonl`` hold the same numbers; without
TensorBoard, ``speechtl plot curves EXP`` draws them.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def open_writer(exp_dir: Path, purge_step: int | None = None):
    """A SummaryWriter on ``EXP/tensorboard``, or ``False`` when tensorboard is not installed.

    Args:
        purge_step: a resumed run drops the events logged after its checkpoint's step.
    """
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # optional: the speechtl[tensorboard] extra
        log.info("no TensorBoard scalars (pip install 'speechtl[tensorboard]'); `speechtl plot curves %s` "
                 "draws the logs", exp_dir)
        return False
    log.info("TensorBoard scalars in %s (tensorboard --logdir %s)", exp_dir / "tensorboard", exp_dir.parent)
    return SummaryWriter(str(exp_dir / "tensorboard"), purge_step=purge_step)


def write_scalars(writer, record: dict, prefix: str) -> None:
    """Every number of a log record as ``PREFIX/KEY`` at ``record["step"]``, flushed at once.

    Records come every ``log_every`` steps, so flushing each costs little, and a killed
    run keeps its curves.
    """
    for key, value in record.items():
        if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
            writer.add_scalar(f"{prefix}/{key}", value, record["step"])
    writer.flush()
