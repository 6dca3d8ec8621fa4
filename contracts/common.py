"""Types shared by every event module: enums of the programme's vocabulary and constrained strings.

Enums are ``Literal`` types so the JSON Schema carries the allowed values inline, and consumers in
any language see them without following references.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from contracts.envelope import EventData

#: The four service tracks of the programme (母婴, 家政, 养老, 医疗护理).
Track = Literal["maternal_infant", "housekeeping", "elderly_care", "medical_nursing"]

#: Zhaoqing's eight county-level divisions, plus ``other`` for people from elsewhere.
County = Literal[
    "duanzhou", "dinghu", "gaoyao", "sihui", "guangning", "huaiji", "fengkai", "deqing", "other"
]

#: Roles of people (and partner platforms and government agencies) on the platform.
Role = Literal[
    "worker", "employer", "company", "institution", "officer", "partner", "agency", "admin"
]

#: Life cycle of a worker's record in the registry.
WorkerStatus = Literal["registered", "verified", "active", "suspended", "left"]

#: Where an employer household or a partner platform is based.
City = Literal["zhaoqing", "guangzhou", "shenzhen", "hong_kong", "macau", "other"]

#: How a worker is attached to a company (员工制 vs 中介制).
EmploymentKind = Literal["employee_based", "agency_based"]

# Ids are time-ordered UUIDs (DESIGN.md §2) in canonical text form.
Id = Annotated[
    str,
    Field(
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        json_schema_extra={"format": "uuid"},
    ),
]

#: A human-readable name (person, company, course).
Name = Annotated[str, Field(min_length=1, max_length=200)]

#: A language or dialect, e.g. ``cantonese``, ``mandarin``, ``hakka``.
Language = Annotated[str, Field(min_length=1, max_length=32)]

#: The account id of whoever did something, or ``system`` for automatic changes.
Actor = Annotated[str, Field(min_length=1, max_length=64)]

# Only masked forms ever travel on the bus (DESIGN.md §2); the patterns reject plaintext numbers.
# ``[0-9]`` rather than ``\d``: the regex engine treats ``\d`` as any Unicode digit.
#: A masked resident ID number: the last four characters (``**************123X``). Events
#: written before 2026-12 carry the region too (``441202********123X``); both validate so a
#: replay of the streams still reads them.
IdCardMasked = Annotated[str, Field(pattern=r"^(?:[0-9]{6}\*{8}|\*{14})[0-9]{3}[0-9X]$")]
PhoneMasked = Annotated[str, Field(pattern=r"^[0-9]{3}\*{4}[0-9]{4}$")]

#: GB 32100 unified social credit code; public information, so it travels in the clear.
CreditCode = Annotated[
    str, Field(pattern=r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")
]


class AggregateEvent(EventData):
    """An event whose aggregate id is one of its own fields, named by ``aggregate_field``.

    Naming the field (rather than only overriding ``aggregate_id``) lets the generated docs say
    which field becomes the CloudEvents ``subject``.
    """

    aggregate_field: ClassVar[str]

    def aggregate_id(self) -> str:
        return str(getattr(self, self.aggregate_field))
