// Planner pages: the progress bar of a running scenario, fed by the run's server-sent
// events (as for rounds). Without scripts the page reloads itself instead.
"use strict";

function followRun(card) {
  const bar = document.getElementById("progress");
  const label = document.getElementById("progress-label");
  const state = document.getElementById("run-state");
  const source = new EventSource(card.dataset.events);
  source.addEventListener("progress", (event) => {
    const run = JSON.parse(event.data);
    const p = run.progress || {};
    bar.max = p.total || 1;
    bar.value = p.done || 0;
    label.textContent = card.dataset.solving + ": " + (p.done || 0) + " / " + (p.total || 0) +
      (p.name ? " (" + card.dataset.last + ": " + p.name + ")" : "");
    state.textContent = run.status;
  });
  source.addEventListener("end", (event) => {
    source.close();
    const done = JSON.parse(event.data || "{}").status === "done";
    if (done) bar.value = bar.max;
    state.textContent = done ? card.dataset.doneLabel : card.dataset.endedLabel;
    window.setTimeout(() => window.location.reload(), 300);
  });
  source.onerror = () => {
    source.close();
    window.setTimeout(() => window.location.reload(), 2000);
  };
}

document.addEventListener("DOMContentLoaded", () => {
  const card = document.getElementById("run-progress");
  if (card && window.EventSource) followRun(card);
});
