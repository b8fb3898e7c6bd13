"""The one-line title at the top of every screen: the screen's title (or the app's) and its
sub-title.

Textual's Header updates itself from an awaited watcher that runs a moment after the change;
when a screen closes in that moment (quick navigation, a busy machine) the Header has lost its
children and the app dies with NoMatches. This bar updates synchronously, when the title does.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import Static


class TitleBar(Widget):
    DEFAULT_CSS = """
    TitleBar { dock: top; height: 1; background: $panel; }
    TitleBar > Static { width: 1fr; text-align: center; text-style: bold; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="title-text")

    def on_mount(self) -> None:
        screen = self.screen
        self.watch(screen, "title", self._retitle)
        self.watch(screen, "sub_title", self._retitle)
        self.watch(self.app, "title", self._retitle)

    def _retitle(self, _: object = None) -> None:
        try:
            screen = self.screen
            title = screen.title or self.app.title
            sub = screen.sub_title
            self.query_one("#title-text", Static).update(f"{title} — {sub}" if sub else title)
        except NoMatches:  # closing: nothing left to show it in
            pass

    @property
    def text(self) -> str:
        """What the bar shows."""
        title = self.screen.title or self.app.title
        sub = self.screen.sub_title
        return f"{title} — {sub}" if sub else title
