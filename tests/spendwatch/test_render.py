"""Terminal output: untrusted text as one clean line, money and unit prices, and tables that fit their width."""

from __future__ import annotations

from decimal import Decimal as D

from spendwatch.render import Col, money, number, one_line, plain, render_rows, render_table, terminal_escape, unit_price, wrap


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


# --- figures --------------------------------------------------------------------------------

def test_money_has_its_symbol_and_separators():
    assert money(D("1444.26"), "GBP") == "£1,444.26"
    assert money(D("-1234567.891"), "USD") == "-$1,234,567.89"
    assert money(D("3"), "CHF") == "3.00 CHF"
    assert money(None, "GBP") == "—"


def test_unit_prices_show_their_significant_digits():
    # DECIMAL(38,12) as stored: 0.340000000000 is $0.34, never 12 decimals; at least cents, every digit that counts
    assert unit_price(D("0.340000000000"), "USD", "hour") == "$0.34/hour"
    assert unit_price(D("0.000001250000"), "USD", "token") == "$0.00000125/token"
    assert unit_price(D("2.117"), "USD") == "$2.117"
    assert unit_price(D("1444.2600"), "GBP", "month") == "£1,444.26/month"
    assert number(D("200.590000")) == "200.59" and number(D("1234.5"), 2) == "1,234.50"


# --- tables ---------------------------------------------------------------------------------

ROWS = [("vision", "serverless H100 for the batch embedding jobs of the search index", money(D("287.62"), "GBP"),
         money(D("1234567.80"), "GBP"), "a note nobody needs")]
COLS = [Col("team", priority=0), Col("what it was", priority=1), Col("saving", "money", 0), Col("spend", "money", 2),
        Col("note", priority=3)]


def test_a_table_fits_its_width_and_never_cuts_money():
    for width in (60, 80, 100, 120):
        text = render_table(COLS, ROWS, "savings", width=width)
        assert all(len(line) <= width for line in text.splitlines()), (width, text)
        assert "£287.62" in text  # priority 0: always there, whole
    # 80 columns: team (6) + saving (7) + spend (13) + what (>= 12) + note (>= 12) + borders (3 x 5 + 1) fit
    assert "£1,234,567.80" in render_table(COLS, ROWS, width=80)


def test_columns_go_by_priority_and_the_table_says_which():
    # 40 columns: borders of 3 columns (10) + team 6 + saving 7 leave 17 for the text: spend (13 + 3) would not fit
    text = render_table(COLS, ROWS, width=40)
    assert "£287.62" in text and "£1,234,567.80" not in text and "a note" not in text
    assert "not shown at 40 columns: spend, note" in " ".join(text.split())


def test_text_wraps_at_spaces_and_headers_never_break_mid_word():
    text = render_table([Col("GPU class", priority=0), Col("recommendation")],
                        [("H100", "use the spare capacity of gg-4090-01 and save £470.32 a month")], width=40)
    assert all(len(line) <= 40 for line in text.splitlines())
    assert "recommendation" in text  # the header whole, on one line
    assert "£470.32" in text         # a money figure inside text never folds
    assert "GPU" in text and "class" in text


def test_cells_are_untrusted_text():
    text = render_table(["name"], [("evil\x1b[2J\u202e[red]x[/red]\nfake row",)], width=60)
    assert "\x1b" not in text and "\u202e" not in text and "[red]x[/red] fake row" in text


def test_json_and_csv_keep_the_values_as_stored():
    rows = [("gpu", D("0.340000000000"))]
    assert '"price": "0.340000000000"' in render_rows([Col("what"), Col("price", "money")], rows, "json")
    assert render_rows(["what", "price"], rows, "csv").splitlines()[1] == "gpu,0.340000000000"


def test_plain_lines_wrap_at_spaces_with_their_indent():
    line = "  rate:   tracked prices converted to GBP at the latest ECB rate of 2026-10-30, cost £1,234.56"
    out = wrap(line, 40).splitlines()
    assert all(len(x) <= 40 for x in out) and out[0].startswith("  rate:") and out[1].startswith("    ")
    assert "£1,234.56" in "\n".join(out)
