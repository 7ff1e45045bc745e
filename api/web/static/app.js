// volmatch pages: small progressive enhancements; every page works without them.
"use strict";

// How often counts still being built on the server are asked for again.
const COUNTS_POLL_MS = 1000;

// The CSRF token of the signed-in session, for script requests (header X-CSRF-Token).
function csrfToken() {
  const field = document.querySelector('input[name="csrf_token"]');
  return field ? field.value : "";
}

// Rows that can be added to a form (skills, languages ...): a button with
// data-add-row="ID" clones the <template id="ID"> into the element data-into names.
document.addEventListener("click", (event) => {
  const add = event.target.closest("[data-add-row]");
  if (add) {
    const tpl = document.getElementById(add.dataset.addRow);
    const into = document.getElementById(add.dataset.into);
    if (tpl && into) {
      into.appendChild(tpl.content.cloneNode(true));
      const inputs = into.querySelectorAll("input, select");
      if (inputs.length) inputs[inputs.length - 2 >= 0 ? inputs.length - 2 : 0].focus();
    }
    return;
  }
  const remove = event.target.closest("[data-remove-row]");
  if (remove) {
    const row = remove.closest(".row");
    if (!row) return;
    // The button goes with its row: keep the keyboard's place (the next row, else the
    // one before, else the section's "Add a row") instead of dropping it to the page.
    const near = row.nextElementSibling || row.previousElementSibling;
    const section = row.closest("fieldset");
    row.remove();
    const target = (near && near.querySelector("input, select"))
      || (section && section.querySelector("[data-add-row]"));
    if (target) target.focus();
  }
});

// A form that asks before it is sent: <form data-confirm="Question?"> (without scripts
// it is sent at once, as its button says).
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

// A live line fed by a page endpoint: <p data-live="/url" data-form="ID">. The form's
// fields are posted (with the CSRF token) a moment after the user stops typing.
function liveLine(line) {
  const form = document.getElementById(line.dataset.form);
  if (!form) return;
  let timer = null;
  let seq = 0;
  const update = async () => {
    const mine = ++seq;
    try {
      const response = await fetch(line.dataset.live, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-CSRF-Token": csrfToken() },
        credentials: "same-origin",
      });
      if (mine !== seq) return;
      const doc = await response.json();
      line.textContent = doc.line || "";
      line.dataset.state = doc.state || "";
      // still being counted on the server: ask again unless the user types meanwhile
      if (doc.state === "updating") timer = setTimeout(update, COUNTS_POLL_MS);
    } catch (err) {
      // The line stays as it was: the form itself still works.
    }
  };
  const later = () => { clearTimeout(timer); timer = setTimeout(update, 350); };
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  form.addEventListener("click", (e) => { if (e.target.closest("[data-remove-row]")) later(); });
  update();
}

// Counts still being built on the server: <p data-counts="/url"> is asked again every
// COUNTS_POLL_MS until it answers {ready: true, eligible: {id: n}}; each cell
// [data-count-for=id] then shows its count and the status line says they are current.
function pendingCounts(status) {
  const ask = async () => {
    try {
      const response = await fetch(status.dataset.counts, { credentials: "same-origin" });
      const doc = await response.json();
      if (!doc.ready) { setTimeout(ask, COUNTS_POLL_MS); return; }
      document.querySelectorAll("[data-count-for]").forEach((cell) => {
        const n = doc.eligible[cell.dataset.countFor];
        if (n === undefined) return;
        cell.textContent = String(n);
        cell.classList.remove("updating", "muted");
        if (n === 0) cell.classList.add("bad");
      });
      status.textContent = status.dataset.done || "";
      if (!status.textContent) status.remove();
    } catch (err) {
      setTimeout(ask, COUNTS_POLL_MS * 5);  // the Refresh link still works
    }
  };
  setTimeout(ask, COUNTS_POLL_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-live]").forEach(liveLine);
  document.querySelectorAll("[data-counts]").forEach(pendingCounts);
});
