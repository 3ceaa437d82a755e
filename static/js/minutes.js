// The browse page: a 24x60 heatmap of clips per minute, drawn from /api/minutes/.
"use strict";

(() => {
  const holder = document.querySelector(".heatmap");
  if (!holder) return;
  const status = holder.querySelector(".heatmap-status");
  const hover = document.querySelector(".heatmap-hover");
  const SVG = "http://www.w3.org/2000/svg";
  const CELL = 12;
  const LEFT = 28;
  const TOP = 14;

  const label = (minute) => `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;
  const level = (count) => (count === 0 ? 0 : count === 1 ? 1 : count <= 3 ? 2 : 3);
  const describe = (minute, count) => `${label(minute)}: ${count === 0 ? "no clips" : count === 1 ? "1 clip" : `${count} clips`}`;

  function element(name, attributes) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    return node;
  }

  function draw(counts) {
    const svg = element("svg", { viewBox: `0 0 ${LEFT + 60 * CELL} ${TOP + 24 * CELL}`, class: "heatmap-svg", role: "img", "aria-label": "Heatmap of clips per minute of the day" });
    for (let minute = 0; minute < 60; minute += 10) {
      const text = element("text", { x: LEFT + minute * CELL, y: TOP - 4, class: "axis" });
      text.textContent = `:${String(minute).padStart(2, "0")}`;
      svg.append(text);
    }
    for (let hour = 0; hour < 24; hour += 1) {
      const text = element("text", { x: LEFT - 4, y: TOP + hour * CELL + CELL - 3, class: "axis", "text-anchor": "end" });
      text.textContent = String(hour).padStart(2, "0");
      svg.append(text);
      for (let minute = 0; minute < 60; minute += 1) {
        const index = hour * 60 + minute;
        const link = element("a", { href: `/minutes/${label(index)}/`, "data-minute": label(index), "data-count": counts[index], tabindex: "-1" });
        const cell = element("rect", { x: LEFT + minute * CELL + 1, y: TOP + hour * CELL + 1, width: CELL - 2, height: CELL - 2, rx: 2, class: `cell level-${level(counts[index])}` });
        const title = element("title", {});
        title.textContent = describe(index, counts[index]);
        cell.append(title);
        link.append(cell);
        svg.append(link);
      }
    }
    svg.addEventListener("mouseover", (event) => {
      const link = event.target.closest("a[data-minute]");
      if (link) hover.textContent = describe(Number(link.dataset.minute.slice(0, 2)) * 60 + Number(link.dataset.minute.slice(3)), Number(link.dataset.count));
    });
    holder.replaceChildren(svg);
  }

  async function load() {
    try {
      const response = await fetch("/api/minutes/", { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      const body = await response.json();
      draw(body.counts);
    } catch (error) {
      status.textContent = `The map could not be loaded (${error.message}). Reload the page to try again.`;
      status.classList.add("error");
    }
  }

  // Keyboard users (and anyone) can jump straight to a minute.
  const form = document.querySelector(".go-to-minute");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = form.elements.minute.value;
    if (/^\d{2}:\d{2}$/.test(value)) window.location.href = `/minutes/${value}/`;
  });

  load();
})();
