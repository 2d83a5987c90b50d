"""A hand-made attribute table for the ten digit classes (zero-shot by attributes).

Each attribute describes how a digit is usually written (as in the bundled
scikit-learn digits); every class has a distinct vector, as direct attribute
prediction requires.

==================  =====================================================
attribute           meaning
==================  =====================================================
loop                at least one closed loop (0 6 8 9)
two_loops           two closed loops (8)
vertical            a straight vertical stroke (1 4 7 9)
top_bar             a horizontal bar at the top (5 7)
middle_bar          a horizontal bar across the middle (4)
bottom_bar          a horizontal bar at the bottom (2)
diagonal            a long diagonal stroke (2 4 7)
top_curve           the top is a curve open downward (0 2 3 8 9)
bottom_curve        the bottom is a curve open upward (0 3 5 6 8)
open_left           open towards the left, strokes end there (2 3 7 9)
open_right          open towards the right (4 5 6)
symmetric           roughly left-right symmetric (0 1 8)
==================  =====================================================
"""

from __future__ import annotations

from speechtl.transfer.class_vectors import ATTRIBUTE_TABLES

DIGIT_ATTRIBUTES = ("loop", "two_loops", "vertical", "top_bar", "middle_bar", "bottom_bar", "diagonal",
                    "top_curve", "bottom_curve", "open_left", "open_right", "symmetric")

DIGIT_TABLE: dict[str, tuple[int, ...]] = {
    #    loop 2lp vert tbar mbar bbar diag tcur bcur opl opr sym
    "0": (1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1),
    "1": (0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1),
    "2": (0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 0, 0),
    "3": (0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0),
    "4": (0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1, 0),
    "5": (0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0),
    "6": (1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0),
    "7": (0, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 0),
    "8": (1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1),
    "9": (1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0),
}


def digit_table() -> tuple[tuple[str, ...], dict[str, tuple[int, ...]]]:
    """The table as ``(attribute names, {class: values})``, registered as ``digits``."""
    return DIGIT_ATTRIBUTES, DIGIT_TABLE


ATTRIBUTE_TABLES.register("digits")(digit_table)
