"""The page's HTML, drawn on the server from the values of `views` (every text escaped).

Whole pages and the fragments the page swaps in when an event says something changed: a
console's card, its timeline (one page of jobs), journal rows, one entry's bodies.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from engine.api.journal import Entry
from engine.web.access import Viewer
from engine.web.views import REFUSALS, ConsoleSummary, Filter, JobView, Row, Segment

ASSETS = "/ui/assets"
JOBS_PER_PAGE = 50


def e(value: object) -> str:
    return escape(str(value), quote=True)


def instant(ms: int | None, *, date: bool = False) -> str:
    """A console-clock instant in UTC: `12:00:05.250` (with the date when asked)."""
    if ms is None:
        return ""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    text = moment.strftime("%H:%M:%S.%f")[:-3]
    return f"{moment:%Y-%m-%d} {text}" if date else text


def span(ms: float) -> str:
    """A duration as people read it: `250 ms`, `5 s`, `2 min 5 s`, `3 h 20 min`."""
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.3g} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def page(
    title: str, body: str, viewer: Viewer | None, *, data: dict[str, str] | None = None
) -> str:
    attributes = "".join(f' data-{k}="{e(v)}"' for k, v in (data or {}).items())
    who = ""
    if viewer is not None:
        role = "admin" if viewer.admin else f"console {e(viewer.console)} (read-only)"
        who = (
            f'<span class="who">{role}</span>'
            '<form method="post" action="/ui/logout"><button>Sign out</button></form>'
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title>"
        f'<link rel="stylesheet" href="{ASSETS}/page.css">'
        f'<script src="{ASSETS}/page.js" defer></script></head>'
        f'<body{attributes}><header><a class="home" href="/">QRadar BRE simulator</a>'
        f'<span id="live" class="live" title="live updates">live</span>{who}'
        '<a href="/api_doc">API</a></header>'
        f"<main>{body}</main></body></html>"
    )


def sign_in(message: str = "") -> str:
    note = f'<p class="error">{e(message)}</p>' if message else ""
    return page(
        "Sign in",
        '<section class="signin"><h1>Sign in</h1>'
        "<p>The admin credential (the <code>admin=</code> of the server's ready line) shows every "
        "console with its controls; a console's SEC token, or its user name and password, that "
        f"console alone.</p>{note}"
        '<form method="post" action="/ui/login">'
        '<label>Token (or the password) <input name="token" type="password" '
        'autocomplete="off"></label>'
        "<details><summary>User name and password instead</summary>"
        '<label>User <input name="user" autocomplete="username"></label></details>'
        "<button>Sign in</button></form></section>",
        None,
    )


def _gate(summary: ConsoleSummary, base: str) -> str:
    gate = summary.gate
    if gate.rebalancing:
        return '<span class="gate held">held: data rebalancing</span>'
    if gate.holder is None:
        return '<span class="gate free">free</span>'
    since = f" since {instant(gate.since_ms)}" if gate.since_ms is not None else ""
    label = gate.holder.replace("-", " ")
    return (
        f'<span class="gate held">held by <a class="job-link" data-job="{e(gate.holder)}" '
        f'href="{base}?focus={e(gate.holder)}">{e(label)}</a>{e(since)}</span>'
    )


def _switch(on: bool) -> str:
    return '<b class="sw-on">on</b>' if on else '<span class="sw-off">off</span>'


def card(summary: ConsoleSummary) -> str:
    base = f"/ui/consoles/{quote(summary.id, safe='')}"
    clock = "virtual" if summary.virtual else "real"
    deadline = ""
    if summary.next_deadline_ms is not None:
        deadline = f"<dt>next deadline</dt><dd>{e(instant(summary.next_deadline_ms))}</dd>"
    return (
        f'<article class="card" id="console-{e(summary.id)}" data-console="{e(summary.id)}">'
        f'<h2><a href="{base}">{e(summary.id)}</a></h2><dl>'
        f"<dt>release</dt><dd>{e(summary.release)}</dd>"
        f'<dt>clock</dt><dd><span class="clock" data-now="{summary.now_ms}" '
        f'data-virtual="{str(summary.virtual).lower()}">{e(instant(summary.now_ms, date=True))}'
        f"</span> ({clock})</dd>{deadline}"
        f"<dt>rebalancing</dt><dd>{_switch(summary.rebalancing)}</dd>"
        f"<dt>outage during restore</dt><dd>{_switch(summary.outage)}</dd>"
        f"<dt>gate</dt><dd>{_gate(summary, base)}</dd>"
        f"<dt>records</dt><dd>{summary.restores} restores, {summary.backups} backups</dd>"
        f"<dt>journal</dt><dd>{summary.journal_kept} kept of {summary.journal_total}</dd>"
        "</dl></article>"
    )


def consoles(summaries: Sequence[ConsoleSummary]) -> str:
    if not summaries:
        return '<p class="empty">No console.</p>'
    return "".join(card(s) for s in summaries)


def _segment(seg: Segment, left: float, width: float) -> str:
    until = f" to {instant(seg.end_ms)} ({span(seg.end_ms - seg.start_ms)})" if seg.end_ms else ""
    title = f"{seg.status} from {instant(seg.start_ms)}{until}"
    if seg.end_ms is None and not seg.final:
        title += " (ongoing)"
    classes = f"seg s-{e(seg.status)}" + (" final" if seg.final else "")
    return (
        f'<span class="{classes}" data-status="{e(seg.status)}" title="{e(title)}" '
        f'style="left:{left:.3f}%;width:{width:.3f}%">{e(seg.status)}</span>'
    )


def _bar(job: JobView, start: int, end: int) -> str:
    if not job.known:  # seeded, or run before this process started: the record alone
        return '<span class="bar unknown">phases not seen by this server</span>'
    total = max(end - start, 1)
    parts = []
    for seg in job.segments:
        left = min(max((seg.start_ms - start) / total * 100, 0.0), 100.0)
        stop = end if seg.end_ms is None else seg.end_ms
        width = max((stop - seg.start_ms) / total * 100, 0.0)
        if seg.final or width < 0.8:
            width = 0.8  # an end state, or an instant: a visible cap
        parts.append(_segment(seg, min(left, 99.2), min(width, 100.0 - min(left, 99.2))))
    return f'<span class="bar">{"".join(parts)}</span>'


def _badges(job: JobView) -> str:
    marks = [
        ("external", job.external, "started from the console's UI"),
        ("hung", job.hung, "outcome HANG: stays IN_PROGRESS until stepped"),
        ("faulted", job.faulted, "the engine could not advance it (see the history)"),
        ("unlisted", not job.listed, "the API does not list its record"),
        ("gate", job.holds_gate, "holds the engine gate"),
    ]
    return "".join(
        f'<span class="badge {name}" title="{e(why)}">{name}</span>'
        for name, on, why in marks
        if on
    )


def timeline(
    summary: ConsoleSummary,
    jobs: Sequence[JobView],
    page_number: int,
    pages: int,
    focus: str = "",
    admin: bool = False,
) -> str:
    """One page of jobs, newest first, each a bar of its phases on the console's clock."""
    base = f"/ui/consoles/{quote(summary.id, safe='')}"
    if not jobs:
        return '<p class="empty">No restore or backup yet.</p>'
    drawn = [j for j in jobs if j.known] or list(jobs)
    starts = [s.start_ms for j in drawn for s in j.segments]
    start = min(starts) if starts else summary.now_ms
    ends = [s.end_ms or s.start_ms for j in drawn for s in j.segments]
    end = max([summary.now_ms, *ends])
    rows = []
    for job in jobs:
        step = ""
        if admin and (job.holds_gate or job.status == "IN_PROGRESS"):
            body = json.dumps({"step": {"kind": job.kind.value, "id": job.id}})
            step = f'<button class="control small" data-control="{e(body)}">step</button>'
        selected = " selected" if job.key == focus else ""
        rows.append(
            f'<li class="job{selected}" id="job-{e(job.key)}" data-job="{e(job.key)}" '
            f'data-status="{e(job.status)}"><span class="label">'
            f'<a class="job-link" data-job="{e(job.key)}" href="{base}?focus={e(job.key)}">'
            f'{e(job.kind.value)} {job.id}</a> <span class="status s-{e(job.status)}">'
            f"{e(job.status)}</span>{_badges(job)}{step}</span>{_bar(job, start, end)}</li>"
        )
    pager = ""
    if pages > 1:
        links = []
        if page_number > 1:
            links.append(
                f'<a class="page" data-page="{page_number - 1}" '
                f'href="{base}?page={page_number - 1}">newer</a>'
            )
        links.append(f"<span>page {page_number} of {pages}</span>")
        if page_number < pages:
            links.append(
                f'<a class="page" data-page="{page_number + 1}" '
                f'href="{base}?page={page_number + 1}">older</a>'
            )
        pager = f'<nav class="pager">{"".join(links)}</nav>'
    return (
        f'<div class="axis"><span>{e(instant(start, date=True))}</span>'
        f"<span>{e(span(end - start))}</span><span>{e(instant(end))}</span></div>"
        f'<ol class="jobs" data-page="{page_number}">{"".join(rows)}</ol>{pager}'
    )


def journal_rows(found: Iterable[Row]) -> str:
    out = []
    for r in found:
        job = (
            f'<a class="job-link" data-job="{e(r.job)}" href="#job-{e(r.job)}">'
            f"{e(r.job.replace('-', ' '))}</a>"
            if r.job
            else ""
        )
        blame = (
            f'<a class="job-link blame" data-job="{e(r.blame)}" href="#job-{e(r.blame)}">'
            f"held by {e(r.blame.replace('-', ' '))}</a>"
            if r.blame
            else ""
        )
        kind = "ok" if r.status < 400 else ("refused" if r.status in REFUSALS else "error")
        related = " ".join(k for k in (r.job, r.blame) if k)
        query = f"?{r.query}" if r.query else ""
        out.append(
            f'<tr class="entry {kind}" data-seq="{r.seq}" data-jobs="{e(related)}" '
            f'data-blame="{e(r.blame or "")}"><td>{r.seq}</td><td>{e(instant(r.at_ms))}</td>'
            f'<td>{e(r.method)}</td><td class="path">{e(r.path + query)}</td>'
            f'<td class="code">{r.status}</td><td>{"" if r.code is None else r.code}</td>'
            f"<td>{r.duration_ms:.1f} ms</td><td>{job}{' ' if job and blame else ''}{blame}</td>"
            "</tr>"
        )
    return "".join(out)


def journal_more(console: str, keep: Filter, cursor: int | None) -> str:
    if cursor is None:
        return ""
    query = urlencode(
        {
            k: v
            for k, v in (
                ("status", keep.status),
                ("path", keep.path),
                ("job", keep.job),
                ("before", cursor),
            )
            if v
        }
    )
    href = f"/ui/consoles/{quote(console, safe='')}/journal?{query}"
    return (
        f'<tr class="more"><td colspan="8"><button data-more="{e(href)}">older entries'
        "</button></td></tr>"
    )


def _pretty(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return str(value)
    return json.dumps(value, indent=2, ensure_ascii=False)


def bodies(entry: Entry) -> str:
    """One entry's request and response, headers and bodies (as journaled, clipped)."""

    def headers(values: dict[str, str]) -> str:
        return "\n".join(f"{k}: {v}" for k, v in values.items()) or "(none)"

    return (
        f'<div class="bodies" data-seq="{entry.seq}"><section><h4>Request</h4>'
        f"<pre>{e(entry.method)} {e(entry.path)}{'?' + e(entry.query) if entry.query else ''}\n"
        f'{e(headers(entry.headers))}</pre><pre class="body">{e(_pretty(entry.body))}</pre>'
        f"</section><section><h4>Response {entry.status}</h4>"
        f"<pre>{e(headers(entry.response_headers))}</pre>"
        f'<pre class="body">{e(_pretty(entry.response))}</pre></section></div>'
    )


def controls(summary: ConsoleSummary) -> str:
    """The control surface's actions, each a mapping of the control language sent as is."""

    def button(label: str, actions: dict[str, Any], *, confirm: str = "") -> str:
        extra = f' data-confirm="{e(confirm)}"' if confirm else ""
        return (
            f'<button class="control" data-control="{e(json.dumps(actions))}"{extra}>'
            f"{e(label)}</button>"
        )

    advance = ""
    if summary.virtual:
        advance = (
            '<form class="advance"><label>advance the clock by '
            '<input name="advance" value="1s" size="6"></label>'
            "<button>advance</button></form>"
        )
    return (
        '<section class="controls"><h3>Controls</h3>'
        f"{advance}"
        f"{button('step restore', {'step': 'restore'})}"
        f"{button('step backup', {'step': 'backup'})}"
        f"{button('rebalancing on', {'rebalancing': True})}"
        f"{button('rebalancing off', {'rebalancing': False})}"
        f"{button('outage on', {'outage_during_restore': True})}"
        f"{button('outage off', {'outage_during_restore': False})}"
        f"{button('external restore: start', {'external_restore': 'start'})}"
        f"{button('external restore: finish', {'external_restore': 'finish'})}"
        f"{button('reset', {'reset': True}, confirm='Back to the console world?')}"
        '<output class="result"></output></section>'
    )


def console_page(
    summary: ConsoleSummary, timeline_html: str, rows_html: str, keep: Filter, *, admin: bool
) -> str:
    base = f"/ui/consoles/{quote(summary.id, safe='')}"
    statuses = ["", "2xx", "4xx", "5xx", "200", "201", "404", "409", "422", "503"]
    options = "".join(
        f'<option value="{s}"{" selected" if s == keep.status else ""}>{s or "any status"}</option>'
        for s in statuses
    )
    return (
        f'<nav class="crumbs"><a href="/">consoles</a> / {e(summary.id)}</nav>'
        f'<div id="card" data-fragment="{base}/card">{card(summary)}</div>'
        f"{controls(summary) if admin else ''}"
        f'<section class="timeline"><h3>Restores and backups</h3>'
        '<p class="legend">'
        + "".join(
            f'<span class="seg s-{s}">{s}</span>'
            for s in ("PENDING", "REQUESTING", "INITIALIZING", "IN_PROGRESS", "SUCCESS", "FAILED")
        )
        + "</p>"
        f'<div id="timeline" data-fragment="{base}/jobs">{timeline_html}</div></section>'
        '<section class="journal"><h3>Journal</h3>'
        f'<form id="filter" class="filter" action="{base}"><label>status '
        f'<select name="status">{options}</select></label>'
        f'<label>path <input name="path" value="{e(keep.path)}" placeholder="/restores"></label>'
        f'<label>job <input name="job" value="{e(keep.job)}" placeholder="restore-1" size="10">'
        "</label><button>filter</button></form>"
        f'<table class="entries" data-fragment="{base}/journal"><thead><tr><th>#</th>'
        "<th>time</th><th>method</th><th>path</th><th>status</th><th>code</th><th>latency</th>"
        f'<th>job</th></tr></thead><tbody id="rows">{rows_html}</tbody></table></section>'
    )
