"""The expert pool: one profile per expert account, with its specialties, employment history, declared relations,
unavailable periods and penalties.

The national ID is never stored in clear: ``national_id_hmac`` is HMAC-SHA256 under a key derived from the
platform's secret key (what makes duplicates refusable), ``national_id_masked`` what is shown."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime


class ExpertProfile(Base):
    __tablename__ = "experts_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id"), unique=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)  # the pseudonym E000123 is this number
    full_name: Mapped[str] = mapped_column(String(100))
    national_id_hmac: Mapped[str] = mapped_column(String(64), unique=True)
    national_id_masked: Mapped[str] = mapped_column(String(18))
    phone: Mapped[str] = mapped_column(String(32), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    region: Mapped[str] = mapped_column(String(6), index=True)  # GB/T 2260 administrative division code
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)  # active, suspended, retired
    suspended_until: Mapped[date | None] = mapped_column(Date)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    specialties: Mapped[list["ExpertSpecialty"]] = relationship(cascade="all, delete-orphan",
                                                                order_by="ExpertSpecialty.code")
    employments: Mapped[list["ExpertEmployment"]] = relationship(cascade="all, delete-orphan",
                                                                 order_by="ExpertEmployment.start")
    relations: Mapped[list["ExpertRelation"]] = relationship(cascade="all, delete-orphan",
                                                             order_by="ExpertRelation.id")
    unavailable: Mapped[list["ExpertUnavailable"]] = relationship(cascade="all, delete-orphan",
                                                                  order_by="ExpertUnavailable.start")
    penalties: Mapped[list["ExpertPenalty"]] = relationship(cascade="all, delete-orphan",
                                                            order_by="ExpertPenalty.start")

    @property
    def pseudonym(self) -> str:
        from experts.rules import pseudonym

        return pseudonym(self.number)


class ExpertSpecialty(Base):
    __tablename__ = "experts_specialty"
    __table_args__ = (UniqueConstraint("profile_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("experts_profile.id"), index=True)
    code: Mapped[str] = mapped_column(String(100), index=True)


class ExpertEmployment(Base):
    __tablename__ = "experts_employment"

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("experts_profile.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("core_organisation.id"), index=True)
    employer: Mapped[str] = mapped_column(String(200))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)


class ExpertRelation(Base):
    __tablename__ = "experts_relation"

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("experts_profile.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # organisation, person
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("core_organisation.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"), index=True)
    description: Mapped[str] = mapped_column(String(200), default="")


class ExpertUnavailable(Base):
    __tablename__ = "experts_unavailable"

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("experts_profile.id"), index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    end: Mapped[datetime] = mapped_column(UTCDateTime())


class ExpertPenalty(Base):
    __tablename__ = "experts_penalty"

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("experts_profile.id"), index=True)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
