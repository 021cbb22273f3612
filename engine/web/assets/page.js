// The live page of the simulator: server-rendered fragments, swapped in when the server's
// event stream says something changed. No framework, no build step.
"use strict";
(function () {
  const body = document.body;
  const csrf = body.dataset.csrf || "";
  const live = document.getElementById("live");
  const view = { page: 0, focus: new URLSearchParams(location.search).get("focus") || "" };
  let source = null;
  let busy = false;
  let again = false;

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $$(selector, root) { return Array.from((root || document).querySelectorAll(selector)); }

  async function fetchText(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!response.ok) throw new Error(response.status + " " + url);
    return response.text();
  }

  function filterQuery(extra) {
    const form = document.getElementById("filter");
    const params = new URLSearchParams();
    if (form) {
      for (const [key, value] of new FormData(form)) if (value) params.set(key, value);
    }
    for (const [key, value] of Object.entries(extra || {})) if (value) params.set(key, value);
    return params.toString();
  }

  function newestSeq() {
    const row = $("#rows tr.entry");
    return row ? Number(row.dataset.seq) : 0;
  }

  function timelineUrl(element) {
    const params = new URLSearchParams();
    if (view.page) params.set("page", view.page);
    if (view.focus) params.set("focus", view.focus);
    return element.dataset.fragment + "?" + params.toString();
  }

  // Everything the page shows, refreshed once per change (never more than one refresh at once).
  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      // every fragment fetched at once, each shown as it comes
      const parts = $$("#card, #consoles, #timeline").map(async (element) => {
        element.innerHTML = await fetchText(element.id === "timeline" ? timelineUrl(element) : element.dataset.fragment);
      });
      await Promise.all([...parts, newRows()]);
      mark();
    } catch (error) {
      live.textContent = "error";
    } finally {
      busy = false;
      if (again) { again = false; refresh(); }
    }
  }

  // Journal rows newer than the newest shown, on top; the rows kept are a window.
  async function newRows() {
    const table = $("table.entries");
    if (!table || table.dataset.paged) return;
    const rows = await fetchText(table.dataset.fragment + "?" + filterQuery({ after: String(newestSeq()) }));
    if (!rows) return;
    $("#rows").insertAdjacentHTML("afterbegin", rows);
    const entries = $$("#rows tr.entry");
    if (entries.length <= 200) return;
    for (const extra of entries.slice(200)) extra.remove();  // older ones are a click away
    const more = $("#rows button[data-more]");
    if (more) {
      const url = new URL(more.dataset.more, location.href);
      url.searchParams.set("before", entries[199].dataset.seq);
      more.dataset.more = url.pathname + url.search;
    } else {
      const href = table.dataset.fragment + "?" + filterQuery({ before: entries[199].dataset.seq });
      $("#rows").insertAdjacentHTML("beforeend", '<tr class="more"><td colspan="8"><button data-more="'
        + href + '">older entries</button></td></tr>');
    }
  }

  // The chosen job: its bar, its requests and the refusals it caused.
  function mark() {
    for (const element of $$(".selected, .mine, .caused")) element.classList.remove("selected", "mine", "caused");
    if (!view.focus) return;
    for (const job of $$("li.job")) if (job.dataset.job === view.focus) job.classList.add("selected");
    for (const row of $$("#rows tr.entry")) {
      if (row.dataset.blame === view.focus) row.classList.add("caused");
      else if (row.dataset.jobs.split(" ").includes(view.focus)) row.classList.add("mine");
    }
  }

  async function reloadJournal() {
    const table = $("table.entries");
    if (!table) return;
    delete table.dataset.paged;
    $("#rows").innerHTML = await fetchText(table.dataset.fragment + "?" + filterQuery());
    mark();
  }

  async function focus(key) {
    view.focus = key;
    view.page = 0;
    const timeline = document.getElementById("timeline");
    if (timeline) timeline.innerHTML = await fetchText(timelineUrl(timeline));
    const job = document.getElementById("job-" + key);
    if (job) job.scrollIntoView({ block: "nearest" });
    mark();
  }

  function connect() {
    if (!body.dataset.events) return;
    source = new EventSource(body.dataset.events);
    source.addEventListener("hello", () => { live.className = "live on"; live.textContent = "live"; });
    source.addEventListener("change", refresh);
    source.addEventListener("end", (event) => {
      source.close();
      const why = JSON.parse(event.data);
      live.className = "live off";
      live.textContent = why === "idle" ? "paused (click to resume)" : why === "stopping" ? "server stopped" : "ended";
    });
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        live.className = "live off";
        live.textContent = "reconnecting";
        setTimeout(connect, 5000);
      }
    };
  }

  async function control(actions, button) {
    const output = $(".controls .result");
    if (button && button.dataset.confirm && !confirm(button.dataset.confirm)) return;
    const response = await fetch(location.pathname + "/control", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(actions),
    });
    const answer = await response.json();
    output.textContent = response.ok ? "done: " + JSON.stringify(answer) : "refused (" + response.status + "): " + answer.error;
    output.className = "result " + (response.ok ? "ok" : "error");
    refresh();
  }

  document.addEventListener("click", async (event) => {
    const target = event.target.closest("a, button, tr.entry, #live");
    if (!target) return;
    if (target.id === "live" && (!source || source.readyState === EventSource.CLOSED)) { connect(); refresh(); return; }
    if (target.matches("a.job-link") && $("#timeline")) {
      event.preventDefault();
      const key = target.dataset.job;
      const form = document.getElementById("filter");
      if (form) form.elements.job.value = key;
      await focus(key);
      await reloadJournal();
      return;
    }
    if (target.matches("a.page")) {
      event.preventDefault();
      view.page = Number(target.dataset.page);
      view.focus = "";
      const timeline = document.getElementById("timeline");
      timeline.innerHTML = await fetchText(timelineUrl(timeline));
      return;
    }
    if (target.matches("button[data-more]")) {
      const table = $("table.entries");
      table.dataset.paged = "1";  // an older page is open: live rows would not belong
      const more = target.closest("tr");
      more.insertAdjacentHTML("afterend", await fetchText(target.dataset.more));
      more.remove();
      mark();
      return;
    }
    if (target.matches("button[data-control]")) {
      event.preventDefault();
      control(JSON.parse(target.dataset.control), target);
      return;
    }
    if (target.matches("tr.entry") && !event.target.closest("a")) {
      const next = target.nextElementSibling;
      if (next && next.classList.contains("detail")) { next.remove(); return; }
      const seq = target.dataset.seq;
      const html = await fetchText($("table.entries").dataset.fragment + "/" + seq);
      target.insertAdjacentHTML("afterend", '<tr class="detail"><td colspan="8">' + html + "</td></tr>");
    }
  });

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (form.id === "filter") {
      event.preventDefault();
      view.focus = form.elements.job.value;
      history.replaceState(null, "", location.pathname + "?" + filterQuery());
      await reloadJournal();
      mark();
    } else if (form.classList.contains("advance")) {
      event.preventDefault();
      control({ advance: form.elements.advance.value });
    }
  });

  // A real clock moves by itself: show it moving between events.
  const shown = Date.now();
  setInterval(() => {
    for (const clock of $$(".clock[data-virtual=false]")) {
      const now = new Date(Number(clock.dataset.now) + (Date.now() - shown));
      clock.textContent = now.toISOString().replace("T", " ").replace("Z", "");
    }
  }, 1000);

  mark();
  connect();
})();
