"""Modal editors for one state variable, chosen by its catalogue type."""

from __future__ import annotations

import json
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, TextArea
from textual.widgets.option_list import Option

from roto_shared.catalogue import Variable
from roto_tui.widgets.lists import NavOptionList

NO_CHANGE = object()


def _listed(options: Any) -> list[Any] | None:
    return None if options is None else list(options)


def choice_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class EditorScreen(ModalScreen[Any]):
    """Returns the new value (for relative variables: the wanted absolute value), or NO_CHANGE."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    EditorScreen { align: center middle; }
    EditorScreen > Vertical { width: 76; height: auto; max-height: 20; border: thick $accent; padding: 1 2;
                              background: $surface; }
    EditorScreen #error { color: $error; }
    EditorScreen Label { width: 100%; }
    EditorScreen TextArea { height: 8; }
    """

    def __init__(self, var: Variable, current: Any) -> None:
        super().__init__()
        self.var = var
        self.current = current
        # booleans are a choice of two as well: Enter on a row never writes without a look at the value
        self.options: list[Any] | None = [True, False] if var.accepts == "boolean" else _listed(var.options)

    def option_list(self) -> OptionList:
        assert self.options is not None
        current = next((i for i, o in enumerate(self.options) if o == self.current), None)
        shown = [
            Option(f"{'●' if i == current else ' '} {choice_text(o)}", id=str(i)) for i, o in enumerate(self.options)
        ]
        options = NavOptionList(*shown, id="choice")
        if current is not None:
            options.highlighted = current
        return options

    def compose(self) -> ComposeResult:
        var = self.var
        with Vertical():
            yield Label(f"[b]{var.name}[/b]  {var.description}")
            allowed = var.range_text()
            if allowed:
                yield Label(f"allowed: {allowed}" + (f" {var.unit}" if var.unit else ""))
            if var.relative:
                yield Label("enter the absolute value wanted; roto sends the difference")
            if self.options is not None:
                yield Label("● marks the current value; Enter chooses, Esc cancels")
                yield self.option_list()
            elif var.accepts == "object":
                yield TextArea(json.dumps(self.current, indent=1), id="json")
                yield Button("Save", id="save", variant="primary")
            else:
                kind = {"integer": "integer", "number": "number"}.get(var.accepts, "text")
                yield Input(str(self.current), type=kind, id="value", placeholder=allowed)  # type: ignore[arg-type]
            yield Label("", id="error")

    @on(OptionList.OptionSelected, "#choice")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        assert self.options is not None and event.option.id is not None
        self.dismiss(self.options[int(event.option.id)])

    @on(Input.Submitted, "#value")
    def _typed(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        try:
            value: Any = {"integer": int, "number": float}.get(self.var.accepts, str)(text)
        except ValueError:
            self.query_one("#error", Label).update(f"{text!r} is not a valid {self.var.accepts}")
            return
        self.dismiss(value)

    @on(Button.Pressed, "#save")
    def _saved(self) -> None:
        text = self.query_one("#json", TextArea).text
        try:
            value = json.loads(text)
        except ValueError as exc:
            self.query_one("#error", Label).update(f"not valid JSON: {exc}")
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(NO_CHANGE)


class ConfirmScreen(ModalScreen[bool]):
    AUTO_FOCUS = "#no"  # a reflexive Enter must not stop a recording
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("y", "confirm", "Yes")]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 64; height: auto; border: thick $warning; padding: 0 1; background: $surface; }
    ConfirmScreen Label { width: 100%; }  /* wraps a long question instead of cutting it */
    ConfirmScreen Horizontal { height: auto; }
    ConfirmScreen Button { margin: 1 1 0 0; }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question)
            with Horizontal():
                yield Button("Yes (y)", id="yes", variant="warning")
                yield Button("No (Esc)", id="no")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)


class TagScreen(ModalScreen[tuple[str, str] | None]):
    """Ask for a tag's title and note."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    TagScreen { align: center middle; }
    TagScreen > Vertical { width: 60; height: auto; border: thick $accent; padding: 1 2; background: $surface; }
    """

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Tag {self.where}")
            yield Input(placeholder="title", id="title")
            yield Input(placeholder="note (Enter to save)", id="note")

    @on(Input.Submitted, "#title")
    def _next(self) -> None:
        self.query_one("#note", Input).focus()

    @on(Input.Submitted, "#note")
    def _save(self) -> None:
        self.dismiss((self.query_one("#title", Input).value, self.query_one("#note", Input).value))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceScreen(ModalScreen[str | None]):
    """Pick one of several labelled ids."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    ChoiceScreen { align: center middle; }
    ChoiceScreen > Vertical { width: 64; height: auto; max-height: 18; border: thick $accent; padding: 1 2;
                              background: $surface; }
    """

    def __init__(self, title: str, choices: list[tuple[str, str]], current: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            marked = [Option(f"{'●' if key == self.current else ' '} {label}", id=key) for key, label in self.choices]
            options = NavOptionList(*marked, id="choices")
            keys = [key for key, _ in self.choices]
            if self.current in keys:
                options.highlighted = keys.index(self.current)
            yield options

    @on(OptionList.OptionSelected, "#choices")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
