"""Flask-WTF forms of a key custodian's section of the account page (CSRF comes with every one)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length


class RecipientForm(FlaskForm):
    """A key custodian's age recipient, to seal a registration challenge to (``tender.custodians``)."""

    age_recipient = StringField(_l("Your age recipient (age1…)"), validators=[DataRequired(), Length(max=100)])


class ChallengeAnswerForm(FlaskForm):
    """What ``age -d`` printed of the challenge, which registers its recipient."""

    challenge = HiddenField(validators=[DataRequired()])
    answer = StringField(_l("What age printed (the challenge's text)"), validators=[DataRequired(), Length(max=200)])
