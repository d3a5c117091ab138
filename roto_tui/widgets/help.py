"""The `?` overlay listing every key, and the panel shown when a unit refuses the credentials."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from roto_tui.widgets.lists import VI_KEYS

KEY_NAMES = {
    "slash": "/",
    "question_mark": "?",
    "plus,equals_sign": "+",
    "minus": "-",
    "enter": "Enter",
    "left": "←↑↓→",
}


def key_name(binding: Binding) -> str:
    """The key itself (a footer's key_display may stand for a group of keys, such as 1-4)."""
    return KEY_NAMES.get(binding.key, binding.key)


def help_table(sections: Iterable[tuple[str, Iterable[Binding]]]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for title, bindings in sections:
        table.add_row(f"[b]{title}[/b]", "")
        for binding in bindings:
            if binding.description or binding.tooltip:
                table.add_row(key_name(binding), binding.tooltip or binding.description)
    vi = [b for b in VI_KEYS if isinstance(b, Binding)]
    table.add_row("[b]Lists[/b]", "")
    table.add_row(" ".join(b.key for b in vi), ", ".join(b.description.lower() for b in vi))
    table.add_row("ctrl+p", "command palette: every action by name")
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 76; max-height: 100%; height: auto; border: thick $accent;
                                   background: $surface; padding: 0 1; }
    """

    def __init__(self, sections: list[tuple[str, list[Binding]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_subtitle = "Esc or ? closes"
            yield Static(help_table(self.sections), id="keys")

    def action_close(self) -> None:
        self.dismiss(None)


def access_advice(base: str, loopback: bool, sent: bool = True) -> str:
    local = (
        "On the unit itself roto-tui reads the token from the server's data folder "
        "(credentials.json; give --data-dir if the server uses another folder). "
        if loopback
        else ""
    )
    if sent:
        what = f"[b red]{base} refused the credentials (HTTP 401).[/]\n\n"
        why = "roto-tui stopped retrying: the same credentials would be refused again.\n"
    else:
        what = f"[b red]{base} needs credentials (HTTP 401), and roto-tui had none to send.[/]\n\n"
        why = "No --token or --user was given" + (" and no credentials.json was found.\n" if loopback else ".\n")
    return (
        what + why + "Start it again with [b]--token TOKEN[/b] (the API token roto-server printed at its first start) "
        f"or [b]--user admin --password PW[/b]. {local}\n\n"
        "[dim]Esc closes this panel, q quits.[/]"
    )


class AccessScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "close", "Close"), Binding("q", "app.quit", "Quit")]
    DEFAULT_CSS = """
    AccessScreen { align: center middle; }
    AccessScreen > Static { width: 72; height: auto; border: thick $error; background: $surface; padding: 1 2; }
    """

    def __init__(self, advice: str) -> None:
        super().__init__()
        self.advice = advice

    def compose(self) -> ComposeResult:
        yield Static(self.advice, id="advice")

    def action_close(self) -> None:
        self.dismiss(None)
