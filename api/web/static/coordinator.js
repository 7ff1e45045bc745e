// Coordinator pages: the live progress bar of a round, fed by its server-sent events.
// Without scripts the page still says the stage and has a refresh link.
"use strict";

function followRound(section) {
  const bar = document.getElementById("bar");
  const stage = document.getElementById("stage");
  const figures = document.getElementById("figures");
  const label = document.getElementById("bar-label");
  const limit = parseFloat(section.dataset.timeLimit) || 30;
  const source = new EventSource(section.dataset.events);
  // Cancel says so at once; the job stops at its next heartbeat or stage
  const cancelForm = document.getElementById("cancel-form");
  if (cancelForm) {
    cancelForm.addEventListener("submit", () => {
      section.dataset.cancelling = "1";
      label.textContent = section.dataset.cancellingLabel;
      window.setTimeout(() => { cancelForm.querySelector("button").disabled = true; }, 0);
    });
  }
  source.addEventListener("progress", (event) => {
    const state = JSON.parse(event.data);
    const p = state.progress || {};
    stage.textContent = stage.textContent.split(":")[0] + ": " + (p.stage || state.status);
    // the heading follows the stage: waiting while queued, solving once a worker has it
    if (!section.dataset.cancelling) {
      const queued = (p.stage || state.status) === "queued";
      label.textContent = queued ? section.dataset.queuedLabel : section.dataset.solvingLabel;
    }
    if (state.status === "running") {
      // The solver's stages have no fixed count: the bar shows time used of the limit,
      // never full before the end event.
      const used = Math.min(95, 5 + 90 * (p.elapsed_s || 0) / limit);
      bar.value = Math.max(bar.value || 0, used);
    }
    if (p.best_objective !== undefined && p.best_objective !== null) {
      figures.textContent = "objective " + p.best_objective +
        (p.bound !== null && p.bound !== undefined ? " / bound " + p.bound : "");
    }
  });
  source.addEventListener("end", () => {
    source.close();
    bar.value = 100;
    stage.textContent = section.dataset.doneLabel;
    window.setTimeout(() => window.location.reload(), 400);
  });
  source.onerror = () => {
    // The server went or the stream ended: reload to show the state as it is.
    source.close();
    window.setTimeout(() => window.location.reload(), 2000);
  };
}

// The Advice page's offers, replies and backfill part: fetched again every few seconds
// so that replies and proposals show as they land, unless the coordinator is filling
// in one of its forms (their input would be lost). While a backfill proposal is being
// computed (data-pending), sooner: after half a second, then less and less often (a
// round with policy rules solves for up to a minute), until it is there.
const PENDING_FIRST_MS = 500;
const PENDING_GROWTH = 1.5;
const PENDING_LONGEST_MS = 5000;

function followLifecycle() {
  const first = document.getElementById("lifecycle");
  if (!first || !first.dataset.refresh) return;
  const every = 1000 * (parseFloat(first.dataset.every) || 15);
  let pendingWait = PENDING_FIRST_MS;
  const busy = (section) => section.contains(document.activeElement) &&
    document.activeElement !== document.body ||
    Array.from(section.querySelectorAll("input[name=text], select")).some((f) => f.value);
  const schedule = () => {
    const section = document.getElementById("lifecycle");
    let wait = every;
    if (section && section.dataset.pending) {
      wait = pendingWait;
      pendingWait = Math.min(pendingWait * PENDING_GROWTH, PENDING_LONGEST_MS, every);
    } else {
      pendingWait = PENDING_FIRST_MS;
    }
    window.setTimeout(refresh, wait);
  };
  const refresh = async () => {
    const section = document.getElementById("lifecycle");
    if (section && !document.hidden && !busy(section)) {
      try {
        const answer = await fetch(section.dataset.refresh, {credentials: "same-origin"});
        if (answer.ok) {
          const holder = document.createElement("div");
          holder.innerHTML = await answer.text();
          const fresh = holder.querySelector("#lifecycle");
          if (fresh && !busy(section)) section.replaceWith(fresh);
        }
      } catch (error) {
        // offline for a moment: the next tick tries again
      }
    }
    schedule();
  };
  schedule();
}

// Something the page shows is still being prepared on the server (a result laid out
// for its page, a round's explanations priced): <section id="preparing" data-ready=URL>
// asks URL again every VIEW_POLL_MS until it answers {ready: true}, then the page is
// shown again.
const VIEW_POLL_MS = 1000;

function waitForView(section) {
  const ask = async () => {
    try {
      const answer = await fetch(section.dataset.ready, {credentials: "same-origin"});
      if (answer.ok && (await answer.json()).ready) {
        window.location.reload();
        return;
      }
    } catch (error) {
      // offline for a moment: the next tick tries again (the Refresh link still works)
    }
    window.setTimeout(ask, VIEW_POLL_MS);
  };
  window.setTimeout(ask, VIEW_POLL_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  const section = document.getElementById("progress");
  if (section && window.EventSource) followRound(section);
  const preparing = document.getElementById("preparing");
  if (preparing) waitForView(preparing);
  followLifecycle();
});
