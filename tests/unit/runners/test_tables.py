"""fit_table: the discovery listings' plain-text table, cut to 80 columns with an ellipsis."""

from __future__ import annotations

import pytest

from fabric_ci.runners.tables import fit_table

ID = "8f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"


def test_a_narrow_table_is_left_whole_and_padded() -> None:
    lines = fit_table(["Name", "Id", "Stages"], [["Sales", "p1", "3"], ["HR", "p22", "2"]], shrinkable=[0])
    assert lines == [
        "Name   Id   Stages",
        "Sales  p1   3",
        "HR     p22  2",
    ]


def test_a_long_name_is_cut_with_an_ellipsis_to_80_columns_and_the_id_stays_whole() -> None:
    name = "Quarterly sales reporting for the northern and the southern regions, all of them"
    lines = fit_table(["Name", "Id", "Stages"], [[name, ID, "3"]], shrinkable=[0])
    assert lines == [
        "Name" + " " * 30 + "  Id" + " " * 34 + "  Stages",
        "Quarterly sales reporting for the…  " + ID + "  3",
    ]
    assert max(len(line) for line in lines) == 80


def test_the_widest_shrinkable_column_gives_way_first() -> None:
    lines = fit_table(
        ["Pipeline", "Workspace", "N"],
        [["a" * 30, "b" * 50, "1"]],
        shrinkable=[0, 1],
        width=60,
    )
    # 30 + 50 + 1 + 2 gaps = 85: 20 come off the workspace, the widest, then the two take turns, the
    # leftmost first on a tie, until the pipeline is 27 and the workspace 28.
    assert lines[1] == "a" * 26 + "…  " + "b" * 27 + "…  1"
    assert len(lines[1]) == 60


def test_columns_not_shrinkable_are_never_cut_even_if_the_table_stays_wide() -> None:
    lines = fit_table(["Id"], [[ID + ID + ID]], shrinkable=[], width=80)
    assert lines[1] == ID + ID + ID


def test_a_column_is_never_cut_below_its_header() -> None:
    lines = fit_table(["Workspace", "Id"], [["w" * 40, ID]], shrinkable=[0], width=20)
    assert lines[1] == "wwwwwwww…  " + ID


def test_the_indent_counts_towards_the_width() -> None:
    lines = fit_table(["Name"], [["x" * 20]], shrinkable=[0], width=12, indent="  ")
    assert lines == ["  Name", "  " + "x" * 9 + "…"]


def test_a_row_with_a_missing_cell_is_refused() -> None:
    with pytest.raises(ValueError, match="one cell for each header"):
        fit_table(["Name", "Id"], [["only a name"]], shrinkable=[0])
