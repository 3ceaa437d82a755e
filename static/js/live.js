// The live clock: plays the schedule from /api/now for the viewer's wall clock, without pause.
//
// Two <video> elements take turns: the one on screen plays the current piece while the other
// waits, already loaded and seeked, with the next piece; at the planned wall time they swap.
// The wall clock is the server's (measured from each /api/now answer), so every viewer sees
// the same clip at the same moment, and playback is nudged back whenever it drifts.
"use strict";

(() => {
  const root = document.getElementById("live");
  if (!root) return;
  const players = [...root.querySelectorAll("video.player")];
  const card = root.querySelector(".card");
  const cardTime = card.querySelector(".card-time");
  const caption = root.querySelector(".caption");
  const otherList = root.querySelector(".other-clips ul");
  const otherPanel = root.querySelector(".other-clips");
  const backToLive = root.querySelector("[data-action=live]");
  const zoneSelect = root.querySelector("select[name=tz]");

  const params = new URLSearchParams(location.search);
  const state = {
    zone: params.get("tz") || localStorage.getItem("clockweb.tz") || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
    serverOffsetMs: 0, // server clock minus this browser's clock
    bestRoundTripMs: Infinity,
    previewShiftMs: 0, // ?time=HH:MM plays that minute as if it were now
    timeline: [], // {startMs, endMs, piece, minute}
    fetchedUntilMs: 0,
    fetching: null,
    active: 0, // index of the player on screen
    showing: null, // the timeline entry on screen
    paused: false, // "other clips" playback takes over until "back to live"
    // What the page did, for tests and for anyone looking at a stutter in the console:
    // each switch, each error, and each player's waits, seeks, pauses and ends (the last 200).
    stats: { switches: [], errors: [], events: [] },
  };
  window.clockweb = state;

  const now = () => Date.now() + state.serverOffsetMs + state.previewShiftMs;

  // -- fetching the schedule ------------------------------------------------------------

  async function fetchFrom(atMs) {
    const url = `/api/now?tz=${encodeURIComponent(state.zone)}&upcoming=3&at=${encodeURIComponent(new Date(atMs).toISOString())}`;
    const sent = Date.now();
    const response = await fetch(url, { cache: "no-store" });
    const received = Date.now();
    if (!response.ok) throw new Error(`/api/now answered ${response.status}`);
    const body = await response.json();
    const roundTrip = received - sent;
    if (roundTrip < state.bestRoundTripMs) {
      // The server's clock read halfway through the request; trust the fastest exchange most.
      state.bestRoundTripMs = roundTrip;
      state.serverOffsetMs = Date.parse(body.server_time) - (sent + roundTrip / 2);
    }
    for (const minute of [body.current, ...body.upcoming]) {
      const minuteStart = Date.parse(minute.starts_at);
      if (minuteStart < state.fetchedUntilMs) continue;
      for (const piece of minute.pieces) {
        const startMs = minuteStart + piece.at * 1000;
        state.timeline.push({ startMs, endMs: startMs + piece.length * 1000, piece, minute });
      }
      state.fetchedUntilMs = minuteStart + 60000;
    }
  }

  function ensureSchedule() {
    if (state.fetching) return state.fetching;
    if (state.fetchedUntilMs - now() > 90000) return Promise.resolve();
    const from = Math.max(now(), state.fetchedUntilMs + 1000);
    state.fetching = fetchFrom(from)
      .catch((error) => {
        state.stats.errors.push(String(error));
        showError(`Cannot reach the server: ${error.message}. Retrying…`);
      })
      .finally(() => {
        state.fetching = null;
      });
    return state.fetching;
  }

  // -- playing -------------------------------------------------------------------------

  const entryAt = (ms) => state.timeline.find((entry) => entry.startMs <= ms && ms < entry.endMs);
  const positionIn = (entry, ms) => entry.piece.play_from + (ms - entry.startMs) / 1000;

  function load(player, entry, ms) {
    const snippet = entry.piece.snippet;
    if (!snippet) return;
    const source = new URL(snippet.file, location.href).href;
    if (player.src !== source) player.src = source;
    player.dataset.entry = String(entry.startMs);
    const seek = () => {
      player.currentTime = Math.max(0, positionIn(entry, Math.max(ms, entry.startMs)));
    };
    if (player.readyState >= 1) seek();
    else player.addEventListener("loadedmetadata", seek, { once: true });
  }

  function show(entry) {
    const planned = entry.startMs;
    // Joining mid-piece (page load, back to live) is not a late switch: only count from now.
    const joining = state.showing === null;
    state.showing = entry;
    describe(entry);
    const snippet = entry.piece.snippet;
    if (!snippet) {
      players.forEach((player) => player.pause());
      players.forEach((player) => player.classList.remove("on-screen"));
      card.hidden = false;
      state.stats.switches.push({ planned, stallMs: 0, card: true });
      return;
    }
    card.hidden = true;
    let next = players.findIndex((player) => player.dataset.entry === String(entry.startMs));
    if (next < 0) {
      next = 1 - state.active;
      load(players[next], entry, now());
    }
    const incoming = players[next];
    const outgoing = players[1 - next];
    incoming.muted = players[state.active].muted;
    const started = performance.now();
    const lateMs = joining ? 0 : Math.max(0, now() - planned);
    incoming.play().catch((error) => state.stats.errors.push(String(error)));
    const reveal = () => {
      incoming.classList.add("on-screen");
      if (outgoing !== incoming) {
        outgoing.classList.remove("on-screen");
        outgoing.pause();
      }
      state.stats.switches.push({ planned, joining, stallMs: Math.round(lateMs + performance.now() - started), minute: entry.minute.minute });
    };
    // Swap only once the incoming player has a frame to show: never a black flash.
    if ("requestVideoFrameCallback" in incoming) incoming.requestVideoFrameCallback(() => reveal());
    else incoming.addEventListener("playing", reveal, { once: true });
    state.active = next;
  }

  function preloadNext(entry) {
    const upcoming = state.timeline.find((candidate) => candidate.startMs >= entry.endMs - 1);
    if (!upcoming || !upcoming.piece.snippet) return;
    const standby = players[1 - state.active];
    if (standby.dataset.entry !== String(upcoming.startMs)) load(standby, upcoming, upcoming.startMs);
  }

  function correctDrift() {
    const entry = state.showing;
    const player = players[state.active];
    if (!entry || !entry.piece.snippet || player.paused || player.seeking) return;
    const drift = player.currentTime - positionIn(entry, now());
    if (Math.abs(drift) > 1) {
      player.currentTime = positionIn(entry, now());
      player.playbackRate = 1;
    } else if (Math.abs(drift) > 0.06) {
      player.playbackRate = Math.min(1.1, Math.max(0.9, 1 - drift * 0.5));
    } else {
      player.playbackRate = 1;
    }
  }

  function tick() {
    if (!state.paused) {
      const ms = now();
      state.timeline = state.timeline.filter((entry) => entry.endMs > ms - 5000);
      const entry = entryAt(ms);
      if (entry && entry !== state.showing) show(entry);
      if (entry) {
        preloadNext(entry);
        correctDrift();
      }
      if (!entry && !state.fetching) ensureSchedule();
      updateCardClock(ms);
    }
    ensureSchedule();
  }

  // -- what is playing ------------------------------------------------------------------

  const pad = (n) => String(n).padStart(2, "0");

  function describe(entry) {
    const { piece, minute } = entry;
    caption.querySelector(".now-minute").textContent = minute.minute;
    const title = caption.querySelector(".title");
    const details = caption.querySelector(".details");
    const snippet = piece.snippet;
    caption.classList.toggle("is-fallback", Boolean(minute.fallback));
    if (!snippet) {
      title.textContent = "No clips yet";
      title.removeAttribute("href");
      details.textContent = "Add videos and this clock fills itself in.";
      return;
    }
    title.textContent = snippet.video.title || "Untitled video";
    const link = snippet.video.webpage_url || snippet.video.url;
    if (link && /^https?:/.test(link)) title.href = link;
    else title.removeAttribute("href");
    const reading = snippet.reading;
    const shows = reading ? `${reading.hour}:${pad(reading.minute)}${reading.meridiem !== "unknown" ? " " + reading.meridiem.toUpperCase() : ""}` : "?";
    const sure = reading ? `${Math.round(reading.confidence * 100)}% sure` : "";
    details.textContent = minute.fallback
      ? `No clip for ${minute.minute} yet: this clock shows ${minute.fallback_from} (${shows}).`
      : `Its clock shows ${shows} · ${sure}`;
    if (otherPanel.open) listOtherClips(minute.minute);
  }

  function updateCardClock(ms) {
    if (card.hidden) return;
    const parts = new Intl.DateTimeFormat("en-GB", { timeZone: state.zone, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false }).format(new Date(ms));
    cardTime.textContent = parts;
  }

  function showError(message) {
    const box = root.querySelector(".error");
    box.textContent = message;
    box.hidden = false;
    clearTimeout(showError.timer);
    showError.timer = setTimeout(() => (box.hidden = true), 8000);
  }

  // -- other clips, back to live, fullscreen, sound, time zone ---------------------------------

  async function listOtherClips(minuteLabel) {
    const response = await fetch(`/api/snippets/?minute=${encodeURIComponent(minuteLabel)}`);
    if (!response.ok) return showError(`Could not list the clips for ${minuteLabel}`);
    const body = await response.json();
    const items = body.results || body;
    otherList.replaceChildren(
      ...items.map((snippet) => {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        if (snippet.thumbnail) {
          const image = document.createElement("img");
          image.src = snippet.thumbnail;
          image.alt = "";
          button.append(image);
        }
        const label = document.createElement("span");
        label.textContent = `${snippet.video.title || "Untitled"} (${snippet.minute})`;
        button.append(label);
        button.addEventListener("click", () => playOther(snippet));
        item.append(button);
        return item;
      }),
    );
    if (!items.length) otherList.innerHTML = "<li>No other clips for this minute.</li>";
  }

  function playOther(snippet) {
    state.paused = true;
    backToLive.hidden = false;
    const player = players[state.active];
    card.hidden = true;
    player.classList.add("on-screen");
    player.src = new URL(snippet.file, location.href).href;
    player.dataset.entry = "";
    player.play().catch(() => {});
    caption.querySelector(".title").textContent = snippet.video.title || "Untitled video";
    caption.querySelector(".details").textContent = `Not live: a clip for ${snippet.minute}.`;
  }

  function goLive() {
    state.paused = false;
    backToLive.hidden = true;
    state.showing = null;
    players.forEach((player) => (player.dataset.entry = ""));
    tick();
  }

  function toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen();
    else root.requestFullscreen().catch((error) => showError(`Fullscreen refused: ${error.message}`));
  }

  function toggleSound() {
    const muted = !players[state.active].muted;
    players.forEach((player) => (player.muted = muted));
    root.querySelector("[data-action=sound]").textContent = muted ? "Sound on" : "Sound off";
  }

  function setZone(zone) {
    state.zone = zone;
    localStorage.setItem("clockweb.tz", zone);
    state.timeline = [];
    state.fetchedUntilMs = 0;
    state.showing = null;
    ensureSchedule();
  }

  root.querySelector("[data-action=fullscreen]").addEventListener("click", toggleFullscreen);
  root.querySelector("[data-action=sound]").addEventListener("click", toggleSound);
  backToLive.addEventListener("click", goLive);
  otherPanel.addEventListener("toggle", () => otherPanel.open && state.showing && listOtherClips(state.showing.minute.minute));
  if (zoneSelect) {
    if (![...zoneSelect.options].some((option) => option.value === state.zone)) zoneSelect.add(new Option(state.zone, state.zone));
    zoneSelect.value = state.zone;
    zoneSelect.addEventListener("change", () => setZone(zoneSelect.value));
  }
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, select, textarea")) return;
    if (event.key === "f") toggleFullscreen();
    else if (event.key === "m") toggleSound();
    else if (event.key === "l") goLive();
  });
  players.forEach((player, index) =>
    ["waiting", "stalled", "seeking", "pause", "ended"].forEach((type) =>
      player.addEventListener(type, () => {
        const events = state.stats.events;
        events.push({ type, player: index, onScreen: player.classList.contains("on-screen"), wall: now(),
                      position: Number(player.currentTime.toFixed(3)), ready: player.readyState });
        if (events.length > 200) events.shift();
      }),
    ),
  );
  players.forEach((player) =>
    player.addEventListener("error", () => {
      state.stats.errors.push(`media error on ${player.src}`);
      if (player.classList.contains("on-screen")) showError("A clip could not be played; the next one follows.");
    }),
  );

  // ?time=HH:MM previews that minute: the clock runs from its start.
  const preview = params.get("time");
  const start = async () => {
    await ensureSchedule();
    if (preview && /^\d{1,2}:\d{2}$/.test(preview)) {
      const [hour, minute] = preview.split(":").map(Number);
      const target = new Date(now());
      const local = new Date(target.toLocaleString("en-US", { timeZone: state.zone }));
      const shiftedLocal = new Date(local);
      shiftedLocal.setHours(hour, minute, 0, 0);
      state.previewShiftMs += shiftedLocal - local;
      state.timeline = [];
      state.fetchedUntilMs = 0;
      root.classList.add("is-preview");
      root.querySelector(".preview-note").hidden = false;
      await ensureSchedule();
    }
    tick();
    setInterval(tick, 50);
  };
  start();
})();
