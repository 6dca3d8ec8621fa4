"""Offline verification of a credential with nothing but the credential, its status list
credentials and the issuer's DID document: what any third party can do without calling us."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.credit.credentials import statuslist
from services.credit.credentials.dataintegrity import (
    VC_V2,
    Contexts,
    ProofError,
    did_document_resolver,
    verify,
)


@dataclass
class Verification:
    #: The proof verifies, the issuer is the DID document's, and the dates hold.
    authentic: bool = False
    revoked: bool | None = None
    suspended: bool | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.authentic and self.revoked is False and self.suspended is False


def _issuer_id(document: Mapping[str, Any]) -> Any:
    issuer = document.get("issuer")
    return issuer.get("id") if isinstance(issuer, dict) else issuer


def _parse(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _check_dates(
    document: Mapping[str, Any], now: datetime, problems: list[str], what: str
) -> None:
    valid_from, valid_until = _parse(document.get("validFrom")), _parse(document.get("validUntil"))
    if valid_from is not None and now < valid_from:
        problems.append(f"{what} is not valid before {document['validFrom']}")
    if valid_until is not None and now > valid_until:
        problems.append(f"{what} expired at {document['validUntil']}")


def verify_credential(
    credential: Mapping[str, Any],
    did_document: Mapping[str, Any],
    status_lists: Mapping[str, Mapping[str, Any]],
    *,
    now: datetime | None = None,
    contexts: Contexts | None = None,
) -> Verification:
    """Check proof, issuer, validity period and every status entry (by its list credential)."""
    now = now or datetime.now(UTC)
    result = Verification()
    resolve = did_document_resolver(did_document)
    if credential.get("@context", [None])[0] != VC_V2:
        result.problems.append("not a VC 2.0 document")
    try:
        verify(credential, resolve, contexts=contexts)
    except ProofError as exc:
        result.problems.append(f"proof: {exc}")
    if _issuer_id(credential) != did_document.get("id"):
        result.problems.append("the issuer is not the DID document's subject")
    _check_dates(credential, now, result.problems, "the credential")
    result.authentic = not result.problems
    entries = credential.get("credentialStatus", [])
    for entry in entries if isinstance(entries, list) else [entries]:
        purpose = entry.get("statusPurpose")
        list_credential = status_lists.get(entry.get("statusListCredential", ""))
        if list_credential is None:
            result.problems.append(f"no status list for {purpose}")
            continue
        try:
            verify(list_credential, resolve, contexts=contexts)
        except ProofError as exc:
            result.problems.append(f"status list proof: {exc}")
            continue
        list_problems: list[str] = []
        _check_dates(list_credential, now, list_problems, "the status list")
        subject = list_credential.get("credentialSubject", {})
        if _issuer_id(list_credential) != _issuer_id(credential):
            list_problems.append("status list from another issuer")
        if subject.get("statusPurpose") != purpose:
            list_problems.append("status list of another purpose")
        if list_problems:
            result.problems.extend(list_problems)
            continue
        try:
            bits = statuslist.decode(subject.get("encodedList", ""))
            flag = statuslist.bit(bits, int(entry.get("statusListIndex", "-1")))
        except (statuslist.StatusListError, ValueError) as exc:
            result.problems.append(f"status list: {exc}")
            continue
        if purpose == "revocation":
            result.revoked = flag
        elif purpose == "suspension":
            result.suspended = flag
    return result
