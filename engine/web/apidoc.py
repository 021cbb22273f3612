"""`/api_doc`: the OpenAPI document rendered for people, as a console's interactive API page.

Drawn on the server from `engine.api.openapi.document()` (nothing is fetched from elsewhere):
operations grouped by tag, each with its parameters, request body, answers and the unique codes
of each status, and a small form (`apidoc.js`) that sends the request with a SEC token and shows
what came back. Schemas are listed once at the end and linked from where they are used.
"""

from __future__ import annotations

import json
from typing import Any

from engine.web.render import ASSETS, e

_REF = "#/components/schemas/"


def _schema(schema: Any) -> str:
    """A schema in a line or a block: a link for a `$ref`, the type and its details else."""
    if not isinstance(schema, dict):
        return ""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_REF):
        name = ref[len(_REF) :]
        return f'<a href="#schema-{e(name)}">{e(name)}</a>'
    if schema.get("type") == "array":
        return f"array of {_schema(schema.get('items'))}"
    text = e(schema.get("type", "any"))
    if "enum" in schema:
        text += " (" + ", ".join(e(v) for v in schema["enum"]) + ")"
    if "pattern" in schema:
        text += f" <code>{e(schema['pattern'])}</code>"
    if schema.get("type") == "object" and "properties" in schema:
        required = set(schema.get("required", ()))
        items = "".join(
            f"<li><code>{e(k)}</code>{'*' if k in required else ''}: {_schema(v)}</li>"
            for k, v in schema["properties"].items()
        )
        text += f"<ul>{items}</ul>"
    return text


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    params = op.get("parameters", [])
    rows = "".join(
        f"<tr><td><code>{e(p['name'])}</code>{'*' if p.get('required') else ''}</td>"
        f"<td>{e(p['in'])}</td><td>{_schema(p.get('schema'))}</td>"
        f"<td>{e(p.get('description', ''))}</td></tr>"
        for p in params
    )
    table = (
        f'<table class="params"><tr><th>name</th><th>in</th><th>schema</th>'
        f"<th>description</th></tr>{rows}</table>"
        if rows
        else ""
    )
    body = ""
    request_body = op.get("requestBody")
    if isinstance(request_body, dict):
        content = request_body.get("content", {}).get("application/json", {})
        body = f"<h4>Request body</h4><div>{_schema(content.get('schema'))}</div>"
    answers = []
    for status, answer in op.get("responses", {}).items():
        uniques = answer.get("x-qradar-unique-codes", [])
        codes = ", ".join(e(u.get("code", u) if isinstance(u, dict) else u) for u in uniques)
        content = answer.get("content", {}).get("application/json", {})
        answers.append(
            f"<tr><td>{e(status)}</td><td>{e(answer.get('description', ''))}</td>"
            f"<td>{codes}</td><td>{_schema(content.get('schema'))}</td></tr>"
        )
    query = [p["name"] for p in params if p.get("in") == "query"]
    headers = [p["name"] for p in params if p.get("in") == "header"]
    form = (
        f'<form class="try" data-method="{e(method.upper())}" data-path="{e(path)}" '
        f'data-query="{e(json.dumps(query))}" data-headers="{e(json.dumps(headers))}">'
        f'<label>path <input name="path" value="{e(path)}" size="50"></label>'
        + "".join(f'<label>{e(q)} <input name="q:{e(q)}" size="12"></label>' for q in query)
        + "".join(f'<label>{e(h)} <input name="h:{e(h)}" size="12"></label>' for h in headers)
        + (
            '<label>body <textarea name="body" rows="3" cols="50"></textarea></label>'
            if request_body
            else ""
        )
        + '<button>send</button><pre class="answer"></pre></form>'
    )
    anchor = op.get("operationId", f"{method}-{path}")
    return (
        f'<details class="op" id="op-{e(anchor)}"><summary><span class="method '
        f'm-{e(method)}">{e(method.upper())}</span> <code>{e(path)}</code> '
        f"{e(op.get('summary', ''))}</summary>"
        f"<p>{e(op.get('description', ''))}</p>{table}{body}"
        '<h4>Answers</h4><table class="answers"><tr><th>status</th><th>description</th>'
        f"<th>unique codes</th><th>body</th></tr>{''.join(answers)}</table>{form}</details>"
    )


def api_doc(document: dict[str, Any]) -> str:
    info = document.get("info", {})
    tags = [t["name"] for t in document.get("tags", [])]
    by_tag: dict[str, list[str]] = {tag: [] for tag in tags}
    for path, methods in document.get("paths", {}).items():
        for method, op in methods.items():
            if not isinstance(op, dict) or method.startswith("x-") or method == "parameters":
                continue
            tag = (op.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append(_operation(path, method, op))
    descriptions = {t["name"]: t.get("description", "") for t in document.get("tags", [])}
    sections = "".join(
        f'<section id="tag-{e(tag)}"><h2>{e(tag)}</h2><p>{e(descriptions.get(tag, ""))}</p>'
        f"{''.join(ops)}</section>"
        for tag, ops in by_tag.items()
        if ops
    )
    schemas = "".join(
        f'<details class="schema" id="schema-{e(name)}"><summary>{e(name)}</summary>'
        f"<div>{_schema(schema)}</div><pre>{e(json.dumps(schema, indent=2))}</pre></details>"
        for name, schema in document.get("components", {}).get("schemas", {}).items()
    )
    nav = "".join(f'<a href="#tag-{e(t)}">{e(t)}</a>' for t in by_tag if by_tag[t])
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(info.get('title', 'API'))}</title>"
        f'<link rel="stylesheet" href="{ASSETS}/page.css">'
        f'<script src="{ASSETS}/apidoc.js" defer></script></head><body class="apidoc">'
        '<header><a class="home" href="/">QRadar BRE simulator</a>'
        f"<span>API {e(info.get('version', ''))}</span>"
        '<a href="/openapi.json">openapi.json</a></header><main>'
        f"<h1>{e(info.get('title', ''))}</h1><p>{e(info.get('description', ''))}</p>"
        '<p class="auth"><label>SEC token for the forms below <input id="sec" '
        'autocomplete="off"></label> <label>or admin credential (for /simulator) '
        '<input id="bearer" autocomplete="off"></label></p>'
        f'<nav class="tags">{nav}</nav>{sections}<section><h2>Schemas</h2>{schemas}</section>'
        "</main></body></html>"
    )
