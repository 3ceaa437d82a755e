// The ingest page: posts new sources to /api/ingest/, keeps the source and job lists live from
// /api/sources/ and /api/videos/, and retries failed jobs. Text from the web (titles, locators,
// errors) only ever goes into textContent or attributes, never into HTML.
"use strict";

(() => {
  const page = document.querySelector(".ingest-page");
  if (!page) return;
  const POLL_MS = 2000;
  // A source no worker has looked at after this long suggests that no worker runs.
  const STALE_SOURCE_MS = 30000;

  const form = document.getElementById("ingest-form");
  const sourcesField = form.elements.sources;
  const limitFields = { search: form.elements.search, max_items: form.elements.max_items };
  const submitButton = form.querySelector("button[type=submit]");
  const formErrors = document.getElementById("ingest-errors");
  const formStatus = form.querySelector(".form-status");
  const csrfToken = form.elements.csrfmiddlewaretoken.value;

  const emptyState = page.querySelector(".ingest-empty");
  const sourceList = document.getElementById("source-list");
  const sourceNone = page.querySelector(".source-none");
  const jobList = document.getElementById("job-list");
  const jobsNone = page.querySelector(".jobs-none");
  const jobsCount = page.querySelector(".jobs-count");
  const statusFilter = document.getElementById("job-status");
  const pollError = page.querySelector(".poll-error");
  const jobTemplate = document.getElementById("job-template");
  const sourceTemplate = document.getElementById("source-template");

  const STATUSES = ["pending", "downloading", "downloaded", "processing", "processed", "failed", "duplicate"];

  // -- formatting (the same words and numbers as the server-rendered page) --------------------

  function bytes(n) {
    // Django's filesizeformat: 1024-based, one decimal, a no-break space before the unit.
    if (n < 1024) return `${n}\u00a0byte${n === 1 ? "" : "s"}`;
    const units = ["KB", "MB", "GB", "TB"];
    let value = n / 1024;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return `${value.toFixed(1)}\u00a0${units[unit]}`;
  }

  function plural(n, word) {
    return `${n} ${word}${n === 1 ? "" : "s"}`;
  }

  function jobDetail(video) {
    const progress = video.progress || {};
    switch (video.status) {
      case "pending":
        return "Waiting for a worker to download it.";
      case "downloading": {
        if (!progress.downloaded_bytes) return "Starting the download…";
        const parts = [bytes(progress.downloaded_bytes) + (progress.total_bytes ? ` of ${bytes(progress.total_bytes)}` : " so far")];
        if (progress.speed) parts.push(`${bytes(progress.speed)}/s`);
        if (progress.eta !== null && progress.eta !== undefined) {
          parts.push(progress.eta < 90 ? `${progress.eta} s left` : `${Math.round(progress.eta / 60)} min left`);
        }
        return parts.join(" · ");
      }
      case "downloaded":
        return "Downloaded; next it is scanned for clocks.";
      case "processing":
        return "Scanning for clocks…";
      case "processed":
        return `Scanned; ${plural(video.snippet_count || 0, "snippet")} cut.`;
      default:
        return "";
    }
  }

  function isWebAddress(url) {
    return typeof url === "string" && /^https?:\/\//i.test(url);
  }

  function sentence(text) {
    return /[.!?…]$/.test(text) ? text : `${text}.`;
  }

  function codeElement(text) {
    const code = document.createElement("code");
    code.textContent = text;
    return code;
  }

  // -- the job list ---------------------------------------------------------------------------

  function newRow(template) {
    return template.content.firstElementChild.cloneNode(true);
  }

  function updateJob(row, video) {
    const title = video.title || "Untitled video";
    row.dataset.videoId = String(video.id);
    row.dataset.status = video.status;

    const link = row.querySelector(".job-title");
    link.textContent = title;
    link.href = `/videos/${encodeURIComponent(video.id)}/`;
    row.querySelector(".badge.status").textContent = video.status;

    // Rebuilt only when it changes, so that a focused "original" link keeps its focus.
    const origin = row.querySelector(".job-source");
    const url = isWebAddress(video.url) ? video.url : "";
    const signature = JSON.stringify([video.source || "", url]);
    if (origin.dataset.signature !== signature) {
      origin.dataset.signature = signature;
      const parts = [];
      if (video.source) {
        const name = document.createElement("span");
        name.className = "job-source-name";
        name.textContent = video.source;
        parts.push(name);
      }
      if (url) {
        const original = document.createElement("a");
        original.className = "job-url";
        original.href = url;
        original.rel = "noopener noreferrer";
        original.target = "_blank";
        original.textContent = "original";
        parts.push(original);
      }
      origin.replaceChildren(...parts);
    }

    const progress = video.progress || {};
    const bar = row.querySelector("progress");
    row.querySelector(".job-progress").hidden = video.status !== "downloading";
    bar.setAttribute("aria-label", `Download of ${title}`);
    if (typeof progress.percent === "number") {
      bar.value = progress.percent;
      bar.textContent = `${progress.percent}%`;
    } else {
      bar.removeAttribute("value"); // indeterminate: the size is not known yet
      bar.textContent = "";
    }

    row.querySelector(".job-detail").textContent = jobDetail(video);
    const error = row.querySelector(".job-error");
    error.textContent = video.error || "";
    error.hidden = !video.error;

    const retry = row.querySelector("button.retry");
    retry.querySelector(".visually-hidden").textContent = ` ${title}`;
    const wasFocused = retry.contains(document.activeElement);
    retry.hidden = video.status !== "failed";
    const outcome = row.querySelector(".job-outcome");
    // "Queued again" goes once the job moves on (its badge tells the rest); a refusal stays.
    if (outcome.textContent && !outcome.classList.contains("is-error") && outcome.dataset.status !== video.status) {
      outcome.textContent = "";
    }
    // The button went away under the keyboard's focus: keep the focus in this row.
    if (wasFocused && retry.hidden) (outcome.textContent ? outcome : link).focus();
  }

  function renderJobs(answer) {
    const videos = answer.results || [];
    const existing = new Map([...jobList.children].map((row) => [row.dataset.videoId, row]));
    let previous = null;
    for (const video of videos) {
      const key = String(video.id);
      const row = existing.get(key) || newRow(jobTemplate);
      existing.delete(key);
      updateJob(row, video);
      const expected = previous ? previous.nextElementSibling : jobList.firstElementChild;
      // Only move rows that are out of place: moving a row would take the focus off its button.
      if (expected !== row) jobList.insertBefore(row, expected);
      previous = row;
    }
    for (const gone of existing.values()) gone.remove();

    const filter = statusFilter.value;
    jobsNone.hidden = videos.length > 0;
    if (filter) {
      jobsNone.textContent = `No ${filter} jobs.`;
    } else {
      jobsNone.replaceChildren(
        "No jobs yet. Each video a source yields shows up here once a worker has looked the source up; " +
          "if sources stay “waiting”, the workers are not running (",
        codeElement("make run"),
        " starts them).",
      );
    }
    const total = answer.count ?? videos.length;
    jobsCount.textContent = !videos.length ? "" : total > videos.length ? `The ${videos.length} newest of ${total} jobs.` : `${plural(total, "job")}.`;
  }

  // -- the source list ------------------------------------------------------------------------

  function sourceState(source) {
    const counts = source.videos || {};
    if (source.error) return ["Looking it up failed:"];
    if (!source.last_ingested_at) {
      const waited = Date.now() - Date.parse(source.created_at);
      if (waited > STALE_SOURCE_MS) {
        return ["No worker has looked it up yet. Are the workers running? (", codeElement("make run"), " starts them.)"];
      }
      return ["Waiting for a worker to look it up."];
    }
    if (!counts.total) return ["No new videos found."];
    const spans = STATUSES.filter((status) => counts[status]).map((status) => {
      const span = document.createElement("span");
      span.textContent = `${counts[status]} ${status}`;
      return span;
    });
    return [`${plural(counts.total, "video")}: `, ...spans];
  }

  function updateSource(row, source) {
    row.dataset.sourceId = String(source.id);
    row.querySelector(".badge.kind").textContent = source.kind_label || source.kind;
    row.querySelector(".source-locator").textContent = source.locator;
    const state = row.querySelector(".source-state");
    const parts = sourceState(source);
    const text = parts.map((part) => (typeof part === "string" ? part : part.textContent)).join("");
    if (state.textContent.replace(/\s+/g, " ").trim() !== text.replace(/\s+/g, " ").trim()) state.replaceChildren(...parts);
    const error = row.querySelector(".source-error");
    error.textContent = source.error || "";
    error.hidden = !source.error;
  }

  function renderSources(sources, { replace }) {
    const existing = new Map([...sourceList.children].map((row) => [row.dataset.sourceId, row]));
    let previous = null;
    for (const source of sources) {
      const key = String(source.id);
      const row = existing.get(key) || newRow(sourceTemplate);
      existing.delete(key);
      updateSource(row, source);
      const expected = previous ? previous.nextElementSibling : sourceList.firstElementChild;
      if (expected !== row) sourceList.insertBefore(row, expected);
      previous = row;
    }
    if (replace) for (const gone of existing.values()) gone.remove();
    if (sourceList.children.length) emptyState.hidden = true;
    sourceNone.hidden = sourceList.children.length > 0;
  }

  // -- polling --------------------------------------------------------------------------------

  async function getJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    const answer = await response.json().catch(() => null);
    if (!response.ok) {
      const reason = answer && answer.detail ? answer.detail : response.statusText;
      const advice = response.status === 401 || response.status === 403 ? " Log in again as a curator." : "";
      throw new Error(`the server answered ${response.status} (${reason}).${advice}`);
    }
    if (answer === null) throw new Error("the server's answer was not JSON.");
    return answer;
  }

  function videosUrl() {
    const params = new URLSearchParams();
    if (statusFilter.value) params.set("status", statusFilter.value);
    return `/api/videos/?${params}`;
  }

  let timer = null;
  let running = null;
  let again = false;

  async function refresh() {
    const [sources, videos] = await Promise.all([getJSON("/api/sources/"), getJSON(videosUrl())]);
    // Nothing ingested at all: explain how to start. (A status filter hides jobs, so it can't tell.)
    if (!statusFilter.value) emptyState.hidden = Boolean(sources.count || videos.count);
    renderSources(sources.results || [], { replace: true });
    renderJobs(videos);
  }

  async function poll() {
    clearTimeout(timer);
    timer = null;
    if (running) {
      again = true; // one more right after the one in flight, with fresh parameters
      return;
    }
    running = refresh()
      .then(() => {
        pollError.hidden = true;
        pollError.textContent = "";
      })
      .catch((error) => {
        pollError.textContent = `The lists could not be updated: ${error.message} Trying again every ${POLL_MS / 1000} s.`;
        pollError.hidden = false;
      });
    await running;
    running = null;
    if (again) {
      again = false;
      poll();
    } else {
      schedule();
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = document.hidden ? null : setTimeout(poll, POLL_MS);
  }

  // A hidden tab asks nothing; it catches up as soon as it is shown again.
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      clearTimeout(timer);
      timer = null;
    } else {
      poll();
    }
  });

  statusFilter.addEventListener("change", () => {
    const url = new URL(window.location.href);
    if (statusFilter.value) url.searchParams.set("status", statusFilter.value);
    else url.searchParams.delete("status");
    history.replaceState(null, "", url);
    poll();
  });

  // -- adding sources -------------------------------------------------------------------------

  function clearErrors() {
    formErrors.replaceChildren();
    for (const field of [sourcesField, ...Object.values(limitFields)]) field.removeAttribute("aria-invalid");
  }

  function problemItem(label, message) {
    const item = document.createElement("li");
    if (label) item.append(codeElement(label), ": ");
    item.append(message);
    return item;
  }

  function messages(value) {
    if (value === null || value === undefined) return [];
    if (typeof value === "string") return [value];
    if (Array.isArray(value)) return value.flatMap(messages);
    return Object.values(value).flatMap(messages);
  }

  // Shows a 400's problems field by field: `sources` maps each refused source to its reason
  // (or a list item's index to its messages); other fields carry lists of messages.
  function showErrors(answer, lines, httpStatus) {
    clearErrors();
    const items = [];
    const fieldLabels = { search: "Results per search", max_items: "Most videos per playlist" };
    for (const [field, problem] of Object.entries(answer || {})) {
      if (field === "sources") {
        sourcesField.setAttribute("aria-invalid", "true");
        if (problem && typeof problem === "object" && !Array.isArray(problem)) {
          for (const [source, reason] of Object.entries(problem)) {
            const label = /^\d+$/.test(source) && lines[Number(source)] !== undefined ? lines[Number(source)] : source;
            items.push(problemItem(label, messages(reason).join(" ")));
          }
        } else {
          items.push(problemItem("", messages(problem).join(" ")));
        }
      } else if (field in limitFields) {
        limitFields[field].setAttribute("aria-invalid", "true");
        items.push(problemItem("", `${fieldLabels[field]}: ${messages(problem).join(" ")}`));
      } else {
        items.push(problemItem("", messages(problem).join(" ")));
      }
    }
    if (!items.length) items.push(problemItem("", `The server answered ${httpStatus}.`));
    const heading = document.createElement("p");
    heading.textContent = httpStatus === 400 ? "Nothing was added. Fix these and submit again:" : "Nothing was added:";
    const list = document.createElement("ul");
    list.append(...items);
    formErrors.append(heading, list);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    formStatus.textContent = "";
    const lines = sourcesField.value
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter(Boolean);
    if (!lines.length) {
      showErrors({ sources: ["Paste at least one source: a video or playlist URL, or a search."] }, lines, 400);
      sourcesField.focus();
      return;
    }
    const body = { sources: lines };
    for (const [name, field] of Object.entries(limitFields)) {
      if (field.value.trim()) body[name] = field.value.trim(); // the server checks it is a whole number
    }
    submitButton.disabled = true;
    formStatus.textContent = "Adding…";
    try {
      const response = await fetch("/api/ingest/", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken },
        body: JSON.stringify(body),
      });
      const answer = await response.json().catch(() => ({}));
      if (response.status !== 202) {
        formStatus.textContent = "";
        showErrors(answer, lines, response.status);
        sourcesField.focus();
        return;
      }
      sourcesField.value = "";
      const added = answer.sources || [];
      formStatus.textContent = `Added ${plural(added.length, "source")}; the workers take it from here.`;
      // Shown at once, at the top; the next poll brings what the workers made of them.
      renderSources(added, { replace: false });
      poll();
    } catch (error) {
      formStatus.textContent = "";
      showErrors({ detail: `The server could not be reached (${error.message}).` }, lines, 0);
    } finally {
      submitButton.disabled = false;
    }
  });

  // -- retrying -------------------------------------------------------------------------------

  jobList.addEventListener("click", async (event) => {
    const button = event.target.closest("button.retry");
    if (!button) return;
    const row = button.closest(".job");
    const outcome = row.querySelector(".job-outcome");
    outcome.classList.remove("is-error");
    outcome.textContent = "Asking to retry…";
    button.disabled = true;
    try {
      const response = await fetch(`/api/videos/${encodeURIComponent(row.dataset.videoId)}/retry/`, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken },
      });
      const answer = await response.json().catch(() => ({}));
      if (response.status === 202) {
        outcome.textContent = "Queued again.";
        outcome.dataset.status = answer.status;
        updateJob(row, answer);
      } else {
        outcome.textContent = sentence(`Not retried: ${answer.detail || `the server answered ${response.status}`}`);
        outcome.classList.add("is-error");
      }
    } catch (error) {
      outcome.textContent = `Not retried: the server could not be reached (${error.message}).`;
      outcome.classList.add("is-error");
    } finally {
      button.disabled = false;
    }
  });

  schedule();
})();
