"""define.html: a reviewer's view of the Define-XML model (one self-contained page).

Rendered with Jinja2 (autoescaped) from the same model as define.xml: a table of contents
of the datasets, then per dataset its variables (name, label, type, length, origin,
controlled terms, method or comment), the value-level metadata, the codelists and external
dictionaries, the methods and the comments, all cross-linked by OID anchors.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import jinja2
from markupsafe import Markup

from transforms.define.model import Define, Item

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ d.study_name }} {{ layer }} Define-XML</title>
<style>
body { font-family: Arial, Helvetica, sans-serif; font-size: 13px; margin: 1.5em; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 2em; border-bottom: 2px solid #456; }
h3 { font-size: 14px; margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #bbb; padding: 3px 6px; vertical-align: top; text-align: left; }
th { background: #e8edf2; }
tr:nth-child(even) td { background: #f7f9fb; }
.key { font-weight: bold; } .muted { color: #777; } .ext { color: #a40; }
nav ul { columns: 2; } code { font-size: 12px; }
</style>
</head>
<body>
<h1>{{ d.study_name }}: {{ layer }} data definitions (Define-XML {{ version }})</h1>
<p>{{ d.study_description }}</p>
<table>
<tr><th>Study</th><td>{{ d.study_name }}</td></tr>
<tr><th>Metadata version</th><td>{{ d.mdv_name }} (<code>{{ d.mdv_oid }}</code>)</td></tr>
<tr><th>Created</th><td>{{ d.created.isoformat(timespec="seconds") }}</td></tr>
<tr><th>Standards</th><td>{% for s in d.standards %}{{ s.name }} {{ s.version }}
{%- if s.publishing_set %} ({{ s.publishing_set }}){% endif %}{% if not loop.last %}; {% endif %}
{%- endfor %}</td></tr>
</table>

<nav><h2 id="toc">Datasets</h2>
<table>
<tr><th>Dataset</th><th>Label</th><th>Class</th><th>Structure</th><th>Purpose</th>
<th>Keys</th><th>Records</th><th>File</th></tr>
{% for g in d.groups %}
<tr><td><a href="#{{ g.oid }}">{{ g.name }}</a></td><td>{{ g.label }}</td>
<td>{{ g.class_ }}{% if g.subclass %} / {{ g.subclass }}{% endif %}</td><td>{{ g.structure }}</td>
<td>{{ g.purpose }}</td><td>{{ keys[g.oid] | join(", ") }}</td><td>{{ g.records }}</td>
<td><a href="{{ g.href }}">{{ g.href }}</a></td></tr>
{% endfor %}
</table>
<ul>
<li><a href="#documents">Documents</a></li>
{% if d.analysis_results %}<li><a href="#analysis-results">Analysis results</a></li>{% endif %}
<li><a href="#value-level">Value-level metadata</a></li>
<li><a href="#codelists">Controlled terminology and dictionaries</a></li>
<li><a href="#methods">Methods</a></li>
<li><a href="#comments">Comments</a></li>
</ul>
</nav>

<h2 id="documents">Documents</h2>
{% if d.annotated_crf or d.supplemental %}
<table>
<tr><th>Document</th><th>Title</th><th>File</th></tr>
{% if d.annotated_crf %}{% set crf = d.annotated_crf %}
<tr id="{{ crf.leaf_id }}"><td>Annotated CRF</td><td>{{ crf.title }}</td>
<td><a href="{{ crf.href }}">{{ crf.href }}</a></td></tr>
{% endif %}{% for doc in d.supplemental %}
<tr id="{{ doc.leaf_id }}"><td>Supplemental document</td><td>{{ doc.title }}</td>
<td><a href="{{ doc.href }}">{{ doc.href }}</a></td></tr>
{% endfor %}
</table>
{% else %}<p class="muted">None.</p>
{% endif %}

{% for g in d.groups %}
<h2 id="{{ g.oid }}">{{ g.name }}: {{ g.label }}</h2>
<p>{{ g.structure }}. {{ g.records }} record(s) in <a href="{{ g.href }}">{{ g.href }}</a>.
{% if g.comment_oid %} <a href="#{{ g.comment_oid }}">Comment</a>.{% endif %}
<a href="#toc">Back to datasets</a></p>
<table>
<tr><th>#</th><th>Variable</th><th>Label</th><th>Type</th><th>Length</th><th>Format</th>
<th>Controlled terms</th><th>Origin</th><th>Method / comment</th>
<th>Mandatory</th><th>Key</th></tr>
{% for r in g.refs %}{% set i = items[r.item_oid] %}
<tr id="{{ i.oid }}"><td>{{ r.order }}</td>
<td class="{{ 'key' if r.key_sequence else '' }}">{{ i.name }}</td>
<td>{{ i.label }}</td><td>{{ i.data_type }}</td>
<td>{{ length(i) }}</td><td>{{ i.display_format or "" }}</td>
<td>{% if i.codelist_oid %}
<a href="#{{ i.codelist_oid }}">{{ codelists[i.codelist_oid].name }}</a><br>
{% endif %}
{% if i.value_list_oid %}<a href="#{{ i.value_list_oid }}">value-level metadata</a>{% endif %}
</td>
<td>{{ origin(i) }}{{ crf_link(i) }}</td>
<td>{% if r.method_oid %}
<a href="#{{ r.method_oid }}">{{ methods[r.method_oid].text }}</a><br>
{% endif %}
{% if i.comment_oid %}
<a href="#{{ i.comment_oid }}">{{ comments[i.comment_oid].text }}</a>
{% endif %}
{% if r.has_no_data %}<span class="muted">(no data)</span>{% endif %}
</td>
<td>{{ "Yes" if r.mandatory else "No" }}</td><td>{{ r.key_sequence or "" }}</td></tr>
{% endfor %}
</table>
{% endfor %}

{% if d.analysis_results %}
<h2 id="analysis-results">Analysis results</h2>
{% for a in d.analysis_results %}
<h3 id="{{ a.display_oid }}">{{ a.display }}: {{ a.description }}</h3>
<table id="{{ a.result_oid }}">
<tr><th>Analysis result</th><td>{{ a.result }}</td></tr>
<tr><th>Analysis parameter</th><td>{{ items[a.parameter_oid].name }}</td></tr>
<tr><th>Reason</th><td>{{ a.reason }}</td></tr>
<tr><th>Purpose</th><td>{{ a.purpose }}</td></tr>
<tr><th>Datasets</th><td><a href="#{{ a.group_oid }}">{{ groups[a.group_oid].name }}</a>
where {{ where[a.where_oid].text }}:
{% for o in a.variable_oids %}{{ items[o].name }}{% if not loop.last %}, {% endif %}{% endfor %}
</td></tr>
<tr><th>Documentation</th><td>{{ a.documentation }}</td></tr>
<tr><th>Programming code</th><td>{{ a.context }}: <code>{{ a.code }}</code></td></tr>
</table>
{% endfor %}
{% endif %}

<h2 id="value-level">Value-level metadata</h2>
{% for vl in d.value_lists %}
<h3 id="{{ vl.oid }}">{{ vl.dataset }}.{{ vl.variable }}</h3>
<table>
<tr><th>Where</th><th>Label</th><th>Type</th><th>Length</th><th>Significant digits</th>
<th>Controlled terms</th><th>Origin</th><th>Method / comment</th><th>Mandatory</th></tr>
{% for r in vl.refs %}{% set i = items[r.item_oid] %}
<tr id="{{ i.oid }}"><td>{{ i.where_text }}</td><td>{{ i.label }}</td><td>{{ i.data_type }}</td>
<td>{{ length(i) }}</td><td>{{ i.digits if i.digits is not none else "" }}</td>
<td>{% if i.codelist_oid %}
<a href="#{{ i.codelist_oid }}">{{ codelists[i.codelist_oid].name }}</a>
{% endif %}</td>
<td>{{ origin(i) }}{{ crf_link(i) }}</td>
<td>{% if r.method_oid %}
<a href="#{{ r.method_oid }}">{{ methods[r.method_oid].text }}</a><br>
{% endif %}
{% if i.comment_oid %}
<a href="#{{ i.comment_oid }}">{{ comments[i.comment_oid].text }}</a>
{% endif %}</td>
<td>{{ "Yes" if r.mandatory else "No" }}</td></tr>
{% endfor %}
</table>
{% else %}<p class="muted">None.</p>
{% endfor %}

<h2 id="codelists">Controlled terminology and dictionaries</h2>
{% for c in d.codelists %}
<h3 id="{{ c.oid }}">{{ c.name }}{% if c.code %} ({{ c.code }}){% endif %}</h3>
{% if c.description %}<p>{{ c.description }}</p>{% endif %}
{% if c.dictionary %}
<p>External dictionary: {{ c.dictionary }},
{% if c.version %}version {{ c.version }}
{% else %}<span class="ext">version not given</span>{% endif %}
{% if c.href %}(<a href="{{ c.href }}">{{ c.href }}</a>){% endif %}.</p>
{% else %}
<p class="muted">{{ "Extensible" if c.extensible else "Not extensible" }}; {{ c.data_type }};
terms used by the data or the specs only.</p>
<table>
<tr><th>Value</th>{% if c.decoded %}<th>Decode</th>{% endif %}<th>NCI code</th><th></th></tr>
{% for t in c.terms %}
<tr><td>{{ t.value }}</td>{% if c.decoded %}<td>{{ t.decode }}</td>{% endif %}
<td>{{ t.code or "" }}</td>
<td>{% if t.extended %}<span class="ext">sponsor extension</span>{% endif %}</td></tr>
{% endfor %}
</table>
{% endif %}
{% endfor %}

<h2 id="methods">Methods</h2>
<table>
<tr><th>Method</th><th>Type</th><th>Description</th></tr>
{% for m in d.methods %}
<tr id="{{ m.oid }}"><td>{{ m.name }}</td><td>{{ m.type }}</td><td>{{ m.text }}</td></tr>
{% endfor %}
</table>

<h2 id="comments">Comments</h2>
<table>
<tr><th>Comment</th><th>Text</th></tr>
{% for c in d.comments %}
<tr id="{{ c.oid }}"><td><code>{{ c.oid }}</code></td><td>{{ c.text }}</td></tr>
{% endfor %}
</table>
</body>
</html>
"""


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    return env.from_string(_TEMPLATE)


def _length(item: Item) -> str:
    """Define Length, or (in brackets) the XPT width of an ISO 8601 variable, which has none."""
    if item.length is not None:
        return str(item.length)
    return f"({item.xpt_length})" if item.xpt_length is not None else ""


def _origin(item: Item) -> str:
    text = item.origin + (f" ({item.source})" if item.source else "")
    return text + (f": {item.origin_text}" if item.origin_text else "")


def _crf_link(define: Define) -> Callable[[Item], Markup]:
    """The link of a collected item to its pages of the annotated CRF (empty without)."""

    def link(item: Item) -> Markup:
        crf = define.annotated_crf
        if crf is None or not item.pages:
            return Markup("")
        pages = " ".join(map(str, item.pages))
        return Markup(' <a href="{}#page={}">{} p. {}</a>').format(
            crf.href, item.pages[0], crf.title, pages
        )

    return link


def render_html(define: Define) -> str:
    """The HTML page of a Define-XML model."""
    from transforms.define.xml import DEFINE_VERSION

    items = {i.oid: i for i in define.items}
    keys = {
        g.oid: [
            items[r.item_oid].name
            for r in sorted(g.refs, key=lambda r: r.key_sequence or 0)
            if r.key_sequence
        ]
        for g in define.groups
    }
    return _template().render(
        d=define,
        layer="SDTM" if define.layer == "sdtm" else "ADaM",
        version=DEFINE_VERSION,
        items=items,
        keys=keys,
        codelists={c.oid: c for c in define.codelists},
        methods={m.oid: m for m in define.methods},
        comments={c.oid: c for c in define.comments},
        groups={g.oid: g for g in define.groups},
        where={w.oid: w for w in define.where_clauses},
        length=_length,
        origin=_origin,
        crf_link=_crf_link(define),
    )
