"""Form-file writers of a sample EDC export (CSV, CDISC ODM 1.3.2) and its manifest."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

ODM_NS: Final = "http://www.cdisc.org/ns/odm/v1.3"
# forms.yaml type -> ODM DataType; raw dates and times stay text (they may be partial).
ODM_TYPES: Final = {
    "text": "text",
    "integer": "integer",
    "decimal": "float",
    "result": "text",  # a number, <0.05 or a text result
    "date": "text",
    "time": "text",
}
_MARKER: Final = "SUBJECTS"
_SAFE_OID: Final = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
_CHUNK_ROWS: Final = 50_000
_INDENT: Final = tuple(" " * level for level in range(7))


def write_csv(frame: pd.DataFrame, path: Path, *, append: bool = False) -> int:
    """Write UTF-8 CSV (comma, minimal quoting, "\\n" line ends, "" = missing); return rows.

    `append`: add the rows to the end of the file, without the header (the next block of a
    form written a block of subjects at a time)."""
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8",
                 mode="a" if append else "w", header=not append)  # fmt: skip
    return len(frame)


def write_odm(
    frame: pd.DataFrame,
    path: Path,
    *,
    form: str,
    spec: dict[str, Any],
    study: str,
    description: str,
    file_oid: str,
    created: str,
) -> int:
    """Write one form as a CDISC ODM 1.3.2 snapshot; return the number of item groups.

    One SubjectData per subject (its rows must be contiguous, in frame order), one
    ItemGroupData per row with ItemGroupRepeatKey 1.. within the subject, ItemData only for
    non-empty values. Written in chunks of subjects, vectorised: ElementTree serialises (and
    so escapes) every distinct value once; the tags around them use checked OIDs only.
    """
    columns = list(spec["columns"])
    for name in (study, form, *columns):
        if not _SAFE_OID.fullmatch(name):
            raise ValueError(f"{name!r} cannot be used in an ODM OID")
    head, tail = _odm_shell(form, spec, study, description, file_oid, created).split(
        f"<{_MARKER} />"
    )
    data = frame[columns].fillna("")
    subjects = data["SUBJID"].to_numpy(dtype=object)
    starts = np.r_[True, subjects[1:] != subjects[:-1]] if len(data) else np.zeros(0, bool)
    firsts: list[int] = np.flatnonzero(starts).tolist()
    if len(set(subjects[firsts])) != len(firsts):
        raise ValueError(f"{form}: the rows of each subject must be contiguous")
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write(head.rstrip())
        bounds = [*firsts, len(data)]
        begin = 0
        for i in range(1, len(bounds)):
            if bounds[i] - bounds[begin] >= _CHUNK_ROWS or i == len(bounds) - 1:
                out.write(_subject_data(data.iloc[bounds[begin] : bounds[i]], form))
                begin = i
        out.write(tail)
        out.write("\n")
    return len(data)


def _subject_data(rows: pd.DataFrame, form: str) -> str:
    """SubjectData elements for consecutive rows that hold whole subjects."""
    n = len(rows)
    items = np.full(n, "", dtype=object)
    for name in rows.columns:
        codes, uniques = pd.factorize(rows[name].to_numpy(dtype=object))
        rendered = [f"\n{_INDENT[6]}{_element('ItemData', ItemOID=f'IT.{form}.{name}', Value=v)}"
                    if v != "" else "" for v in uniques]  # fmt: skip
        items = items + np.array(rendered, dtype=object)[codes]
    subjects = rows["SUBJID"].to_numpy(dtype=object)
    sites = rows["SITEID"].to_numpy(dtype=object)
    new = np.r_[True, subjects[1:] != subjects[:-1]]
    position = np.arange(n)
    key = position - np.maximum.accumulate(np.where(new, position, 0)) + 1
    opening = np.full(n, "", dtype=object)
    opening[new] = [
        f"\n{_INDENT[2]}{_element('SubjectData', SubjectKey=s)[:-3]}>"
        f"\n{_INDENT[3]}{_element('SiteRef', LocationOID=site)}"
        f'\n{_INDENT[3]}<StudyEventData StudyEventOID="SE.ALL">'
        f'\n{_INDENT[4]}<FormData FormOID="F.{form}">'
        for s, site in zip(subjects[new], sites[new], strict=True)
    ]
    closing = np.where(
        np.r_[new[1:], True],
        f"\n{_INDENT[4]}</FormData>\n{_INDENT[3]}</StudyEventData>\n{_INDENT[2]}</SubjectData>",
        "",
    ).astype(object)
    group = f'\n{_INDENT[5]}<ItemGroupData ItemGroupOID="IG.{form}" ItemGroupRepeatKey="'
    text = opening + group + key.astype(str).astype(object) + '">' + items
    return "".join((text + f"\n{_INDENT[5]}</ItemGroupData>" + closing).tolist())


def _element(tag: str, **attributes: str) -> str:
    """An empty element serialised (and so escaped) by ElementTree: ``<tag a="..." />``."""
    return ET.tostring(ET.Element(tag, attributes), encoding="unicode")


def _odm_root(
    study: str, description: str, file_oid: str, created: str
) -> tuple[ET.Element, ET.Element]:
    """The ODM element of a Snapshot of `study` and its (empty) MetaDataVersion."""
    root = ET.Element(
        "ODM",
        {"xmlns": ODM_NS, "ODMVersion": "1.3.2", "FileType": "Snapshot", "FileOID": file_oid,
         "CreationDateTime": created},
    )  # fmt: skip
    study_el = ET.SubElement(root, "Study", OID=study)
    global_vars = ET.SubElement(study_el, "GlobalVariables")
    ET.SubElement(global_vars, "StudyName").text = study
    ET.SubElement(global_vars, "StudyDescription").text = description
    ET.SubElement(global_vars, "ProtocolName").text = study
    mdv = ET.SubElement(study_el, "MetaDataVersion", OID="MDV.1", Name=f"{study} eCRF v1")
    return root, mdv


def _odm_shell(
    form: str, spec: dict[str, Any], study: str, description: str, file_oid: str, created: str
) -> str:
    """The ODM document with its metadata and an empty ClinicalData holding a marker."""
    root, mdv = _odm_root(study, description, file_oid, created)
    protocol = ET.SubElement(mdv, "Protocol")
    ET.SubElement(protocol, "StudyEventRef", StudyEventOID="SE.ALL", Mandatory="Yes")
    event = ET.SubElement(
        mdv, "StudyEventDef", OID="SE.ALL", Name="All visits", Repeating="Yes", Type="Common"
    )
    ET.SubElement(event, "FormRef", FormOID=f"F.{form}", Mandatory="Yes")
    form_def = ET.SubElement(mdv, "FormDef", OID=f"F.{form}", Name=spec["label"], Repeating="No")
    ET.SubElement(form_def, "ItemGroupRef", ItemGroupOID=f"IG.{form}", Mandatory="Yes")
    group = ET.SubElement(mdv, "ItemGroupDef", OID=f"IG.{form}", Name=form, Repeating="Yes")
    for name, column in spec["columns"].items():
        mandatory = "Yes" if column.get("required") else "No"
        ET.SubElement(group, "ItemRef", ItemOID=f"IT.{form}.{name}", Mandatory=mandatory)
    for name, column in spec["columns"].items():
        ET.SubElement(
            mdv, "ItemDef", OID=f"IT.{form}.{name}", Name=name, DataType=ODM_TYPES[column["type"]]
        )
    clinical = ET.SubElement(root, "ClinicalData", StudyOID=study, MetaDataVersionOID="MDV.1")
    ET.SubElement(clinical, _MARKER)
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="unicode")


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Write the export manifest as JSON (keys sorted, indent 2, trailing newline)."""
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# --- one ODM file holding every form of the study --------------------------------------

COMMON_EVENT: Final = "SE.COMMON"
STRUCTURE: Final = {"subject": "SUBJID", "site": "SITEID", "visit": "VISIT"}
"""The columns a whole-study file carries in its structure, not as items (forms.yaml odm:)."""


def _attr(value: str) -> str:
    """`value` escaped as an XML attribute value (line breaks and tabs kept as such)."""
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;")
        .replace("\t", "&#9;")
    )  # fmt: skip


def write_odm_study(
    frames: dict[str, pd.DataFrame],
    forms: dict[str, Any],
    path: Path,
    *,
    study: str,
    description: str,
    file_oid: str,
    created: str,
) -> int:
    """Write every form as one CDISC ODM 1.3.2 Snapshot; return the number of item groups.

    ClinicalData > SubjectData (SubjectKey, SiteRef) > StudyEventData (one per visit; the
    forms without a visit in SE.COMMON) > FormData > ItemGroupData (repeat key 1.. within
    the form) > ItemData for the non-empty values. SUBJID, SITEID and VISIT are the
    structure, not items. Subjects, visits and rows keep the order they first appear in
    (forms in forms.yaml order)."""
    subject, site, visit = STRUCTURE["subject"], STRUCTURE["site"], STRUCTURE["visit"]
    for name in (study, *forms, *(c for spec in forms.values() for c in spec["columns"])):
        if not _SAFE_OID.fullmatch(name):
            raise ValueError(f"{name!r} cannot be used in an ODM OID")
    events: dict[str, str] = {}  # visit name -> StudyEventOID
    # subject -> site, and (event, repeat key) -> form -> its rows' ItemData text; a visit
    # a form returns to after another (a second unscheduled visit) is a repeat of its event
    sites: dict[str, str] = {}
    tree: dict[str, dict[tuple[str, int], dict[str, list[str]]]] = {}
    count = 0
    for form, spec in forms.items():
        items = [c for c in spec["columns"] if c not in STRUCTURE.values()]
        frame = frames[form].fillna("")
        has_visit = visit in spec["columns"]
        runs: dict[tuple[str, str], int] = {}  # (subject, event) -> runs of it in this form
        last: tuple[str, str] | None = None
        for row in frame.to_dict("records"):
            key, place = str(row[subject]), str(row[site])
            if sites.setdefault(key, place) != place:
                raise ValueError(f"{form}: subject {key} at sites {sites[key]} and {place}")
            if has_visit and not row[visit]:
                raise ValueError(f"{form}: subject {key} has a row without {visit}")
            event = (
                events.setdefault(str(row[visit]), f"SE.V{len(events) + 1}")
                if has_visit
                else COMMON_EVENT
            )
            text = "".join(
                f'\n{_INDENT[6]}<ItemData ItemOID="IT.{form}.{c}" Value="{_attr(str(row[c]))}" />'
                for c in items
                if row[c] != ""
            )
            if (key, event) != last:
                runs[key, event] = runs.get((key, event), 0) + 1
                last = (key, event)
            instance = (event, runs[key, event])
            tree.setdefault(key, {}).setdefault(instance, {}).setdefault(form, []).append(text)
            count += 1
    root, mdv = _odm_root(study, description, file_oid, created)
    protocol = ET.SubElement(mdv, "Protocol")
    names = {COMMON_EVENT: "Subject-level forms and logs", **{oid: v for v, oid in events.items()}}
    for oid in names:
        ET.SubElement(protocol, "StudyEventRef", StudyEventOID=oid, Mandatory="No")
    for oid, name in names.items():
        repeating = "No" if oid == COMMON_EVENT else "Yes"
        event_def = ET.SubElement(
            mdv, "StudyEventDef", OID=oid, Name=name, Repeating=repeating, Type="Common"
        )
        for form, spec in forms.items():
            if (visit in spec["columns"]) == (oid != COMMON_EVENT):
                ET.SubElement(event_def, "FormRef", FormOID=f"F.{form}", Mandatory="No")
    for form, spec in forms.items():
        form_def = ET.SubElement(
            mdv, "FormDef", OID=f"F.{form}", Name=spec["label"], Repeating="Yes"
        )
        ET.SubElement(form_def, "ItemGroupRef", ItemGroupOID=f"IG.{form}", Mandatory="Yes")
    for form, spec in forms.items():
        group = ET.SubElement(mdv, "ItemGroupDef", OID=f"IG.{form}", Name=form, Repeating="Yes")
        for name, column in spec["columns"].items():
            if name not in STRUCTURE.values():
                mandatory = "Yes" if column.get("required") else "No"
                ET.SubElement(group, "ItemRef", ItemOID=f"IT.{form}.{name}", Mandatory=mandatory)
    for form, spec in forms.items():
        for name, column in spec["columns"].items():
            if name not in STRUCTURE.values():
                ET.SubElement(mdv, "ItemDef", OID=f"IT.{form}.{name}", Name=name,
                              DataType=ODM_TYPES[column["type"]])  # fmt: skip
    clinical = ET.SubElement(root, "ClinicalData", StudyOID=study, MetaDataVersionOID="MDV.1")
    ET.SubElement(clinical, _MARKER)
    ET.indent(root, space=" ")
    head, tail = ET.tostring(root, encoding="unicode").split(f"<{_MARKER} />")
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write(head.rstrip())
        for key, visits in tree.items():
            out.write(f'\n{_INDENT[2]}<SubjectData SubjectKey="{_attr(key)}">'
                      f'\n{_INDENT[3]}<SiteRef LocationOID="{_attr(sites[key])}" />')  # fmt: skip
            for (event, repeat), by_form in visits.items():
                again = f' StudyEventRepeatKey="{repeat}"' if event != COMMON_EVENT else ""
                out.write(f'\n{_INDENT[3]}<StudyEventData StudyEventOID="{event}"{again}>')
                for form, rows in by_form.items():
                    out.write(f'\n{_INDENT[4]}<FormData FormOID="F.{form}">')
                    for n, given in enumerate(rows, start=1):
                        opening = (
                            f'<ItemGroupData ItemGroupOID="IG.{form}" ItemGroupRepeatKey="{n}">'
                        )
                        out.write(f"\n{_INDENT[5]}{opening}{given}\n{_INDENT[5]}</ItemGroupData>")
                    out.write(f"\n{_INDENT[4]}</FormData>")
                out.write(f"\n{_INDENT[3]}</StudyEventData>")
            out.write(f"\n{_INDENT[2]}</SubjectData>")
        out.write(tail)
        out.write("\n")
    return count
