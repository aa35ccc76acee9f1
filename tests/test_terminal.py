"""What reaches the terminal: stored text as plain text, and tables that fit the width they are given."""
import pytest
from rich.console import Console
from rich.text import Text

from pyclowder_jobs.tools.terminal import Column, clean, counted, fitted_table, short, text

#: Stored values that must reach the screen as inert text.
HOSTILE = {
    "markup closing a tag never opened": "[/bold]",
    "markup that would style": "[i]x[/i]",
    "OSC 52 (write the clipboard)": "\x1b]52;c;ZXZpbA==\x07",
    "OSC 0 (window title)": "\x1b]0;title\x07",
    "CSI 2J (clear the screen)": "\x1b[2J",
    "OSC 8 hyperlink": "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\",
    "lone surrogate": "\ud800",
    "C1 CSI": "\x9b31m",
}


@pytest.mark.parametrize("value", HOSTILE.values(), ids=list(HOSTILE))
def test_clean_leaves_no_control_character_and_no_surrogate(value):
    cleaned = clean("a" + value + "b")

    assert cleaned.startswith("a") and cleaned.endswith("b")
    assert not any(ord(char) < 32 or 127 <= ord(char) < 160 or 0xD800 <= ord(char) <= 0xDFFF for char in cleaned)
    cleaned.encode("utf-8")


def test_clean_keeps_the_visible_text_of_a_hyperlink_and_drops_its_target():
    assert clean("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\") == "link"


def test_clean_drops_an_unterminated_string_sequence_to_the_end():
    assert clean("ok\x1b]52;c;ZXZpbA==") == "ok"


def test_clean_keeps_markup_as_text():
    assert clean("[i]x[/i] [/bold]") == "[i]x[/i] [/bold]"


def test_clean_makes_line_breaks_spaces_unless_lines_are_asked_for():
    assert clean("one\ntwo\tthree\r\n") == "one two three "
    assert clean("one\r\ntwo", lines=True) == "one\ntwo"


def test_clean_drops_bidirectional_overrides():
    assert clean("abc\u202edcba") == "abcdcba"


def test_clean_replaces_a_lone_surrogate():
    assert clean("x\udc80y") == "x\ufffdy"


def test_text_is_never_read_as_markup():
    console = Console(width=80, record=True, color_system=None)
    console.print(text("[i]x[/i] [/bold]"))

    assert console.export_text().strip() == "[i]x[/i] [/bold]"


def test_short_is_the_first_eight_characters_of_the_cleaned_id():
    assert short("\x1b[2Ja759b638-1b8a-4056") == "a759b638"


def test_counted_says_one_job_and_two_jobs():
    assert (counted(1, "job"), counted(2, "job"), counted(0, "job")) == ("1 job", "2 jobs", "0 jobs")


COLUMNS = (Column("job"), Column("status"), Column("extractor", 1), Column("attempts", 2, "right"),
           Column("message", 3, wraps=(12, 40)), Column("resource", 4))
ROW = ["6b02dcb63b85bf8de0f68fdc", "SUCCEEDED", "pyclowder-jobs.demo", 2,
       "a message long enough to need wrapping in a narrow column", "6b02dcb6c508a82b4932f8a6"]


def draw(table, width):
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def headers(output):
    """The line of column headers (the first line that names the first column)."""
    return next(line for line in output.splitlines() if " job " in line)


@pytest.mark.parametrize("width", [60, 80, 100, 120, 160])
def test_a_fitted_table_fits_and_cuts_neither_ids_nor_headers(width):
    table = fitted_table(COLUMNS, [ROW], width=width)
    output = draw(table, width)

    assert max(len(line) for line in output.splitlines()) <= width
    assert "6b02dcb63b85bf8de0f68fdc" in output and "SUCCEEDED" in output
    shown = [column.header for column in table.columns]
    assert shown[:2] == ["job", "status"]
    assert all(name in headers(output) for name in shown)
    assert "…" not in output


def test_the_least_important_columns_give_way_first():
    shown = [column.header for column in fitted_table(COLUMNS, [ROW], width=80).columns]

    assert shown == ["job", "status", "extractor", "attempts"]


def test_columns_left_out_are_named_under_the_table():
    output = draw(fitted_table(COLUMNS, [ROW], width=80), 80)

    assert "not shown: message, resource (--wide)" in output


def test_free_text_wraps_inside_its_column_when_room_is_short():
    output = draw(fitted_table(COLUMNS[:2] + COLUMNS[4:5], [ROW[:2] + ROW[4:5]], width=60), 60)

    assert "a message long" in output and "narrow column" in output
    assert max(len(line) for line in output.splitlines()) <= 60


def test_without_a_width_every_column_is_shown_and_the_table_says_how_wide_it_is():
    table = fitted_table(COLUMNS, [ROW], width=None)
    output = draw(table, table.needed)

    assert [column.header for column in table.columns] == [column.name for column in COLUMNS]
    assert max(len(line) for line in output.splitlines()) == table.needed
    assert "not shown" not in output


def test_an_empty_column_gives_way_before_one_with_something_in_it():
    columns = (Column("job"), Column("wait", 1), Column("run", 2))
    shown = [column.header for column in
             fitted_table(columns, [["6b02dcb63b85bf8de0f68fdc", "", "1.2 s"]], width=37).columns]

    assert shown == ["job", "run"]


def test_hostile_cells_are_printed_as_text():
    output = draw(fitted_table((Column("name"),), [[value] for value in HOSTILE.values()], width=None), 80)

    assert "[/bold]" in output and "[i]x[/i]" in output and "link" in output
    assert "\x1b" not in output and "\x9b" not in output and "\x07" not in output


def test_a_cell_that_is_already_text_keeps_its_style():
    table = fitted_table((Column("status"),), [[Text("FAILED", style="red")]], width=40)

    assert table.columns[0]._cells[0].style == "red"
