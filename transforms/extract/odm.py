"""Read the clinical data of a CDISC ODM 1.3.2 document: one form per file, or a whole study.

Both shapes are streamed (DTDs and entities refused, no XXE, no expansion), in linear time
whatever the length of a single token, and only from a regular file of bounded size:

- a **form file** (``ae.xml``) defines one ItemGroupDef; its ItemDefs' Names are the columns,
  in ItemRef order, and every value, SITEID and SUBJID included, comes from ItemData.
- a **whole-study file** (``<study>.xml``) holds every form, nested as ODM nests them:
  ``ClinicalData > SubjectData > StudyEventData (one per visit) > FormData > ItemGroupData``.
  An ItemGroupDef is the form of forms.yaml whose id its Name or OID is (case-insensitive).
  The subject, site and visit come from the structure, into the columns forms.yaml's
  ``odm:`` names: ``subject`` the SubjectKey, ``site`` the SiteRef's LocationOID, ``visit``
  the Name of the StudyEventDef of the StudyEventData (for forms holding that column). An
  ItemData of the same column must agree with the structure.

Rows: one per record (ItemGroupData), ``__ROW`` its 1-based position among the document's
ItemGroupData. ClinicalData's StudyOID (and Study's OID) must be the expected study's.

TransactionType (ODM 1.3.2: Insert, Update, Remove, Upsert, Context, on SubjectData,
StudyEventData, FormData, ItemGroupData and ItemData; ODM1-3-2-foundation.xsd) is applied
in document order, the record's key being its path (SubjectKey, StudyEventOID and repeat
key, FormOID and repeat key, ItemGroupOID and repeat key). An export is read as the whole
of the study's data: nothing from an earlier export is kept to be changed. So

- *Remove* on a record, or on a subject, visit or form holding it, removes it (the records
  given before it under that key, and any under the removed element): a removed AE is not
  published. *Remove* on an ItemData empties that value.
- absent or *Insert*: a new record; one whose key was given before is refused
  (a duplicate key).
- *Upsert*: the record, or, if its key was given before, the values it gives replace those.
- *Update* and *Context*: change a record given before under that key; one that was not is
  refused, since the values it does not repeat are nowhere to be read (export a snapshot,
  or Upsert the whole record).

AuditRecords, Signatures and Annotations are skipped: they document the data, they are not
records. Typed ItemData (ItemDataString, ...) is refused; so is any other nesting.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import numpy as np
import pandas as pd
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from transforms.extract.frames import TEXT, RawFileError, column_names, make_frame
from transforms.extract.regular import BoundedReader, open_regular_file

log = logging.getLogger("cdisc.extract")

NS = "{http://www.cdisc.org/ns/odm/v1.3}"
TRANSACTIONS = ("Insert", "Update", "Remove", "Upsert", "Context")

_PARENT = {
    "SubjectData": "ClinicalData",
    "StudyEventData": "SubjectData",
    "FormData": "StudyEventData",
    "ItemGroupData": "FormData",
    "ItemData": "ItemGroupData",
}
_SKIPPED = {"AuditRecord", "AuditRecords", "Signature", "Signatures", "Annotation", "Annotations"}
_BASE_CHUNK = 1 << 16
MAX_TOKEN_BYTES = 1 << 24
"""The longest stretch of an ODM file without an element starting or ending (16 MiB)."""


@dataclass(frozen=True)
class StudyLayout:
    """What reading a whole-study ODM file needs of the study: its forms' columns (in
    forms.yaml order) and which columns the subject, site and visit fill."""

    study_oid: str
    forms: Mapping[str, Sequence[str]]
    structure: Mapping[str, str]


@dataclass
class OdmData:
    """The forms read from one ODM document, and how many ItemGroupData it holds."""

    frames: dict[str, pd.DataFrame]
    item_groups: int
    removed: int = 0


def read_odm_form(path: Path, limit: int, study_oid: str | None = None) -> OdmData:
    """The one form (item group) of an ODM form file (``frames`` holds it alone)."""
    return _read(path, limit, study_oid, None)


def read_odm_study(path: Path, limit: int, layout: StudyLayout) -> OdmData:
    """Every form of a whole-study ODM file, by form id."""
    return _read(path, limit, layout.study_oid, layout)


# --- streaming ------------------------------------------------------------------------


class _Chunks:
    """The file as iterparse reads it, in chunks that double while no element starts or
    ends: the expat bundled with this Python (2.5) scans a pending token anew at every
    feed, so a token of megabytes fed 16 KiB at a time takes quadratic time
    (CVE-2023-52425); doubling the chunk while inside one keeps the bytes scanned below
    twice its length. Expat 2.5 is still slower than linear on one token of tens of
    megabytes, however fed, and no ODM token (an ItemData's Value, a comment) comes near
    that: a file where no element starts or ends in `MAX_TOKEN_BYTES` is refused."""

    def __init__(self, path: Path, source: BoundedReader) -> None:
        self.path, self.source = path, source
        self.size, self.moved, self.offset, self.quiet_since = _BASE_CHUNK, True, 0, 0

    def read(self, _: int = -1) -> bytes:
        if self.moved:
            self.size, self.quiet_since = _BASE_CHUNK, self.offset
        else:
            self.size *= 2
        self.moved = False
        if self.offset - self.quiet_since > MAX_TOKEN_BYTES:
            raise RawFileError(
                self.path,
                f"no element starts or ends in the {self.offset - self.quiet_since} bytes "
                f"from byte {self.quiet_since}: one token (an attribute value, a comment, "
                f"text) of more than {MAX_TOKEN_BYTES} bytes is no ODM data",
                "RAW-XML-TOKEN",
            )
        # never past the limit within a token: so one more read tells whether it is over
        self.size = min(self.size, MAX_TOKEN_BYTES + 1 - (self.offset - self.quiet_since))
        data = self.source.read(self.size)
        self.offset += len(data)
        return data


def _read(path: Path, limit: int, study_oid: str | None, layout: StudyLayout | None) -> OdmData:
    reader = _Reader(path, study_oid, layout)
    handle, item = reader.handle, NS + "ItemData"
    with open_regular_file(path, limit) as source:
        chunks = _Chunks(path, source)
        try:
            for event, elem in iterparse(chunks, events=("start", "end"), forbid_dtd=True):
                chunks.moved = True
                if elem.tag == item and event == "end" and reader.stack[-1] == "ItemData":
                    reader.stack.pop()  # the most frequent event: nothing more to do
                else:
                    handle(event, elem)
        except DefusedXmlException as exc:
            raise RawFileError(
                path,
                f"forbidden XML construct {exc!r}: ODM files must not declare a DTD or entities",
                "RAW-XML",
            ) from exc
        except ParseError as exc:
            raise RawFileError(
                path, f"not well-formed XML: {exc}", "RAW-XML", line=exc.position[0]
            ) from exc
    return reader.finish()


# --- the document ---------------------------------------------------------------------


@dataclass
class _Group:
    """One ItemGroupDef: the form it is, its items' columns, the columns it gives."""

    oid: str
    form: str
    items: dict[str, int] = field(default_factory=dict)  # ItemOID -> position in `names`
    names: list[str] = field(default_factory=list)
    structural: dict[str, int] = field(default_factory=dict)  # role -> position in `names`
    rows: dict[tuple[str, ...], list[str | None]] = field(default_factory=dict)
    positions: dict[tuple[str, ...], int] = field(default_factory=dict)


class _Reader:
    def __init__(self, path: Path, study_oid: str | None, layout: StudyLayout | None) -> None:
        self.path, self.study_oid, self.layout = path, study_oid, layout
        self.item_names: dict[str, str] = {}
        self.group_refs: dict[str, list[str]] = {}  # ItemGroupOID -> ItemOIDs in order
        self.group_names: dict[str, str] = {}
        self.event_names: dict[str, str] = {}
        self.groups: dict[str, _Group] | None = None
        self.stack: list[str] = []
        self.path_keys: list[tuple[str, str, str | None]] = []  # (kind, key, transaction)
        self.site: str | None = None
        self.count = 0
        self.removed = 0
        self.by_subject: dict[str, set[tuple[str, tuple[str, ...]]]] = {}
        self.root_seen = False
        self.in_group = False

    # errors name the file, the record (ItemGroupData position) or element, and the rule
    def error(self, problem: str, rule: str = "RAW-ODM", **where: object) -> RawFileError:
        return RawFileError(self.path, problem, rule, **where)  # type: ignore[arg-type]

    def handle(self, event: str, elem: Element) -> None:
        tag = elem.tag
        if not tag.startswith(NS):
            if not self.root_seen:
                raise self.error(f"root element {tag!r} is not a CDISC ODM 1.3 <ODM>")
            if event == "end" and not self.in_group:
                elem.clear()  # a vendor extension: not data of this reader
            return
        name = tag[len(NS) :]
        if event == "start":
            if not self.root_seen:
                if name != "ODM":
                    raise self.error(f"root element {tag!r} is not a CDISC ODM 1.3 <ODM>")
                self.root_seen = True
            self.start(name, elem)
            self.stack.append(name)
            self.in_group |= name == "ItemGroupData"
            return
        self.stack.pop()
        self.in_group &= name != "ItemGroupData"
        self.end(name, elem)

    def start(self, name: str, elem: Element) -> None:
        if name in _PARENT:
            parent = self.stack[-1] if self.stack else None
            if parent != _PARENT[name]:
                raise self.error(
                    f"{name} inside {parent or 'nothing'}: ODM 1.3.2 nests ClinicalData > "
                    "SubjectData > StudyEventData > FormData > ItemGroupData > ItemData",
                    record=self.count + 1 if name in ("ItemGroupData", "ItemData") else None,
                )
        if name == "Study":
            self.check_study(elem.get("OID"), "Study", "OID")
        elif name == "ClinicalData":
            self.check_study(elem.get("StudyOID"), "ClinicalData", "StudyOID")
            self.resolve()
        elif name == "SubjectData":
            self.site = None
            self.enter("SubjectData", "SubjectKey", elem)
        elif name == "StudyEventData":
            self.enter("StudyEventData", "StudyEventOID", elem, "StudyEventRepeatKey")
        elif name == "FormData":
            self.enter("FormData", "FormOID", elem, "FormRepeatKey")
        elif (
            name.startswith("ItemData")
            and name != "ItemData"
            and self.stack[-1:] == ["ItemGroupData"]
        ):
            raise self.error(f"typed {name} is not supported; use ItemData", record=self.count + 1)

    def end(self, name: str, elem: Element) -> None:
        if name == "ItemDef":
            oid, item = elem.get("OID"), elem.get("Name")
            if not oid or not item:
                raise self.error(f"an ItemDef lacks its OID or Name (OID {oid!r}, Name {item!r})")
            self.item_names[oid] = item
        elif name == "ItemGroupDef":
            oid = elem.get("OID")
            if not oid:
                raise self.error(f"an ItemGroupDef (Name {elem.get('Name')!r}) lacks its OID")
            if oid in self.group_refs or (self.layout is None and self.group_refs):
                raise self.error(
                    f"second ItemGroupDef {oid!r}: "
                    + ("OIDs must be unique" if oid in self.group_refs else "one form per file")
                )
            self.group_refs[oid] = [ref.get("ItemOID") or "" for ref in elem.iter(NS + "ItemRef")]
            self.group_names[oid] = elem.get("Name") or ""
        elif name == "StudyEventDef":
            oid = elem.get("OID")
            if not oid:
                raise self.error(f"a StudyEventDef (Name {elem.get('Name')!r}) lacks its OID")
            self.event_names[oid] = elem.get("Name") or ""
        elif name == "SiteRef" and self.stack[-1:] == ["SubjectData"]:
            self.site = elem.get("LocationOID") or None
        elif name == "ItemGroupData":
            self.record(elem)
            elem.clear()
        elif name in ("SubjectData", "StudyEventData", "FormData"):
            self.path_keys.pop()
            if name == "SubjectData":
                elem.clear()
        elif name in _SKIPPED and not self.in_group:
            elem.clear()

    def check_study(self, oid: str | None, element: str, attribute: str) -> None:
        if self.study_oid is not None and oid != self.study_oid:
            raise self.error(
                f"element {element}, attribute {attribute}: {oid!r} is another study's "
                f"data, not {self.study_oid!r}",
                "RAW-ODM-STUDY",
            )

    def transaction(self, elem: Element, element: str, record: int | None = None) -> str | None:
        kind = elem.get("TransactionType")
        if kind is not None and kind not in TRANSACTIONS:
            raise self.error(
                f"element {element}, attribute TransactionType: {kind!r} is not one of "
                f"{', '.join(TRANSACTIONS)} (ODM 1.3.2)",
                "RAW-ODM-TRANSACTION",
                record=record,
            )
        return kind

    def enter(self, kind: str, attribute: str, elem: Element, repeat: str | None = None) -> None:
        key = elem.get(attribute)
        if not key:
            raise self.error(f"a {kind} lacks its {attribute}")
        if kind == "StudyEventData" and self.layout is not None and key not in self.event_names:
            raise self.error(
                f"StudyEventData {key!r} (SubjectKey {self.subject}) has no StudyEventDef"
            )
        full = f"{key}\x1f{elem.get(repeat) or ''}" if repeat else key
        transaction = self.transaction(elem, kind)
        self.path_keys.append((kind, full, transaction))
        if transaction == "Remove":
            self.remove_under(tuple(k for _, k, _ in self.path_keys))

    @property
    def subject(self) -> str | None:
        return self.path_keys[0][1] if self.path_keys else None

    # --- metadata -> columns --------------------------------------------------------------

    def resolve(self) -> dict[str, _Group]:
        """The item groups, checked against the metadata (and forms.yaml) on first use."""
        if self.groups is not None:
            return self.groups
        if not self.group_refs:
            raise self.error("no ItemGroupDef before the clinical data")
        self.groups = {}
        for oid, refs in self.group_refs.items():
            undefined = [ref for ref in refs if ref not in self.item_names]
            if undefined:
                raise self.error(f"ItemRef(s) {undefined} of {oid!r} have no ItemDef")
            group = _Group(oid, self.form_of(oid))
            names = column_names(self.path, [self.item_names[ref] for ref in refs])
            if self.layout is not None:
                # forms.yaml order, the structure's columns among them, then the columns it
                # does not know (kept, for the field reconciliation to name)
                declared = list(self.layout.forms[group.form])
                roles = {c: r for r, c in self.layout.structure.items() if c in declared}
                names = [c for c in declared if c in names or c in roles] + [
                    c for c in names if c not in declared
                ]
                group.structural = {role: names.index(c) for c, role in roles.items()}
            group.names = names
            group.items = {ref: names.index(self.item_names[ref].upper()) for ref in refs}
            self.groups[oid] = group
        if self.layout is not None:
            found = {g.form for g in self.groups.values()}
            missing = [form for form in self.layout.forms if form not in found]
            if missing:
                raise self.error(
                    f"no ItemGroupDef for form(s) {missing} of forms.yaml (an ItemGroupDef "
                    "is the form whose id its Name or OID is)"
                )
        return self.groups

    def form_of(self, oid: str) -> str:
        if self.layout is None:
            return oid
        names = {oid.upper(), self.group_names[oid].upper()}
        forms = [form for form in self.layout.forms if form.upper() in names]
        if len(forms) != 1:
            raise self.error(
                f"ItemGroupDef {oid!r} (Name {self.group_names[oid]!r}) is no form of "
                f"forms.yaml ({', '.join(self.layout.forms)}): its Name or OID must be one"
            )
        taken = [g.oid for g in (self.groups or {}).values() if g.form == forms[0]]
        if taken:
            raise self.error(f"ItemGroupDefs {taken[0]!r} and {oid!r} are both form {forms[0]}")
        return forms[0]

    # --- records ----------------------------------------------------------------------------

    def record(self, elem: Element) -> None:
        self.count += 1
        record = self.count
        groups = self.resolve()
        oid = elem.get("ItemGroupOID") or ""
        group = groups.get(oid)
        subject = self.subject
        if group is None:
            raise self.error(
                f"ItemGroupData of {oid!r} (SubjectKey {subject}): no ItemGroupDef "
                f"{oid!r} in the metadata"
                + ("" if self.layout else f"; this file defines {next(iter(groups))!r}"),
                record=record,
            )
        transaction = self.transaction(elem, "ItemGroupData", record)
        key = (*(k for _, k, _ in self.path_keys), oid, elem.get("ItemGroupRepeatKey") or "")
        given = self.values(elem, group, record, subject)  # checked even if removed
        if transaction == "Remove" or any(t == "Remove" for _, _, t in self.path_keys):
            self.remove_under(key)
            self.removed += 1
            return
        row = group.rows.get(key)
        if row is None:
            if transaction in ("Update", "Context"):
                raise self.error(
                    f"ItemGroupData {oid!r} (SubjectKey {subject}, ItemGroupRepeatKey "
                    f"{key[-1] or 'none'}), TransactionType {transaction}: changes a record "
                    "this file does not hold; an export is read as the study's whole data, "
                    "so the values it does not repeat are nowhere (export a snapshot, or "
                    "Upsert the whole record)",
                    "RAW-ODM-TRANSACTION",
                    record=record,
                )
            row = [None] * len(group.names)
            group.rows[key] = row
            group.positions[key] = record
            self.by_subject.setdefault(key[0], set()).add((oid, key))
        elif transaction not in ("Upsert", "Update", "Context"):
            raise self.error(
                f"ItemGroupData {oid!r} (SubjectKey {subject}, ItemGroupRepeatKey "
                f"{key[-1] or 'none'}) given twice (first as record {group.positions[key]})"
                + (", TransactionType Insert" if transaction == "Insert" else ""),
                "RAW-ODM-KEY",
                record=record,
            )
        for slot, value in given.items():
            row[slot] = value
        self.fill_structure(group, row, record, subject)

    def values(
        self, elem: Element, group: _Group, record: int, subject: str | None
    ) -> dict[int, str | None]:
        given: dict[int, str | None] = {}
        for item in elem:
            if item.tag != NS + "ItemData":
                continue
            oid = item.get("ItemOID") or ""
            slot = group.items.get(oid)
            if slot is None:
                why = (
                    f"not an item of ItemGroupDef {group.oid!r}"
                    if oid in self.item_names
                    else "not defined in the metadata"
                )
                raise self.error(
                    f"ItemData {oid!r} (SubjectKey {subject}) is {why}", record=record, column=oid
                )
            if slot in given:
                raise self.error(
                    f"ItemData {oid!r} given twice (SubjectKey {subject})",
                    "RAW-ODM-KEY",
                    record=record,
                    column=group.names[slot],
                )
            removed = (
                self.transaction(item, "ItemData", record) == "Remove"
                or item.get("IsNull") == "Yes"
            )
            given[slot] = None if removed else (item.get("Value") or None)
        return given

    def fill_structure(
        self, group: _Group, row: list[str | None], record: int, subject: str | None
    ) -> None:
        if not group.structural:
            return
        event = next((k for kind, k, _ in self.path_keys if kind == "StudyEventData"), "")
        known = {
            "subject": subject,
            "site": self.site,
            "visit": self.event_names.get(event.split("\x1f")[0]),
        }
        for role, slot in group.structural.items():
            value = known[role]
            if row[slot] is not None and row[slot] != value:
                source = {
                    "subject": "its SubjectData's SubjectKey",
                    "site": "its SubjectData's SiteRef",
                    "visit": "its StudyEventDef's Name",
                }[role]
                raise self.error(
                    f"ItemData {group.names[slot]} {row[slot]!r} differs from {source} {value!r}",
                    record=record,
                    column=group.names[slot],
                )
            row[slot] = value

    def remove_under(self, prefix: tuple[str, ...]) -> None:
        """Remove the records given so far whose key starts with `prefix`."""
        keys = self.by_subject.get(prefix[0], set())
        gone = {entry for entry in keys if entry[1][: len(prefix)] == prefix}
        for oid, key in gone:
            assert self.groups is not None
            del self.groups[oid].rows[key]
            del self.groups[oid].positions[key]
        keys -= gone
        self.removed += len(gone)

    def finish(self) -> OdmData:
        groups = self.resolve()
        frames: dict[str, pd.DataFrame] = {}
        for group in groups.values():
            rows = list(group.rows.values())
            values = list(zip(*rows, strict=True)) if rows else [()] * len(group.names)
            columns = [pd.Series(list(v), dtype=TEXT) for v in values]
            positions = np.fromiter(group.positions.values(), dtype=np.int64, count=len(rows))
            frames[group.form] = make_frame(group.names, columns, positions)
        if self.removed:
            log.info("%s: %d record(s) removed by TransactionType Remove", self.path, self.removed)
        return OdmData(frames, self.count, self.removed)
