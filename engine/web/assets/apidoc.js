// /api_doc: send an operation's request from its form and show the answer.
"use strict";
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!form.classList.contains("try")) return;
  event.preventDefault();
  const headers = {};
  const query = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    if (!value) continue;
    if (name.startsWith("h:")) headers[name.slice(2)] = value;
    if (name.startsWith("q:")) query.set(name.slice(2), value);
  }
  const path = form.elements.path.value;
  const sec = document.getElementById("sec").value;
  const bearer = document.getElementById("bearer").value;
  if (path.startsWith("/simulator") && bearer) headers.Authorization = "Bearer " + bearer;
  else if (sec) headers.SEC = sec;
  const init = { method: form.dataset.method, headers, credentials: "omit" };
  if (form.elements.body && form.elements.body.value) {
    init.body = form.elements.body.value;
    headers["Content-Type"] = "application/json";
  }
  const answer = form.querySelector(".answer");
  try {
    const response = await fetch(path + (query.toString() ? "?" + query : ""), init);
    const text = await response.text();
    let shown = text;
    try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (error) { /* not JSON */ }
    answer.textContent = response.status + " " + response.statusText + "\n" + shown;
  } catch (error) {
    answer.textContent = String(error);
  }
});
