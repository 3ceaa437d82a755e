// The search page: sends the form to /api/search, shows a grid of scenes, plays one in place.
"use strict";

(() => {
  const form = document.getElementById("search-form");
  if (!form) return;
  const results = document.querySelector(".results");
  const status = document.querySelector(".search-status");
  const pages = document.querySelector(".pages");
  const dialog = document.querySelector(".player-dialog");
  const video = dialog.querySelector("video");
  let page = 1;

  async function search() {
    const data = new FormData(form);
    const params = new URLSearchParams({ page: String(page), page_size: "24" });
    for (const name of ["q", "minute_from", "minute_to", "meridiem", "tag", "min_duration", "max_duration"]) {
      const value = (data.get(name) || "").toString().trim();
      if (value) params.set(name, value);
    }
    const image = data.get("image");
    const withImage = image && image.size > 0;
    if (!withImage && !params.has("q")) {
      status.textContent = "Type what the scene shows, or choose a picture.";
      return;
    }
    if (params.has("minute_from") !== params.has("minute_to")) {
      status.textContent = "Give both ends of the time range, or neither.";
      return;
    }
    status.textContent = "Searching…";
    const body = new FormData();
    if (withImage) body.set("image", image);
    const response = await fetch(`/api/search?${params}`, withImage ? { method: "POST", body } : {});
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      // Show what the server said, field by field.
      status.textContent = Object.entries(answer).map(([field, problem]) => `${field}: ${[].concat(problem).join(" ")}`).join("; ") || `Search failed (${response.status}).`;
      results.replaceChildren();
      pages.hidden = true;
      return;
    }
    status.textContent = answer.results.length ? `Page ${answer.page}: ${answer.results.length} scene(s).` : (answer.detail || "No scenes found.");
    if (answer.matched && answer.matched.length) {
      // Offline search: say what the words were taken to mean, and which words meant nothing.
      const meant = answer.matched.map((term) => `“${term.term}” → ${term.concepts.slice(0, 4).join(", ")}${term.concepts.length > 4 ? ` and ${term.concepts.length - 4} more` : ""}`);
      const ignored = (answer.unmatched || []).length ? ` (no concept for: ${answer.unmatched.join(", ")})` : "";
      status.textContent += ` Searched for ${meant.join("; ")}${ignored}.`;
    }
    results.replaceChildren(...answer.results.map(card));
    pages.hidden = page === 1 && answer.results.length < answer.page_size;
    pages.querySelector("[data-page='-1']").disabled = page === 1;
    pages.querySelector("[data-page='1']").disabled = answer.results.length < answer.page_size;
  }

  function card(hit) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    const picture = hit.thumbnail || (hit.snippet && hit.snippet.thumbnail);
    const image = document.createElement(picture ? "img" : "div");
    if (picture) {
      image.src = picture;
      image.alt = "";
      image.loading = "lazy";
    } else {
      image.className = "no-picture";
    }
    const label = document.createElement("span");
    const minute = hit.snippet ? ` · clock ${hit.snippet.minute}` : "";
    label.textContent = `${hit.video.title || "Untitled"} @ ${hit.second.toFixed(1)} s${minute} · ${(hit.score * 100).toFixed(0)}%`;
    button.append(image, label);
    button.addEventListener("click", () => play(hit));
    item.append(button);
    return item;
  }

  function play(hit) {
    // The snippet when there is one; else the source video at that second.
    const source = hit.snippet ? hit.snippet.file : null;
    if (!source) {
      status.textContent = "This scene has no clip to play yet.";
      return;
    }
    video.src = source;
    video.currentTime = 0;
    dialog.querySelector(".player-caption").textContent = `${hit.video.title || "Untitled"} — ${hit.snippet.minute}`;
    dialog.showModal();
    video.play().catch(() => {});
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    page = 1;
    search().catch((error) => (status.textContent = `Search failed: ${error.message}`));
  });
  pages.addEventListener("click", (event) => {
    const step = Number(event.target.dataset.page || 0);
    if (!step) return;
    page = Math.max(1, page + step);
    search().catch((error) => (status.textContent = `Search failed: ${error.message}`));
  });
  dialog.querySelector("[data-action=close]").addEventListener("click", () => {
    video.pause();
    dialog.close();
  });
})();
