"""The terminal report's weekday x hour grid fits the terminal it is printed on."""

from __future__ import annotations

import pytest

from broker.reports.report import heat_grid


def calls(*cells: tuple[int, int, int]) -> list[list[int]]:
    grid = [[0] * 24 for _ in range(7)]
    for day, hour, n in cells:
        grid[day][hour] = n
    return grid


def lines(grid: list[list[int]], width: int) -> list[str]:
    return heat_grid(grid, width).splitlines()


@pytest.mark.parametrize("width", [80, 120])
def test_one_busy_hour_still_shows_the_whole_day(width):
    out = lines(calls((3, 16, 9)), width)
    assert out[0] == "Calls by weekday x hour"
    assert out[1].split() == [f"{h:02d}" for h in range(24)]
    assert [line.split()[0] for line in out[2:]] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert out[5].split()[1:] == ["·"] * 16 + ["9"] + ["·"] * 7
    assert max(map(len, out)) <= width


def test_three_digit_counts_fit_120_as_numbers_and_80_as_shades():
    grid = calls((0, 9, 250), (4, 17, 120))
    wide = lines(grid, 120)
    assert wide[2].split()[10] == "250" and max(map(len, wide)) <= 120
    narrow = lines(grid, 80)
    assert narrow[0] == "Calls by weekday x hour (█ = 250 calls)" and max(map(len, narrow)) <= 80
    assert narrow[2].split()[10] == "██" and narrow[6].split()[18] == "▒▒"


def test_a_narrow_terminal_gets_the_hours_that_had_calls():
    out = lines(calls((0, 9, 3), (6, 14, 5)), 40)
    assert out[1].split() == ["09", "10", "11", "12", "13", "14"] and max(map(len, out)) <= 40
