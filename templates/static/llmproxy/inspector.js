/* Live traffic inspector: one card per request, fed by the ws/inspector/ websocket. */
(function () {
  "use strict";
  var MAX_CARDS = 200;
  var list = document.getElementById("inspector-requests");
  var statusEl = document.getElementById("inspector-status");
  var emptyEl = document.getElementById("inspector-empty");
  var countEl = document.getElementById("inspector-count");
  var pauseBtn = document.getElementById("inspector-pause");
  var flaggedOnly = document.getElementById("inspector-flagged");
  var cards = {};
  var paused = false;
  var backlog = [];
  var seen = 0;
  var retry = 500;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function setStatus(text, cls) {
    statusEl.textContent = text;
    statusEl.className = "lp-status " + (cls || "");
  }

  function fmtTime(epoch) {
    var d = epoch ? new Date(epoch * 1000) : new Date();
    return d.toLocaleTimeString();
  }

  function applyFilter(card) {
    card.root.hidden = flaggedOnly.checked && !card.root.classList.contains("flagged") &&
      !card.root.classList.contains("error");
  }

  function onStart(msg) {
    if (cards[msg.id]) { return cards[msg.id]; }
    var root = el("div", "lp-request");
    root.dataset.requestId = msg.id;
    var head = el("div", "lp-head");
    head.appendChild(el("span", "lp-badge running lp-state", "running"));
    head.appendChild(el("span", "lp-model", msg.client_model || "(no model)"));
    if (msg.targets && msg.targets.length) {
      head.appendChild(el("span", "lp-targets", "→ " + msg.targets.join(", ") + (msg.policy ? " (" + msg.policy + ")" : "")));
    }
    var meta = [fmtTime(msg.at), msg.protocol, msg.stream ? "stream" : "no stream"];
    if (msg.project) { meta.push("project " + msg.project); }
    if (msg.session) { meta.push("session " + msg.session); }
    if (msg.principal) { meta.push("key " + msg.principal); }
    if (msg.user) { meta.push("user " + msg.user); }
    head.appendChild(el("span", "lp-meta", meta.join(" · ")));
    var text = el("div", "lp-text");
    var foot = el("div", "lp-foot");
    root.appendChild(head);
    root.appendChild(text);
    root.appendChild(foot);
    list.insertBefore(root, list.firstChild);
    var card = { root: root, head: head, text: text, foot: foot, lastKind: null, lastNode: null };
    cards[msg.id] = card;
    seen += 1;
    emptyEl.hidden = true;
    countEl.textContent = seen + " request(s) seen";
    while (list.children.length > MAX_CARDS) {
      var old = list.lastChild;
      delete cards[old.dataset.requestId];
      list.removeChild(old);
    }
    applyFilter(card);
    return card;
  }

  function append(card, kind, value) {
    if (!value) { return; }
    if (card.lastKind !== kind) {
      card.lastNode = el("span", kind === "thinking" ? "lp-thinking" : "lp-answer");
      card.text.appendChild(card.lastNode);
      card.lastKind = kind;
    }
    card.lastNode.appendChild(document.createTextNode(value));
    card.text.scrollTop = card.text.scrollHeight;
  }

  function onDelta(msg) {
    var card = cards[msg.id] || onStart({ id: msg.id });
    append(card, "thinking", msg.thinking);
    append(card, "text", msg.text);
  }

  function onFinish(msg) {
    var card = cards[msg.id] || onStart({ id: msg.id });
    var failed = msg.status >= 400;
    var state = card.head.querySelector(".lp-state");
    state.textContent = String(msg.status) + (msg.error_type ? " " + msg.error_type : "");
    state.className = "lp-badge lp-state " + (failed ? "err" : "ok");
    card.root.classList.add(failed ? "error" : "done");
    var foot = card.foot;
    if (msg.backend) { foot.appendChild(el("span", null, "served by " + msg.backend + ":" + msg.model + (msg.key_hint ? " (key " + msg.key_hint + ")" : ""))); }
    foot.appendChild(el("span", null, "tokens " + msg.input_tokens + " in / " + msg.output_tokens + " out"));
    foot.appendChild(el("span", null, msg.cost_usd === null || msg.cost_usd === undefined ? "cost unknown" : "cost $" + msg.cost_usd.toFixed(6)));
    foot.appendChild(el("span", null, "latency " + Math.round(msg.latency_ms) + " ms" + (msg.ttft_ms !== null && msg.ttft_ms !== undefined ? " (first token " + Math.round(msg.ttft_ms) + " ms)" : "")));
    var flagged = false;
    if (msg.loop_halts) { foot.appendChild(el("span", "lp-badge loop", "loop halted ×" + msg.loop_halts)); flagged = true; }
    if (msg.redactions) { foot.appendChild(el("span", "lp-badge redacted", msg.redactions + " secret(s) redacted")); flagged = true; }
    if (msg.failover) { foot.appendChild(el("span", "lp-badge failover", "failover: " + msg.attempts.length + " attempts")); flagged = true; }
    if (msg.answered_by_proxy) { foot.appendChild(el("span", "lp-badge", "answered by proxy")); }
    if (msg.client_disconnected) { foot.appendChild(el("span", "lp-badge err", "client went away")); }
    if (msg.error_message) { card.root.appendChild(el("div", "lp-meta", msg.error_message)); }
    if (msg.failover && msg.attempts.length) {
      var ol = el("ol", "lp-attempts");
      msg.attempts.forEach(function (a) {
        var li = el("li", a.outcome === "ok" ? "" : "failed",
          a.backend + ":" + a.model + (a.key_hint ? " [" + a.key_hint + "]" : "") + " → " + a.status + " " + a.outcome + " (" + Math.round(a.latency_ms) + " ms)");
        ol.appendChild(li);
      });
      card.root.appendChild(ol);
    }
    if (flagged) { card.root.classList.add("flagged"); }
    applyFilter(card);
  }

  function handle(msg) {
    if (msg.type === "start") { onStart(msg); }
    else if (msg.type === "delta") { onDelta(msg); }
    else if (msg.type === "finish") { onFinish(msg); }
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + list.dataset.wsPath);
    ws.onopen = function () { retry = 500; setStatus("live", "live"); };
    ws.onmessage = function (event) {
      var msg = JSON.parse(event.data);
      if (msg.type === "hello" || msg.type === "pong") { return; }
      if (paused) { backlog.push(msg); return; }
      handle(msg);
    };
    ws.onclose = function (event) {
      if (event.code === 4403) { setStatus("not allowed (staff only)", "down"); return; }
      setStatus("disconnected, retrying…", "down");
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }

  pauseBtn.addEventListener("click", function () {
    paused = !paused;
    pauseBtn.textContent = paused ? "Resume" : "Pause";
    if (!paused) { backlog.splice(0).forEach(handle); }
  });
  document.getElementById("inspector-clear").addEventListener("click", function () {
    list.textContent = "";
    cards = {};
    emptyEl.hidden = false;
  });
  flaggedOnly.addEventListener("change", function () {
    Object.keys(cards).forEach(function (id) { applyFilter(cards[id]); });
  });
  connect();
})();
