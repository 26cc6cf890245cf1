"""Flask-WTF forms of the accounts' pages (CSRF comes with every one)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from accounts.rules import LEAST_PRIVILEGED_ROLE, ORG_KIND_NAMES, ROLE_NAMES, TOKEN_DEFAULT_DAYS, TOKEN_MAX_DAYS

ROLE_LABELS = {str(k): _l(v) for k, v in ROLE_NAMES.items()}
ORG_KIND_LABELS = {str(k): _l(v) for k, v in ORG_KIND_NAMES.items()}


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class PasswordForm(FlaskForm):
    old_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)])
    days = IntegerField(_l("Valid for (days)"), default=TOKEN_DEFAULT_DAYS,
                        validators=[Optional(), NumberRange(min=1, max=TOKEN_MAX_DAYS)])


class OrganisationForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k, v) for k, v in ORG_KIND_LABELS.items()])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    credit_code = StringField(_l("Unified social credit code"), validators=[Optional(), Length(max=18)])
    region = StringField(_l("Region"), validators=[Optional(), Length(max=100)])
    contact = StringField(_l("Contact"), validators=[Optional(), Length(max=200)])


class UserForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(_l("Role"), choices=[SelectChoice(k, v) for k, v in ROLE_LABELS.items()],
                       default=str(LEAST_PRIVILEGED_ROLE))
    organisation_id = SelectField(_l("Organisation"), coerce=int)
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(max=256)])


class UserEditForm(FlaskForm):
    display_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=100)])
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    organisation_id = SelectField(_l("Organisation"), coerce=int)
    role = SelectField(_l("Role"), choices=[SelectChoice(k, v) for k, v in ROLE_LABELS.items()])
    active = BooleanField(_l("Active"))


class PasswordResetForm(FlaskForm):
    confirm = HiddenField(default="reset", validators=[DataRequired()])


class OrganisationEditForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k, v) for k, v in ORG_KIND_LABELS.items()])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    credit_code = StringField(_l("Unified social credit code"), validators=[Optional(), Length(max=18)])
    region = StringField(_l("Region"), validators=[Optional(), Length(max=100)])
    contact = StringField(_l("Contact"), validators=[Optional(), Length(max=200)])


class ToggleForm(FlaskForm):
    active = BooleanField()


class RoleRequestForm(FlaskForm):
    change = SelectField(_l("Change"), choices=[SelectChoice("grant", _l("Grant the role")),
                                                SelectChoice("remove", _l("Remove the custodian role"))])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])


class RoleDecisionForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[SelectChoice("approve", _l("Approve")),
                                                    SelectChoice("refuse", _l("Refuse"))])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])
