"""define.xml from the model (lxml), its XSD validation, and the checks the XSD cannot make.

The schema is the Define-XML 2.1 tree copied into ``transforms/schemas/define-2.1``
(``scripts/copy_schemas.py``). :func:`check_define` adds what the schema leaves open: every
OID reference resolves, every def:leaf file exists, and the datasets' variables, labels and
character lengths are those of the XPT files.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable
from functools import cache
from pathlib import Path
from typing import Final

import pyreadstat
from lxml import etree

from transforms.define.model import (
    AnalysisResult,
    AnnotatedCrf,
    CodeList,
    Define,
    Document,
    Item,
    ItemGroup,
    ItemRef,
    Standard,
    ValueList,
    WhereClause,
)

ODM_NS: Final = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS: Final = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS: Final = "http://www.w3.org/1999/xlink"
XML_NS: Final = "http://www.w3.org/XML/1998/namespace"
ARM_NS: Final = "http://www.cdisc.org/ns/arm/v1.0"
NSMAP: Final = {None: ODM_NS, "def": DEF_NS, "xlink": XLINK_NS}
NS: Final = {"odm": ODM_NS, "def": DEF_NS, "xlink": XLINK_NS, "arm": ARM_NS}
DEFINE_VERSION: Final = "2.1.0"
STYLESHEET: Final = Path(__file__).resolve().with_name("define.xsl")
"""The project's own XSLT 1.0 rendering of define.xml (the sections of define.html); written
beside every define.xml, which names it in its ``xml-stylesheet`` instruction."""
SCHEMA_PATH: Final = (
    Path(__file__).resolve().parents[1]
    / "schemas"
    / "define-2.1"
    / "cdisc-define-2.1"
    / "define2-1-0.xsd"
)


def _odm(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def _def(tag: str) -> str:
    return f"{{{DEF_NS}}}{tag}"


def _yes_no(flag: bool) -> str:
    return "Yes" if flag else "No"


def _set(element: etree._Element, **attributes: str | int | None) -> etree._Element:
    """Set the attributes that have a value, in the order given (``def_X`` -> def:X)."""
    for name, value in attributes.items():
        if value is None:
            continue
        key = _def(name[4:]) if name.startswith("def_") else name
        element.set(key, str(value))
    return element


def _text(parent: etree._Element, tag: str, text: str) -> etree._Element:
    """``<tag><TranslatedText xml:lang="en">text</TranslatedText></tag>``."""
    element = etree.SubElement(parent, tag)
    translated = etree.SubElement(element, _odm("TranslatedText"))
    translated.set(f"{{{XML_NS}}}lang", "en")
    translated.text = text
    return element


def _alias(parent: etree._Element, code: str) -> None:
    _set(etree.SubElement(parent, _odm("Alias")), Context="nci:ExtCodeID", Name=code)


def _standard(parent: etree._Element, std: Standard) -> None:
    _set(
        etree.SubElement(parent, _def("Standard")),
        OID=std.oid,
        Name=std.name,
        Type=std.type,
        PublishingSet=std.publishing_set,
        Version=std.version,
        Status=std.status,
    )


def _item_ref(parent: etree._Element, ref: ItemRef) -> None:
    element = _set(
        etree.SubElement(parent, _odm("ItemRef")),
        ItemOID=ref.item_oid,
        OrderNumber=ref.order,
        Mandatory=_yes_no(ref.mandatory),
        KeySequence=ref.key_sequence,
        MethodOID=ref.method_oid,
        Role=ref.role,
        def_HasNoData="Yes" if ref.has_no_data else None,
    )
    if ref.where_oid is not None:
        _set(etree.SubElement(element, _def("WhereClauseRef")), WhereClauseOID=ref.where_oid)


def _value_list(parent: etree._Element, vl: ValueList) -> None:
    element = _set(etree.SubElement(parent, _def("ValueListDef")), OID=vl.oid)
    for ref in vl.refs:
        _item_ref(element, ref)


def _where_clause(parent: etree._Element, wc: WhereClause) -> None:
    element = _set(etree.SubElement(parent, _def("WhereClauseDef")), OID=wc.oid)
    for range_check in wc.checks:
        check = _set(
            etree.SubElement(element, _odm("RangeCheck")),
            Comparator=range_check.comparator,
            SoftHard="Soft",
            def_ItemOID=range_check.item_oid,
        )
        for value in range_check.values:
            etree.SubElement(check, _odm("CheckValue")).text = value


def _group(parent: etree._Element, group: ItemGroup) -> None:
    element = _set(
        etree.SubElement(parent, _odm("ItemGroupDef")),
        OID=group.oid,
        Name=group.name,
        SASDatasetName=group.name,
        Domain=group.domain,
        Repeating=_yes_no(group.repeating),
        IsReferenceData=_yes_no(group.reference),
        Purpose=group.purpose,
        def_Structure=group.structure,
        def_StandardOID=group.standard_oid,
        def_ArchiveLocationID=group.leaf_id,
        def_CommentOID=group.comment_oid,
    )
    _text(element, _odm("Description"), group.label)
    for ref in group.refs:
        _item_ref(element, ref)
    cls = _set(etree.SubElement(element, _def("Class")), Name=group.class_)
    if group.subclass:
        _set(etree.SubElement(cls, _def("SubClass")), Name=group.subclass)
    leaf = etree.SubElement(element, _def("leaf"))
    leaf.set("ID", group.leaf_id)
    leaf.set(f"{{{XLINK_NS}}}href", group.href)
    etree.SubElement(leaf, _def("title")).text = group.href


def _item(parent: etree._Element, item: Item, crf: AnnotatedCrf | None) -> None:
    element = _set(
        etree.SubElement(parent, _odm("ItemDef")),
        OID=item.oid,
        Name=item.name,
        DataType=item.data_type,
        Length=item.length,
        SignificantDigits=item.digits,
        SASFieldName=item.name,
        def_DisplayFormat=item.display_format,
        def_CommentOID=item.comment_oid,
    )
    _text(element, _odm("Description"), item.label)
    if item.codelist_oid is not None:
        _set(etree.SubElement(element, _odm("CodeListRef")), CodeListOID=item.codelist_oid)
    origin = _set(etree.SubElement(element, _def("Origin")), Type=item.origin, Source=item.source)
    if item.origin_text:
        _text(origin, _odm("Description"), item.origin_text)
    if item.pages and crf is not None:
        ref = _set(etree.SubElement(origin, _def("DocumentRef")), leafID=crf.leaf_id)
        _set(
            etree.SubElement(ref, _def("PDFPageRef")),
            PageRefs=" ".join(map(str, item.pages)),
            Type="PhysicalRef",
        )
    if item.value_list_oid is not None:
        _set(etree.SubElement(element, _def("ValueListRef")), ValueListOID=item.value_list_oid)


def _arm(tag: str) -> str:
    return f"{{{ARM_NS}}}{tag}"


def _analysis_results(parent: etree._Element, results: Iterable[AnalysisResult]) -> None:
    """Analysis Results Metadata 1.0: one result display per analysis result."""
    displays = etree.SubElement(parent, _arm("AnalysisResultDisplays"))
    for r in results:
        display = _set(etree.SubElement(displays, _arm("ResultDisplay")), OID=r.display_oid,
                       Name=r.display)  # fmt: skip
        _text(display, _odm("Description"), r.description)
        result = _set(
            etree.SubElement(display, _arm("AnalysisResult")),
            OID=r.result_oid,
            ParameterOID=r.parameter_oid,
            AnalysisReason=r.reason,
            AnalysisPurpose=r.purpose,
        )
        _text(result, _odm("Description"), r.result)
        datasets = etree.SubElement(result, _arm("AnalysisDatasets"))
        dataset = _set(etree.SubElement(datasets, _arm("AnalysisDataset")),
                       ItemGroupOID=r.group_oid)  # fmt: skip
        _set(etree.SubElement(dataset, _def("WhereClauseRef")), WhereClauseOID=r.where_oid)
        for oid in r.variable_oids:
            _set(etree.SubElement(dataset, _arm("AnalysisVariable")), ItemOID=oid)
        documentation = etree.SubElement(result, _arm("Documentation"))
        _text(documentation, _odm("Description"), r.documentation)
        code = _set(etree.SubElement(result, _arm("ProgrammingCode")), Context=r.context)
        etree.SubElement(code, _arm("Code")).text = r.code


def _codelist(parent: etree._Element, codelist: CodeList) -> None:
    element = _set(
        etree.SubElement(parent, _odm("CodeList")),
        OID=codelist.oid,
        Name=codelist.name,
        DataType=codelist.data_type,
        def_StandardOID=codelist.standard_oid,
        def_IsNonStandard="Yes" if codelist.standard_oid is None else None,
    )
    if codelist.description:
        _text(element, _odm("Description"), codelist.description)
    if codelist.dictionary is not None:
        _set(
            etree.SubElement(element, _odm("ExternalCodeList")),
            Dictionary=codelist.dictionary,
            Version=codelist.version,
            href=codelist.href,
        )
    for order, term in enumerate(codelist.terms, start=1):
        tag = "CodeListItem" if codelist.decoded else "EnumeratedItem"
        entry = _set(
            etree.SubElement(element, _odm(tag)),
            CodedValue=term.value,
            OrderNumber=order,
            def_ExtendedValue="Yes" if term.extended else None,
        )
        if codelist.decoded and term.decode is not None:
            _text(entry, _odm("Decode"), term.decode)
        if term.code:
            _alias(entry, term.code)
    if codelist.code:
        _alias(element, codelist.code)


def define_tree(define: Define) -> etree._ElementTree:
    """The define.xml document of the model."""
    nsmap = {**NSMAP, "arm": ARM_NS} if define.analysis_results else NSMAP
    root = _set(
        etree.Element(_odm("ODM"), nsmap=nsmap),
        FileType="Snapshot",
        FileOID=define.file_oid,
        CreationDateTime=define.created.isoformat(timespec="seconds"),
        ODMVersion="1.3.2",
        Originator=define.originator,
        SourceSystem=define.originator,
        SourceSystemVersion=define.version,
        def_Context="Submission",
    )
    study = _set(etree.SubElement(root, _odm("Study")), OID=define.study_oid)
    globals_ = etree.SubElement(study, _odm("GlobalVariables"))
    etree.SubElement(globals_, _odm("StudyName")).text = define.study_name
    etree.SubElement(globals_, _odm("StudyDescription")).text = define.study_description
    etree.SubElement(globals_, _odm("ProtocolName")).text = define.protocol_name
    mdv = _set(
        etree.SubElement(study, _odm("MetaDataVersion")),
        OID=define.mdv_oid,
        Name=define.mdv_name,
        def_DefineVersion=DEFINE_VERSION,
    )
    standards = etree.SubElement(mdv, _def("Standards"))
    for std in define.standards:
        _standard(standards, std)
    if define.annotated_crf is not None:
        crf = etree.SubElement(mdv, _def("AnnotatedCRF"))
        _set(etree.SubElement(crf, _def("DocumentRef")), leafID=define.annotated_crf.leaf_id)
    if define.supplemental:
        documents = etree.SubElement(mdv, _def("SupplementalDoc"))
        for document in define.supplemental:
            _set(etree.SubElement(documents, _def("DocumentRef")), leafID=document.leaf_id)
    for vl in define.value_lists:
        _value_list(mdv, vl)
    for wc in define.where_clauses:
        _where_clause(mdv, wc)
    for group in define.groups:
        _group(mdv, group)
    for item in define.items:
        _item(mdv, item, define.annotated_crf)
    for codelist in define.codelists:
        _codelist(mdv, codelist)
    for method in define.methods:
        element = _set(
            etree.SubElement(mdv, _odm("MethodDef")), OID=method.oid, Name=method.name,
            Type=method.type,
        )  # fmt: skip
        _text(element, _odm("Description"), method.text)
    for comment in define.comments:
        element = _set(etree.SubElement(mdv, _def("CommentDef")), OID=comment.oid)
        _text(element, _odm("Description"), comment.text)
    crf = define.annotated_crf
    for document in ([Document(crf.href, crf.title, crf.leaf_id)] if crf else []) + list(
        define.supplemental
    ):
        leaf = _set(etree.SubElement(mdv, _def("leaf")), ID=document.leaf_id)
        leaf.set(f"{{{XLINK_NS}}}href", document.href)
        etree.SubElement(leaf, _def("title")).text = document.title
    if define.analysis_results:
        _analysis_results(mdv, define.analysis_results)
    # A browser opening define.xml renders it with the stylesheet written beside it.
    root.addprevious(
        etree.ProcessingInstruction("xml-stylesheet", f'type="text/xsl" href="{STYLESHEET.name}"')
    )
    return etree.ElementTree(root)


def to_bytes(tree: etree._ElementTree) -> bytes:
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# --- validation --------------------------------------------------------------------------


@cache
def schema() -> etree.XMLSchema:
    """The Define-XML 2.1 schema (read once; no network access)."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH), parser))


def _parse(document: Path | etree._ElementTree) -> etree._ElementTree:
    if isinstance(document, etree._ElementTree):
        return document
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.parse(str(document), parser)


def validate_define(document: Path | etree._ElementTree) -> list[str]:
    """XSD errors of a define.xml (a path or a parsed tree): "line N: message"; [] if valid.
    The repo holds no ARM 1.0 schema (nor do the shared standards): the Analysis Results
    Metadata are left out of the XSD validation; :func:`check_define` checks them against
    the ARM 1.0 content model (:func:`check_analysis_results`) and resolves their references."""
    xsd = schema()
    tree = _parse(document)
    displays = tree.getroot().findall(f".//{_arm('AnalysisResultDisplays')}")
    if displays:
        tree = copy.deepcopy(tree)
        for element in tree.getroot().findall(f".//{_arm('AnalysisResultDisplays')}"):
            element.getparent().remove(element)
    if xsd.validate(tree):
        return []
    return [f"line {e.line}: {e.message}" for e in xsd.error_log]


def _oids(root: etree._Element, xpath: str) -> set[str]:
    return {str(v) for v in root.xpath(xpath, namespaces=NS)}


def _dangling(root: etree._Element, refs: str, targets: str, what: str) -> Iterable[str]:
    known = _oids(root, targets)
    for element in root.xpath(refs, namespaces=NS):
        value = str(element)
        if value not in known:
            yield f"{what} {value!r} does not resolve"


# Analysis Results Metadata 1.0 for Define-XML 2.x (CDISC, 2015-01-27; the repo holds no
# ARM schema to validate against, so its content model is checked here): per element, the
# attributes it requires and its children in order, each (tag, at least, at most).
_MANY = 1 << 30
ARM_MODEL: Final[dict[str, tuple[tuple[str, ...], tuple[tuple[str, int, int], ...]]]] = {
    "arm:AnalysisResultDisplays": ((), (("arm:ResultDisplay", 1, _MANY),)),
    "arm:ResultDisplay": (("OID", "Name"), (
        ("odm:Description", 0, 1), ("def:DocumentRef", 0, _MANY), ("arm:AnalysisResult", 1, _MANY),
    )),
    "arm:AnalysisResult": (("OID", "AnalysisReason", "AnalysisPurpose"), (
        ("odm:Description", 0, 1), ("def:DocumentRef", 0, _MANY), ("arm:AnalysisDatasets", 1, 1),
        ("arm:Documentation", 0, 1), ("arm:ProgrammingCode", 0, 1),
    )),
    "arm:AnalysisDatasets": ((), (("arm:AnalysisDataset", 1, _MANY),)),
    "arm:AnalysisDataset": (("ItemGroupOID",), (
        ("def:WhereClauseRef", 0, _MANY), ("arm:AnalysisVariable", 1, _MANY),
    )),
    "arm:AnalysisVariable": (("ItemOID",), ()),
    "arm:Documentation": ((), (("odm:Description", 0, 1), ("def:DocumentRef", 0, _MANY))),
    "arm:ProgrammingCode": ((), (("arm:Code", 0, 1), ("def:DocumentRef", 0, _MANY))),
}  # fmt: skip
# The attributes whose values are Define-XML CT terms (Analysis Reason, Analysis Purpose).
ARM_TERMS: Final = {"AnalysisReason": "C117744", "AnalysisPurpose": "C117745"}


def _prefixed(tag: str) -> str:
    prefix = {v: k for k, v in NS.items()}
    namespace, _, local = tag[1:].partition("}")
    return f"{prefix.get(namespace, namespace)}:{local}"


def check_analysis_results(root: etree._Element) -> list[str]:
    """The Analysis Results Metadata of a define.xml against the ARM 1.0 content model
    (:data:`ARM_MODEL`: required attributes, children in order and number, nothing else
    inside) and its Define-XML CT (:data:`ARM_TERMS`); [] when it holds none or all is well."""
    from transforms.standards import controlled_terms

    problems: list[str] = []
    terms = controlled_terms("Define-XML")
    for element in root.iter(f"{{{ARM_NS}}}*"):
        name = _prefixed(element.tag)
        if name not in ARM_MODEL:
            if name != "arm:Code":
                problems.append(f"line {element.sourceline}: {name} is not an ARM 1.0 element")
            continue
        where = f"{name} {element.get('OID') or ''}".rstrip()
        required, children = ARM_MODEL[name]
        problems += [f"{where}: no {a}" for a in required if not element.get(a)]
        for attribute, code in ARM_TERMS.items():
            value = element.get(attribute)
            if value is not None and value not in terms.codelist(code).terms:
                problems.append(f"{where}: {attribute} {value!r} is not a term of {code}")
        tags = [_prefixed(c.tag) for c in element if isinstance(c.tag, str)]
        position = 0
        for tag, least, most in children:
            count = 0
            while position < len(tags) and tags[position] == tag:
                position, count = position + 1, count + 1
            if not least <= count <= most:
                problems.append(f"{where}: {count} {tag}, ARM 1.0 wants {least} to {most}")
        if position < len(tags):
            problems.append(f"{where}: {tags[position]} is not allowed there")
    return problems


def check_documents(path: Path, later: Collection[str] = ()) -> list[str]:
    """The documents a define.xml names that are not beside it: each MetaDataVersion
    def:leaf (annotated CRF, supplemental documents) but those in `later` (files a later
    step writes: the reviewer's guides, at publication), and the xml-stylesheet."""
    path = Path(path)
    root = _parse(path).getroot()
    mdv = "/odm:ODM/odm:Study/odm:MetaDataVersion"
    problems = [
        f"def:leaf {href} does not exist beside define.xml"
        for href in map(str, root.xpath(f"{mdv}/def:leaf/@xlink:href", namespaces=NS))
        if href not in later and not (path.parent / href).is_file()
    ]
    for instruction in root.xpath("preceding-sibling::processing-instruction('xml-stylesheet')"):
        href = instruction.get("href")
        if not href or not (path.parent / href).is_file():
            problems.append(f"xml-stylesheet {href!r} does not exist beside define.xml")
    return problems


def check_define(path: Path, later: Collection[str] = ()) -> list[str]:
    """What the XSD cannot check; returns the problems found ([] when none):
    OID references (ItemRef, CodeListRef, MethodOID, CommentOID, ValueListRef,
    WhereClauseRef, RangeCheck def:ItemOID, def:StandardOID) resolve, every ItemDef is used,
    the Analysis Results Metadata follow ARM 1.0 (:func:`check_analysis_results`),
    every def:leaf file and the xml-stylesheet exist beside define.xml (:func:`check_documents`;
    `later`: documents written after define.xml), and each dataset's variables (names,
    order), label and character lengths are those of its XPT file."""
    path = Path(path)
    root = _parse(path).getroot()
    mdv = "/odm:ODM/odm:Study/odm:MetaDataVersion"
    problems: list[str] = []
    checks = (
        ("//odm:ItemRef/@ItemOID", f"{mdv}/odm:ItemDef/@OID", "ItemRef ItemOID"),
        ("//odm:CodeListRef/@CodeListOID", f"{mdv}/odm:CodeList/@OID", "CodeListRef"),
        ("//odm:ItemRef/@MethodOID", f"{mdv}/odm:MethodDef/@OID", "MethodOID"),
        ("//@def:CommentOID", f"{mdv}/def:CommentDef/@OID", "CommentOID"),
        ("//def:ValueListRef/@ValueListOID", f"{mdv}/def:ValueListDef/@OID", "ValueListRef"),
        ("//def:WhereClauseRef/@WhereClauseOID", f"{mdv}/def:WhereClauseDef/@OID", "WhereClause"),
        ("//odm:RangeCheck/@def:ItemOID", f"{mdv}/odm:ItemDef/@OID", "RangeCheck def:ItemOID"),
        ("//@def:StandardOID", f"{mdv}/def:Standards/def:Standard/@OID", "StandardOID"),
        ("//def:DocumentRef/@leafID", f"{mdv}/def:leaf/@ID", "DocumentRef leafID"),
        ("//arm:AnalysisResult/@ParameterOID", f"{mdv}/odm:ItemDef/@OID", "ARM ParameterOID"),
        ("//arm:AnalysisDataset/@ItemGroupOID", f"{mdv}/odm:ItemGroupDef/@OID", "ARM dataset"),
        ("//arm:AnalysisVariable/@ItemOID", f"{mdv}/odm:ItemDef/@OID", "ARM variable"),
    )
    for refs, targets, what in checks:
        problems += _dangling(root, refs, targets, what)
    used = _oids(root, "//odm:ItemRef/@ItemOID")
    problems += [
        f"ItemDef {oid!r} is not referenced"
        for oid in sorted(_oids(root, f"{mdv}/odm:ItemDef/@OID") - used)
    ]
    for oid in _oids(root, f"{mdv}/odm:ItemDef[def:Origin/@Type='Derived']/@OID"):
        refs = root.xpath(f"//odm:ItemRef[@ItemOID='{oid}']", namespaces=NS)
        if refs and not any(r.get("MethodOID") for r in refs):
            problems.append(f"{oid}: derived, but no ItemRef names its method")
    for group in root.xpath(f"{mdv}/odm:ItemGroupDef", namespaces=NS):
        problems += _check_group(root, group, path.parent)
    return problems + check_analysis_results(root) + check_documents(path, later)


def render_stylesheet(document: Path | etree._ElementTree) -> str:
    """The HTML page the project's stylesheet makes of a define.xml, as a browser shows it."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    transform = etree.XSLT(etree.parse(str(STYLESHEET), parser))
    return str(transform(_parse(document)))


def _check_group(root: etree._Element, group: etree._Element, folder: Path) -> list[str]:
    name = group.get("Name")
    hrefs = group.xpath("def:leaf/@xlink:href", namespaces=NS)
    if not hrefs:
        return [f"{name}: no def:leaf"]
    file = folder / str(hrefs[0])
    if not file.is_file():
        return [f"{name}: def:leaf {hrefs[0]} does not exist beside define.xml"]
    if file.suffix.lower() != ".xpt":
        return []
    _, meta = pyreadstat.read_xport(file, metadataonly=True)
    problems = []
    label = group.xpath("string(odm:Description/odm:TranslatedText)", namespaces=NS)
    if label != (meta.file_label or ""):
        problems.append(f"{name}: label {label!r} but {file.name} says {meta.file_label!r}")
    refs = sorted(
        group.xpath("odm:ItemRef", namespaces=NS), key=lambda r: int(r.get("OrderNumber", "0"))
    )
    items = {
        i.get("OID"): i for i in root.xpath("/odm:ODM/odm:Study/odm:MetaDataVersion/odm:ItemDef",
                                            namespaces=NS)
    }  # fmt: skip
    names = [items[r.get("ItemOID")].get("Name") for r in refs if r.get("ItemOID") in items]
    if names != list(meta.column_names):
        problems.append(f"{name}: variables {names} but {file.name} holds {meta.column_names}")
    for ref in refs:
        item = items.get(ref.get("ItemOID"))
        if item is None or item.get("Name") not in meta.variable_storage_width:
            continue
        var = str(item.get("Name"))
        if meta.readstat_variable_types.get(var) != "string" or item.get("DataType") != "text":
            continue
        width = int(meta.variable_storage_width[var])
        if item.get("Length") != str(width):
            problems.append(
                f"{name}.{var}: Length {item.get('Length')} but {file.name} stores {width}"
            )
    return problems
