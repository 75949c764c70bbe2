// labinn kiosk: pairing, keyboard-wedge scanner, typed short codes, and the camera
// (BarcodeDetector where the browser has it, else grey frames decoded on the server).
// No build step; served from the binary at /kiosk.
(function () {
  "use strict";
  const TOKEN = "labinn.kiosk.token";
  const LANG = "labinn.kiosk.lang";
  const params = new URLSearchParams(location.search);
  const RESET_MS = Number(params.get("reset") || 4000);
  // The kiosk's own choice, else the one the site's pages remember (their cookie), else Chinese.
  const siteLang = (document.cookie.match(/(?:^|; )labinn_lang=([a-z]+)/) || [])[1];
  const asked = params.get("lang");
  let lang = asked ? (asked.startsWith("en") ? "en" : "zh") : localStorage.getItem(LANG) || (siteLang === "en" ? "en" : "zh");
  let busy = false;
  let hello = null;

  const $ = (id) => document.getElementById(id);
  const show = (id) => {
    for (const s of ["pairing", "ready", "result"]) $(s).hidden = s !== id;
    if (id === "ready") focusInput();
  };
  const t = (zh, en) => (lang === "zh" ? zh : en);

  function applyLang() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    $("lang").textContent = lang === "zh" ? "EN" : "中文";
    for (const el of document.querySelectorAll("[data-zh]")) el.textContent = el.dataset[lang];
    if (hello) {
      $("space-name").textContent = lang === "zh" ? hello.space_name_zh : hello.space_name_en;
      $("kiosk-name").textContent = "· " + hello.name;
    }
  }
  $("lang").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem(LANG, lang);
    applyLang();
    focusInput();
  });

  function tick() {
    const d = new Date();
    const opts = { hour: "2-digit", minute: "2-digit" };
    // The space's own time, whatever zone the kiosk's system is set to.
    if (hello && hello.timezone) opts.timeZone = hello.timezone;
    try {
      $("clock").textContent = d.toLocaleTimeString(lang === "zh" ? "zh-CN" : "en-GB", opts);
    } catch (_) {
      $("clock").textContent = d.toLocaleTimeString();
    }
  }
  setInterval(tick, 1000);
  tick();

  function focusInput() {
    const i = $("scan-input");
    if (!$("ready").hidden && document.activeElement !== i) i.focus();
  }
  // A wedge scanner types wherever focus is: keep it on the code field.
  document.addEventListener("click", () => setTimeout(focusInput, 0));
  setInterval(focusInput, 1000);

  async function api(path, options) {
    const headers = Object.assign({ "content-type": "application/json" }, (options && options.headers) || {});
    const token = localStorage.getItem(TOKEN);
    if (token) headers.authorization = "Bearer " + token;
    const res = await fetch(path, Object.assign({}, options, { headers }));
    let body = null;
    try { body = await res.json(); } catch (_) { body = null; }
    return { status: res.status, body };
  }

  // Opened from the console's pairing QR code (`/kiosk?pair=CODE`): pair with that code once,
  // and take it out of the address so that a reload does not send it again.
  let prePair = params.get("pair");
  // A paired kiosk keeps its token until the new code has paired it: a used or expired QR
  // code must not leave a working kiosk unpaired.
  let keptToken = prePair ? localStorage.getItem(TOKEN) : null;
  if (prePair) {
    params.delete("pair");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? "?" + rest : ""));
  }

  function unpair() {
    localStorage.removeItem(TOKEN);
    hello = null;
    $("space-name").textContent = "labinn";
    $("kiosk-name").textContent = "";
    show("pairing");
    $("pair-code").focus();
    if (prePair) {
      $("pair-code").value = prePair;
      prePair = null;
      $("pair-form").requestSubmit();
    }
  }

  // ---- pairing ----
  $("pair-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("pair-error").textContent = "";
    try {
      const r = await api("/api/v1/kiosk/pair", { method: "POST", body: JSON.stringify({ pairing_code: $("pair-code").value }) });
      if (r.status === 200) {
        keptToken = null;
        localStorage.setItem(TOKEN, r.body.token);
        hello = r.body.kiosk;
        applyLang();
        show("ready");
      } else if (keptToken) {
        localStorage.setItem(TOKEN, keptToken);
        keptToken = null;
        location.reload();
      } else {
        $("pair-error").textContent = t("配对码无效或已过期", "The pairing code is unknown, used or expired");
      }
    } catch (_) {
      if (keptToken) { localStorage.setItem(TOKEN, keptToken); keptToken = null; location.reload(); return; }
      $("pair-error").textContent = t("网络中断，请重试", "Network is down; try again");
    }
  });

  // ---- scanning ----
  function showResult(r) {
    const ok = r.decision === "check_in" || r.decision === "check_out" || r.decision === "attend";
    const box = $("result");
    box.className = ok ? "ok" : "deny";
    $("result-icon").textContent = ok ? "✓" : "✕";
    let title;
    if (r.decision === "check_in") title = t("签到成功", "Checked in");
    else if (r.decision === "check_out") title = t("签退成功", "Checked out");
    else if (r.decision === "attend") title = r.first === false ? t("已经签到过", "Already counted") : t("活动签到成功", "Welcome");
    else title = t("无法签到", "Not allowed");
    $("result-title").textContent = title;
    $("result-detail").textContent = lang === "zh" ? r.message_zh : r.message_en;
    box.dataset.decision = r.decision;
    box.dataset.reason = r.reason || "";
    show("result");
    setTimeout(() => { busy = false; show("ready"); }, RESET_MS);
  }

  function networkBanner(on) {
    const n = $("network");
    n.hidden = !on;
    n.textContent = t("网络中断，正在重试…", "Network is down; retrying…");
  }

  // The camera keeps seeing a phone that is still held up. A code it has read is ignored
  // for as long as it stays in view, and until it has been out of view for AWAY_MS: a phone
  // held in front of the kiosk checks in once and never straight out again. Every code in
  // view is remembered on its own (two phones at once), and a code still in view stays seen
  // however long the answer takes (a retry after a network drop included).
  const AWAY_MS = Number(params.get("away") || 5000);
  const seen = new Map();
  function inView(code) {
    const now = Date.now();
    for (const [c, at] of seen) if (now - at >= AWAY_MS) seen.delete(c);
    const held = seen.has(code);
    if (held || busy) {
      // Refreshed while held; a new code seen while a result shows is read on a later frame.
      if (held) seen.set(code, now);
      return true;
    }
    seen.set(code, now);
    return false;
  }
  async function submit(code, fromCamera) {
    code = (code || "").trim();
    if (!code) return;
    if (fromCamera && inView(code)) return;
    if (busy) return;
    busy = true;
    const started = Date.now();
    for (;;) {
      try {
        const r = await api("/api/v1/kiosk/scan", { method: "POST", body: JSON.stringify({ code }) });
        networkBanner(false);
        if (r.status === 401) { busy = false; unpair(); return; }
        if (r.status === 200) { showResult(r.body); return; }
        showResult({ decision: "deny", reason: "error", message_zh: "系统错误，请联系工作人员", message_en: "System error; please ask staff" });
        return;
      } catch (_) {
        // The network dropped: say so and try again for up to a minute.
        networkBanner(true);
        if (Date.now() - started > 60000) { busy = false; return; }
        await new Promise((ok) => setTimeout(ok, 2000));
      }
    }
  }

  $("scan-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const v = $("scan-input").value;
    $("scan-input").value = "";
    submit(v);
  });

  // ---- camera ----
  let cameraOn = false;
  async function startCamera() {
    if (cameraOn) return;
    const video = $("video");
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment", width: 640, height: 480 } });
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      cameraOn = true;
    } catch (e) {
      $("camera-state").textContent = t("无法打开摄像头", "Cannot open the camera") + " (" + e.name + ")";
      return;
    }
    let detector = null;
    if ("BarcodeDetector" in window) {
      try { detector = new window.BarcodeDetector({ formats: ["qr_code"] }); } catch (_) { detector = null; }
    }
    $("camera-state").textContent = detector ? "BarcodeDetector" : t("服务器解码", "server decoding");
    const canvas = $("frame");
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    const loop = async () => {
      // Frames are read on the result screen too, so that a code still in view stays seen.
      if (video.readyState >= 2 && $("pairing").hidden) {
        try {
          let texts = [];
          if (detector) {
            texts = (await detector.detect(video)).map((c) => c.rawValue);
          } else {
            const text = await decodeOnServer(video, canvas, ctx);
            if (text) texts = [text];
          }
          // Every code in the frame keeps its own "still in view"; the first new one is sent
          // (without waiting for its answer, so that frames keep being read meanwhile).
          for (const text of texts) submit(text, true);
        } catch (_) { /* a bad frame: try the next */ }
      }
      setTimeout(loop, detector ? 150 : 300);
    };
    loop();
  }

  // Crop the middle, downscale to at most 480 × 360, send 8-bit grey.
  async function decodeOnServer(video, canvas, ctx) {
    const vw = video.videoWidth, vh = video.videoHeight;
    if (!vw || !vh) return null;
    const side = Math.min(vw, vh);
    const w = Math.min(360, side), h = w;
    canvas.width = w; canvas.height = h;
    ctx.drawImage(video, (vw - side) / 2, (vh - side) / 2, side, side, 0, 0, w, h);
    const rgba = ctx.getImageData(0, 0, w, h).data;
    const grey = new Uint8Array(w * h);
    for (let i = 0, j = 0; j < grey.length; i += 4, j++) {
      grey[j] = (rgba[i] * 77 + rgba[i + 1] * 150 + rgba[i + 2] * 29) >> 8;
    }
    const token = localStorage.getItem(TOKEN);
    const res = await fetch("/api/v1/kiosk/decode?width=" + w + "&height=" + h, {
      method: "POST",
      headers: { "content-type": "application/octet-stream", authorization: "Bearer " + token },
      body: grey,
    });
    if (res.status !== 200) return null;
    const body = await res.json();
    return body.text;
  }
  $("camera-btn").addEventListener("click", startCamera);

  // ---- start ----
  applyLang();
  (async () => {
    // A pairing code in the address pairs this device again, with the new code.
    if (prePair || !localStorage.getItem(TOKEN)) { unpair(); return; }
    try {
      const r = await api("/api/v1/kiosk/me");
      if (r.status === 401) { unpair(); return; }
      hello = r.body;
    } catch (_) { networkBanner(true); }
    applyLang();
    show("ready");
    if (params.get("camera") === "1") startCamera();
  })();
})();
