// The review queue: type what each clock shows and press Enter; the answer is saved at once and
// the next clock gets the focus.
"use strict";

(() => {
  const items = [...document.querySelectorAll(".review-item")];
  if (!items.length) return;
  const remaining = document.querySelector(".remaining");
  const csrf = () => document.cookie.split("; ").find((part) => part.startsWith("csrftoken="))?.slice("csrftoken=".length)
    || document.querySelector("input[name=csrfmiddlewaretoken]")?.value || "";

  function focusNext(after) {
    const next = items.slice(items.indexOf(after) + 1).concat(items).find((item) => !item.classList.contains("done") && item !== after);
    (next || after).querySelector("input[name=time]").focus();
    if (next) next.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  async function send(item, body) {
    const form = item.querySelector("form");
    const outcome = item.querySelector(".outcome");
    const input = form.elements.time;
    outcome.textContent = "Saving…";
    outcome.classList.remove("error");
    let answer = {};
    try {
      const response = await fetch(form.action, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
        body: JSON.stringify(body),
        credentials: "same-origin",
      });
      answer = await response.json().catch(() => ({}));
      if (!response.ok) {
        const problem = Object.values(answer).flat().join(" ") || `the server answered ${response.status}`;
        throw new Error(problem);
      }
    } catch (error) {
      outcome.textContent = `Not saved: ${error.message}`;
      outcome.classList.add("error");
      input.focus();
      return;
    }
    item.classList.add("done");
    outcome.textContent = answer.reading
      ? `Saved: ${answer.reading.time}${answer.minute ? `, plays at ${answer.minute}` : ""}.${answer.warning ? ` ${answer.warning}` : ""}`
      : "Saved: not a clock; its clip is off the schedule.";
    if (answer.warning) outcome.classList.add("error");
    if (remaining && typeof answer.remaining === "number") remaining.textContent = String(answer.remaining);
    focusNext(item);
  }

  for (const item of items) {
    const form = item.querySelector("form");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const typed = form.elements.time.value.trim();
      if (!typed && !item.dataset.proposal) {
        item.querySelector(".outcome").textContent = "Type the time this clock shows, e.g. 10:42.";
        return;
      }
      send(item, typed ? { time: typed } : {});
    });
    item.querySelector("[data-action=not-a-clock]").addEventListener("click", () => send(item, { not_a_clock: true }));
    item.querySelector("[data-action=skip]").addEventListener("click", () => focusNext(item));
    item.addEventListener("keydown", (event) => {
      if (!event.altKey) return;
      if (event.key === "n" || event.key === "N") { event.preventDefault(); send(item, { not_a_clock: true }); }
      if (event.key === "s" || event.key === "S") { event.preventDefault(); focusNext(item); }
      if (event.key === "Escape") form.elements.time.value = "";
    });
  }
  items[0].querySelector("input[name=time]").focus();
})();
