// The video page: draws the timeline (inline SVG) from the JSON the page embeds, follows the
// player with a playhead, and seeks the player from the timeline and the "Play from" buttons.
// Every text from the catalog goes in through textContent or an attribute, never as markup.
"use strict";

(() => {
  const source = document.getElementById("video-timeline");
  const figure = document.querySelector(".timeline");
  if (!source || !figure) return;
  const data = JSON.parse(source.textContent);
  const host = figure.querySelector(".timeline-plot");
  const player = document.querySelector(".video-player video");
  const status = document.querySelector(".player-status");

  const NS = "http://www.w3.org/2000/svg";
  const LABEL_WIDTH = 108; // px for the row names on the left
  const RIGHT = 14;
  const ROW = 24;
  const TAG_ROW = 18;
  const AXIS = 26;
  const STEP_SECONDS = 5;
  let playhead = null;
  let plotWidth = 0;

  function el(name, attributes = {}, text = null) {
    const node = document.createElementNS(NS, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    if (text !== null) node.textContent = text;
    return node;
  }

  function tip(node, text) {
    node.append(el("title", {}, text));
    return node;
  }

  function clock(seconds) {
    const whole = Math.max(0, Math.floor(seconds));
    const h = Math.floor(whole / 3600);
    const m = Math.floor((whole % 3600) / 60);
    const s = String(whole % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
  }

  function span(start, end) {
    return `${clock(start)}–${clock(end)}`;
  }

  function percent(share) {
    return `${Math.round(share * 100)}%`;
  }

  // The plot spans the video's known duration; before the catalog knows it, the player's.
  function duration() {
    if (data.duration > 0) return data.duration;
    return player && Number.isFinite(player.duration) ? player.duration : 0;
  }

  function shorten(text, most) {
    return text.length > most ? `${text.slice(0, most - 1)}…` : text;
  }

  // About one labelled tick per 90 px, on a step people count in.
  function tickStep(total, width) {
    const wanted = total / Math.max(1, width / 90);
    const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
    return steps.find((step) => step >= wanted) || steps[steps.length - 1];
  }

  function draw() {
    const total = duration();
    const width = Math.max(320, host.clientWidth);
    plotWidth = width - LABEL_WIDTH - RIGHT;
    const x = (seconds) => LABEL_WIDTH + (total > 0 ? (Math.min(seconds, total) / total) * plotWidth : 0);
    const rows = [];
    const svg = el("svg", { class: "timeline-svg", width, role: "group" });
    // Focusable only when the arrow keys have a player to seek.
    if (player) svg.setAttribute("tabindex", "0");
    svg.setAttribute("aria-label", "Timeline of the video: shots, clocks, readings, tags and snippets");
    const plotArea = el("rect", { class: "plot-area", x: LABEL_WIDTH, y: 0, width: plotWidth, height: 0 });
    svg.append(plotArea);
    let y = 4;

    function row(name, label, height, empty) {
      const group = el("g", { class: `row row-${name}`, "data-row": name });
      group.append(el("rect", { class: "row-bg", x: LABEL_WIDTH, y, width: plotWidth, height }));
      const text = el("text", { class: "row-label", x: LABEL_WIDTH - 12, y: y + height / 2 }, shorten(label, 14));
      if (label.length > 14) tip(text, label);
      group.append(text);
      if (empty) group.append(el("text", { class: "row-empty", x: LABEL_WIDTH + 8, y: y + height / 2 }, empty));
      svg.append(group);
      rows.push(group);
      const top = y;
      y += height + 4;
      return { group, top, height };
    }

    // Shots: alternate shading between cuts, and a tick at each cut.
    const notScanned = data.scanned ? null : "not scanned yet";
    const shots = row("shots", "Shots", ROW, notScanned || (total > 0 ? null : "duration unknown"));
    // Shots are found by the scan; before it, the video is not one shot but unknown.
    const cuts = data.scanned ? [0, ...data.shots.filter((cut) => cut > 0 && cut < total), total] : [];
    for (let i = 0; i + 1 < cuts.length; i += 1) {
      const shot = el("rect", { class: `shot ${i % 2 ? "odd" : "even"}`, x: x(cuts[i]), y: shots.top + 4,
        width: Math.max(0, x(cuts[i + 1]) - x(cuts[i])), height: shots.height - 8 });
      shots.group.append(tip(shot, `Shot ${i + 1}: ${span(cuts[i], cuts[i + 1])}`));
    }
    for (const cut of cuts.slice(1, -1)) {
      shots.group.append(el("line", { class: "cut", x1: x(cut), x2: x(cut), y1: shots.top, y2: shots.top + shots.height }));
    }

    // Several clocks can be in view at once: overlapping sightings go in lanes of their own.
    const lanes = [];
    const laneOf = data.sightings.map((sighting) => {
      let lane = lanes.findIndex((end) => end <= sighting.start);
      if (lane < 0) lane = lanes.push(0) - 1;
      lanes[lane] = sighting.end;
      return lane;
    });
    const laneHeight = lanes.length > 1 ? 12 : ROW - 8;
    const clocks = row("sightings", "Clocks", Math.max(ROW, lanes.length * (laneHeight + 2) + 6),
      data.sightings.length ? null : notScanned || "none found");
    for (const [index, sighting] of data.sightings.entries()) {
      const bar = el("rect", { class: `sighting ${sighting.kind}`, x: x(sighting.start), rx: 2,
        y: clocks.top + 4 + laneOf[index] * (laneHeight + 2),
        width: Math.max(3, x(sighting.end) - x(sighting.start)), height: laneHeight });
      const why = sighting.rejection ? ` — not read: ${sighting.rejection}` : "";
      clocks.group.append(tip(bar, `${sighting.kind} clock ${span(sighting.start, sighting.end)}, detector ${percent(sighting.confidence)}${why}`));
    }

    const readings = row("readings", "Readings", ROW + 6, data.readings.length ? null : "none");
    let lastLabelEnd = -Infinity;
    for (const reading of data.readings) {
      const at = x(reading.at);
      const mid = readings.top + readings.height / 2;
      const mark = el("g", { class: `reading ${reading.status}` });
      mark.append(el("path", { d: `M${at} ${mid - 6} L${at + 6} ${mid} L${at} ${mid + 6} L${at - 6} ${mid} Z` }));
      // Labels that would overlap the previous one are left to the tooltip.
      const labelWidth = reading.label.length * 7 + 8;
      if (at + 9 > lastLabelEnd && at + 9 + labelWidth < LABEL_WIDTH + plotWidth + RIGHT) {
        mark.append(el("text", { class: "reading-label", x: at + 9, y: mid }, reading.label));
        lastLabelEnd = at + 9 + labelWidth;
      }
      const verified = reading.verified ? ", verified" : "";
      readings.group.append(tip(mark, `${reading.label} at ${clock(reading.at)}: ${reading.status}, ${percent(reading.confidence)}, ${reading.method}${verified}`));
    }

    if (data.tags.length === 0) {
      row("tags", "Tags", TAG_ROW, "no tags yet");
    }
    for (const tag of data.tags) {
      const tagRow = row("tag", tag.name, TAG_ROW, null);
      for (const [start, end] of tag.segments) {
        const bar = el("rect", { class: "tag-segment", x: x(start), y: tagRow.top + 3, rx: 2,
          width: Math.max(2, x(end) - x(start)), height: tagRow.height - 6 });
        tagRow.group.append(tip(bar, `${tag.name}: ${span(start, end)} (${percent(tag.share)} of frames)`));
      }
    }

    const snippets = row("snippets", "Snippets", ROW, data.snippets.length ? null : "none");
    for (const snippet of data.snippets) {
      const link = el("a", { class: `snippet ${snippet.status}`, href: `/minutes/${snippet.minute}/` });
      link.setAttribute("aria-label", `Snippet for ${snippet.minute} (${span(snippet.start, snippet.end)}): open the minute page`);
      const left = x(snippet.start);
      const barWidth = Math.max(3, x(snippet.end) - left);
      link.append(el("rect", { x: left, y: snippets.top + 3, width: barWidth, height: snippets.height - 6, rx: 2 }));
      if (barWidth > 44) link.append(el("text", { class: "snippet-label", x: left + 4, y: snippets.top + snippets.height / 2 }, snippet.minute));
      snippets.group.append(tip(link, `Snippet ${snippet.minute}, ${span(snippet.start, snippet.end)} (${snippet.status}): open the minute page`));
    }

    // The time axis.
    const axis = el("g", { class: "axis", "aria-hidden": "true" });
    axis.append(el("line", { x1: LABEL_WIDTH, x2: LABEL_WIDTH + plotWidth, y1: y, y2: y }));
    if (total > 0) {
      const step = tickStep(total, plotWidth);
      for (let t = 0; t <= total + 1e-6; t += step) {
        axis.append(el("line", { x1: x(t), x2: x(t), y1: y, y2: y + 5 }));
        const anchor = t === 0 ? "start" : x(t) > LABEL_WIDTH + plotWidth - 20 ? "end" : "middle";
        axis.append(el("text", { x: x(t), y: y + 17, "text-anchor": anchor }, clock(t)));
      }
    }
    svg.append(axis);
    const height = y + AXIS;
    plotArea.setAttribute("height", y);
    svg.setAttribute("height", height);
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);

    playhead = el("line", { class: "playhead", y1: 0, y2: y, x1: LABEL_WIDTH, x2: LABEL_WIDTH, "aria-hidden": "true" });
    playhead.style.display = player ? "" : "none";
    svg.append(playhead);
    svg.addEventListener("click", onClick);
    svg.addEventListener("keydown", onKey);
    host.replaceChildren(svg);
    followPlayer();
  }

  function say(text) {
    if (status) status.textContent = text;
  }

  function seek(seconds) {
    if (!player) {
      say("There is no video file to play yet.");
      return;
    }
    const total = duration();
    const to = Math.max(0, total > 0 ? Math.min(seconds, total) : seconds);
    const start = () => {
      player.currentTime = to;
      followPlayer();
      player.play().catch((error) => say(`Could not play: ${error.message}`));
    };
    // Before its metadata the player can't seek; do it as soon as it can.
    if (player.readyState >= 1) start();
    else {
      player.addEventListener("loadedmetadata", start, { once: true });
      player.load();
    }
  }

  function onClick(event) {
    // A snippet bar is a link to its minute page, not a seek.
    if (event.target.closest("a")) return;
    const box = event.currentTarget.getBoundingClientRect();
    const fraction = (event.clientX - box.left - LABEL_WIDTH) / plotWidth;
    seek(Math.min(1, Math.max(0, fraction)) * duration());
  }

  function onKey(event) {
    if (!player || event.target !== event.currentTarget) return;
    const now = player.currentTime || 0;
    const to = { ArrowLeft: now - STEP_SECONDS, ArrowRight: now + STEP_SECONDS, Home: 0, End: duration() }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    seek(to);
  }

  function followPlayer() {
    if (!playhead || !player) return;
    const total = duration();
    const at = LABEL_WIDTH + (total > 0 ? (Math.min(player.currentTime, total) / total) * plotWidth : 0);
    playhead.setAttribute("x1", at);
    playhead.setAttribute("x2", at);
  }

  // Smooth while playing; timeupdate alone moves the playhead in jumps of a quarter second.
  function animate() {
    followPlayer();
    if (player && !player.paused) requestAnimationFrame(animate);
  }

  if (player) {
    player.addEventListener("play", () => requestAnimationFrame(animate));
    for (const name of ["timeupdate", "seeked", "seeking"]) player.addEventListener(name, followPlayer);
    player.addEventListener("loadedmetadata", () => {
      if (!(data.duration > 0)) draw();
    });
    player.addEventListener("playing", () => say(""));
    player.addEventListener("error", () => {
      const problem = player.error;
      say(`The video file could not be played${problem && problem.message ? `: ${problem.message}` : ""} (error ${problem ? problem.code : "?"}).`);
    });
  }

  for (const button of document.querySelectorAll("button.seek")) {
    button.addEventListener("click", () => {
      seek(Number.parseFloat(button.dataset.seek));
      player.scrollIntoView({ block: "nearest", behavior: "smooth" });
    });
  }

  let lastWidth = 0;
  new ResizeObserver(() => {
    if (host.clientWidth !== lastWidth) {
      lastWidth = host.clientWidth;
      draw();
    }
  }).observe(host);
  draw();
  window.clockwebVideo = { seek, data };
})();
