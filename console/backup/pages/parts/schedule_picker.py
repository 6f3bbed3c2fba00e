"""A schedule as people set it: every day, every week on a day, or every month on a day, at a time; or a crontab.

The picker shows the fields its kind needs and says the result as a sentence under them ("Every Sunday at 03:00");
`value` is the crontab the target stores.
"""

from __future__ import annotations

from nicegui import ui

from appliance.i18n import _
from console.backup import services


class SchedulePicker:
    """One schedule field of the target dialog (`marker` marks the whole field for tests)."""

    def __init__(self, label: str, cron: str, marker: str) -> None:
        simple = services.parse_simple(cron) or services.Simple('custom', 2, 0)
        kinds = {kind: _(text) for kind, text in services.KIND_LABELS.items()}
        days = dict(services.weekday_names())
        with ui.column().classes('w-full gap-1').mark(marker):
            ui.label(label).classes('text-sm font-medium')
            with ui.row().classes('items-end gap-2 w-full no-wrap'):
                self.kind = ui.select(kinds, value=simple.kind).props('dense').classes('w-36').mark(f'{marker}-kind')
                self.weekday = ui.select(days, value=simple.weekday).props('dense').classes('w-32')
                self.weekday.mark(f'{marker}-weekday')
                self.day = ui.number(_('Day'), value=simple.day, min=1, max=28, precision=0).props('dense')
                self.day.classes('w-20').mark(f'{marker}-day')
                self.time = ui.input(_('Time'), value=simple.time).props('dense type=time').classes('w-28')
                self.time.mark(f'{marker}-time')
            self.custom = (
                ui.input(_('Crontab: minute hour day month weekday'), value=cron if simple.kind == 'custom' else '')
                .props('dense')
                .classes('w-full font-mono')
                .mark(f'{marker}-cron')
            )
            self.sentence = ui.label().classes('text-xs text-grey-7').mark(f'{marker}-sentence')
        for element in (self.kind, self.weekday, self.day, self.time, self.custom):
            element.on_value_change(self._show)
        self._show()

    @property
    def value(self) -> str:
        """The crontab the fields make (what the service checks and stores)."""
        kind = self.kind.value
        if kind == 'custom':
            return str(self.custom.value or '').strip()
        hour, _sep, minute = str(self.time.value or '').partition(':')
        if not (hour.isdigit() and minute.isdigit()):
            return str(self.time.value or '')  # not a time: the service refuses it with a sentence
        weekday = int(self.weekday.value or 0)
        day = int(self.day.value or 1)
        return services.Simple(kind, int(hour), int(minute), weekday=weekday, day=day).crontab()

    def _show(self) -> None:
        kind = self.kind.value
        self.weekday.set_visibility(kind == 'weekly')
        self.day.set_visibility(kind == 'monthly')
        self.time.set_visibility(kind != 'custom')
        self.custom.set_visibility(kind == 'custom')
        value = self.value
        self.sentence.set_text(services.describe_schedule(value) if value else '')
