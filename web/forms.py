"""The console's forms; every one carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

import math
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    Field,
    FloatField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from monitor.connectors.base import KINDS as SOURCE_KINDS
from monitor.users import MAX_USERNAME_LENGTH
from monitor.vocabulary import Dimension, Direction, Level, Role, Severity
from web.i18n import LANGUAGE_NAMES, SUPPORTED_LOCALES
from web.labels import label

NOTE_LENGTH = 2000
MAX_MIN_PERIODS = 36


class LoginForm(FlaskForm):
    username = StringField(
        _l("User name"),
        validators=[InputRequired(_l("Enter your user name.")), Length(max=MAX_USERNAME_LENGTH)],
    )
    password = PasswordField(_l("Password"), validators=[InputRequired(_l("Enter your password."))])
    next = HiddenField()


class LogoutForm(FlaskForm):
    """Logging out is a POST, so another site cannot log a user out."""


class LanguageForm(FlaskForm):
    locale = HiddenField(validators=[AnyOf(SUPPORTED_LOCALES)])
    next = HiddenField()


class AcknowledgeForm(FlaskForm):
    assignee = StringField(
        _l("Assignee (optional; you by default)"),
        id="acknowledge-assignee",
        validators=[Optional(), Length(max=MAX_USERNAME_LENGTH)],
    )
    note = TextAreaField(
        _l("Response taken (optional)"),
        id="acknowledge-note",
        validators=[Optional(), Length(max=NOTE_LENGTH, message=_l("The note is too long."))],
    )


class ResolveForm(FlaskForm):
    note = TextAreaField(
        _l("Resolution note (optional)"),
        id="resolve-note",
        validators=[Optional(), Length(max=NOTE_LENGTH, message=_l("The note is too long."))],
    )


def _finite(_form: FlaskForm, field: Field) -> None:
    if field.data is not None and not math.isfinite(field.data):
        raise ValidationError(_l("Enter a finite number."))


def _cutoff(name: Any) -> FloatField:
    return FloatField(
        name,
        validators=[InputRequired(_l("Enter a number.")), _finite],
        render_kw={"step": "any", "inputmode": "decimal"},
    )


#: Refusal of a direction other than its fixed one, for a row of a model scoring towards risk.
FIXED_DIRECTION_ERROR = _l(
    "This model's cut-offs always rise: its direction must be “higher is riskier”."
)


class ThresholdForm(FlaskForm):
    """The editable part of a threshold row; cut-off order is checked by ``web.cutoffs``.

    A row whose model fixes its direction (``fixed_direction``, see
    :func:`monitor.scoring.fixed_direction`) accepts that direction only.
    """

    direction = SelectField(_l("Direction"), validators=[Optional()])
    blue = _cutoff(_l("Blue warning"))
    yellow = _cutoff(_l("Yellow warning"))
    orange = _cutoff(_l("Orange warning"))
    red = _cutoff(_l("Red warning"))
    clear = FloatField(
        _l("Clearing level (optional)"),
        validators=[Optional(), _finite],
        render_kw={"step": "any", "inputmode": "decimal"},
    )
    min_periods = IntegerField(
        _l("Consecutive periods before firing"),
        validators=[
            InputRequired(_l("Enter a number.")),
            NumberRange(
                min=1,
                max=MAX_MIN_PERIODS,
                message=_l("Enter a whole number from %(min)s to %(max)s."),
            ),
        ],
    )

    reason = TextAreaField(
        _l("Reason for the change"),
        id="threshold-reason",
        validators=[
            InputRequired(_l("Say why the thresholds change.")),
            Length(max=NOTE_LENGTH, message=_l("The reason is too long.")),
        ],
    )

    def __init__(
        self,
        *args: Any,
        inherited_direction: str | None = None,
        fixed_direction: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fixed_direction = fixed_direction
        if fixed_direction:
            self.direction.validators = []  # not optional: empty is refused too
            if not self.is_submitted():
                self.direction.data = fixed_direction  # whatever an older row stored
        if inherited_direction:
            own = label("direction", inherited_direction)
            inherit = gettext("The indicator's own (%(direction)s)", direction=own)
        else:
            inherit = gettext("Each indicator's own")
        self.direction.choices = [("", inherit)] + [
            (value.value, label("direction", value)) for value in Direction
        ]

    def validate_direction(self, field: SelectField) -> None:
        if self.fixed_direction and field.data != self.fixed_direction:
            raise ValidationError(FIXED_DIRECTION_ERROR)


class RestoreForm(FlaskForm):
    reason = StringField(
        _l("Reason for restoring"),
        validators=[
            InputRequired(_l("Say why the thresholds change.")),
            Length(max=NOTE_LENGTH, message=_l("The reason is too long.")),
        ],
    )


class BulkAcknowledgeForm(FlaskForm):
    note = StringField(
        _l("Response taken (optional)"),
        id="bulk-note",
        validators=[Optional(), Length(max=NOTE_LENGTH, message=_l("The note is too long."))],
    )


class RunNowForm(FlaskForm):
    """Running a source now is a POST with a CSRF token."""


class BackfillForm(FlaskForm):
    """A backfill: the periods to pull again and rescore, and which sources."""

    first = StringField(
        _l("From (YYYY-MM)"),
        validators=[InputRequired(_l("Enter the first period.")), Length(max=7)],
    )
    last = StringField(
        _l("To (YYYY-MM)"), validators=[InputRequired(_l("Enter the last period.")), Length(max=7)]
    )
    sources = SelectMultipleField(_l("Sources (none chosen: every enabled source)"))


class SourceForm(FlaskForm):
    """A source as an admin sets it up: where and how to pull it, when, and why changed.

    ``options`` is the connector's settings as JSON (code map, response mapping, query,
    header variable names); the view checks them with the rest through
    ``monitor.sources`` and puts any refusal on the form.
    """

    name = StringField(_l("Name"), validators=[InputRequired(_l("Enter a name.")), Length(max=100)])
    kind = SelectField(_l("Kind"))
    location = StringField(
        _l("File, folder, URL or database address"), validators=[Optional(), Length(max=2000)]
    )
    cron = StringField(
        _l("Schedule (cron, Beijing time; empty: manual)"),
        validators=[Optional(), Length(max=100)],
    )
    policy = SelectField(_l("Bad rows"))
    enabled = BooleanField(_l("Enabled"), default=True)
    options = TextAreaField(
        _l("Connector settings (JSON)"),
        validators=[Optional(), Length(max=100_000)],
        description=_l("Code map, response mapping, query, header variable names."),
    )
    reason = TextAreaField(
        _l("Reason for the change"),
        validators=[InputRequired(_l("Give a reason for the change.")), Length(max=2000)],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = [(kind, kind) for kind in SOURCE_KINDS if kind != "demo"]
        self.policy.choices = [
            ("quarantine", _l("Quarantine bad rows, store the rest")),
            ("fail", _l("Fail the whole run")),
        ]


class ResendForm(FlaskForm):
    """Re-sending a dead letter is a POST with a CSRF token; ``next`` is where to return."""

    next = HiddenField()


class UploadForm(FlaskForm):
    source = SelectField(_l("Source"), validators=[InputRequired(_l("Choose a source."))])
    file = FileField(
        _l("CSV or Excel file"), validators=[FileRequired(_l("Choose a file to upload."))]
    )


class NewUserForm(FlaskForm):
    username = StringField(
        _l("User name"),
        id="new-username",
        validators=[InputRequired(_l("Enter a user name.")), Length(max=MAX_USERNAME_LENGTH)],
    )
    role = SelectField(_l("Role"), default=Role.VIEWER.value)
    password = PasswordField(
        _l("Password (leave empty to generate one)"),
        id="new-password",
        validators=[Optional(), Length(min=8, message=_l("At least 8 characters."))],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = [(role.value, label("role", role.value)) for role in Role]


class UserActionForm(FlaskForm):
    value = HiddenField(validators=[InputRequired()])


class ChannelForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(_l("Enter a name.")), Length(max=100)])
    kind = SelectField(_l("Kind"))
    target = StringField(
        _l("Email address or URL"),
        validators=[InputRequired(_l("Enter an email address or URL.")), Length(max=2000)],
    )
    secret = StringField(_l("Signing secret (optional)"), validators=[Optional(), Length(max=500)])
    locale = SelectField(_l("Language of the messages"), default=SUPPORTED_LOCALES[0])
    min_severity = SelectField(_l("Minimum colour"))
    regions = StringField(
        _l("Region codes"),
        id="channel-regions",
        validators=[Optional(), Length(max=2000)],
        description=_l("Codes separated by commas or spaces."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.locale.choices = [(code, LANGUAGE_NAMES[code]) for code in SUPPORTED_LOCALES]
        self.min_severity.choices = [
            (severity.value, label("severity", severity.value)) for severity in Severity
        ]


CODES_LENGTH = 2000
PLAYBOOK_LENGTH = 10000
RECURRENCE_LABELS = {
    "": _l("Does not repeat"),
    "yearly": _l("Every year"),
    "monthly": _l("Every month"),
    "weekly": _l("Every week"),
    "festival": _l("Every year, moving with the Spring Festival"),
}


def _codes(text: Any) -> StringField:
    return StringField(
        text,
        validators=[Optional(), Length(max=CODES_LENGTH)],
        description=_l("Codes separated by commas or spaces."),
    )


class SilenceForm(FlaskForm):
    """A new silence: matchers, a window in Beijing time, an optional recurrence, a reason.

    Codes are resolved to ids by the view, which adds an error to the field for any
    code it does not know.
    """

    levels = SelectMultipleField(_l("Levels"), validators=[Optional()])
    dimensions = SelectMultipleField(_l("Dimensions"), validators=[Optional()])
    regions = _codes(_l("Region codes"))
    clusters = _codes(_l("Cluster codes"))
    entities = _codes(_l("Entity codes"))
    indicators = _codes(_l("Indicator codes"))
    starts_at = DateTimeLocalField(
        _l("Starts (Beijing time)"), validators=[InputRequired(_l("Enter a start time."))]
    )
    ends_at = DateTimeLocalField(
        _l("Ends (Beijing time)"), validators=[InputRequired(_l("Enter an end time."))]
    )
    recurrence = SelectField(_l("Repeats"), validators=[Optional()])
    repeat_until = DateTimeLocalField(_l("Repeat until (optional)"), validators=[Optional()])
    reason = TextAreaField(
        _l("Reason"),
        id="silence-reason",
        validators=[
            DataRequired(_l("Say why these alerts are silenced.")),
            Length(max=NOTE_LENGTH, message=_l("The reason is too long.")),
        ],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.levels.choices = [(level.value, label("level", level)) for level in Level]
        self.dimensions.choices = [
            (dimension.value, label("dimension", dimension)) for dimension in Dimension
        ]
        self.recurrence.choices = [(value, str(text)) for value, text in RECURRENCE_LABELS.items()]


class PlaybookForm(FlaskForm):
    """The response playbook of one dimension × level; the Chinese text is required."""

    text_zh = TextAreaField(
        _l("Response (Chinese)"),
        validators=[
            DataRequired(_l("Write the response in Chinese.")),
            Length(max=PLAYBOOK_LENGTH, message=_l("The text is too long.")),
        ],
    )
    text_en = TextAreaField(
        _l("Response (English, optional)"),
        validators=[Optional(), Length(max=PLAYBOOK_LENGTH, message=_l("The text is too long."))],
    )


def _seconds(text: Any) -> IntegerField:
    return IntegerField(
        text,
        validators=[
            InputRequired(_l("Enter a whole number.")),
            NumberRange(min=0, message=_l("At least %(min)s.")),
        ],
    )


def _count(text: Any) -> IntegerField:
    return IntegerField(
        text,
        validators=[
            InputRequired(_l("Enter a whole number.")),
            NumberRange(min=1, message=_l("At least %(min)s.")),
        ],
    )


class PolicyForm(FlaskForm):
    """The alerting timings and limits (``alerts.policy.AlertPolicy``); repeat in hours."""

    group_wait_seconds = _seconds(_l("Group wait (seconds)"))
    group_interval_seconds = _seconds(_l("Group interval (seconds)"))
    repeat_interval_hours = _count(_l("Repeat an unacknowledged alert after (hours)"))
    flap_max_changes = _count(_l("Flapping: more state changes than"))
    flap_window_periods = _count(_l("Flapping: within this many periods"))
    flap_quiet_periods = _count(_l("Flapping: settled after this many quiet periods"))
    stale_after_monthly = _count(_l("Stale after missed monthly periods"))
    stale_after_quarterly = _count(_l("Stale after missed quarterly periods"))
    stale_after_annual = _count(_l("Stale after missed annual periods"))


def _severity_choices() -> list[tuple[str, str]]:
    return [(severity.value, label("severity", severity.value)) for severity in Severity]


def _level_choices() -> list[tuple[str, str]]:
    return [(level.value, label("level", level)) for level in Level]


class RouteForm(FlaskForm):
    """A route: which alerts (matchers) go to which channel, in position order.

    The view fills the channel choices and resolves region and cluster codes to ids.
    """

    name = StringField(
        _l("Name"),
        id="route-name",
        validators=[InputRequired(_l("Enter a name.")), Length(max=100)],
    )
    channel = SelectField(_l("Channel"), coerce=int)
    position = IntegerField(_l("Position (lower first)"), default=0, validators=[Optional()])
    levels = SelectMultipleField(_l("Levels"), id="route-levels", validators=[Optional()])
    dimensions = SelectMultipleField(
        _l("Dimensions"), id="route-dimensions", validators=[Optional()]
    )
    regions = _codes(_l("Region codes"))
    clusters = _codes(_l("Cluster codes"))
    min_severity = SelectField(_l("Minimum colour"), id="route-min-severity")
    continue_matching = BooleanField(_l("Go on to later routes after a match"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.levels.choices = _level_choices()
        self.dimensions.choices = [
            (dimension.value, label("dimension", dimension)) for dimension in Dimension
        ]
        self.min_severity.choices = _severity_choices()


class InhibitRuleForm(FlaskForm):
    """An inhibition rule: open warnings at one level mute notices at another."""

    name = StringField(_l("Name (optional)"), id="rule-name", validators=[Length(max=200)])
    source_level = SelectField(_l("A warning at level"))
    target_level = SelectField(_l("mutes the notices of level"))
    equal_dimension = BooleanField(_l("Only of the same dimension"), default=True)
    same_region = BooleanField(_l("Only inside its region or cluster"), default=True)
    source_min_severity = SelectField(_l("When the warning is at least"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.source_level.choices = _level_choices()
        self.target_level.choices = _level_choices()
        self.source_min_severity.choices = _severity_choices()
