"""Untrusted text on the terminal: one clean line, nothing a terminal would obey."""

from __future__ import annotations

from spendwatch.render import one_line, plain, terminal_escape


def test_ascii_and_c1_controls_and_bidi_overrides_are_removed():
    # ESC [ 2 J clears a screen; U+009B is the one-character CSI; U+202E flips the text after it.
    evil = "gpt\x1b[2J-4o\x9b31m\u202eevil\u2066x\u2069\x07"
    assert plain(evil) == "gpt[2J-4o31mevilx"


def test_line_breaks_become_spaces_on_one_line_and_in_table_cells():
    text = "line one\nline two\r\n\tthree\u2028four"
    assert one_line(text) == "line one line two three four"
    assert terminal_escape(text) == "line one line two three four"


def test_rich_markup_is_escaped_for_tables_only():
    assert terminal_escape("[red]x[/red]") == "\\[red]x\\[/red]"
    assert one_line("[red]x") == "[red]x"
