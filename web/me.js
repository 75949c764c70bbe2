(function () {
  "use strict";
  let lang = localStorage.getItem("labinn.lang") || "zh";
  const $ = (id) => document.getElementById(id);
  const t = (zh, en) => (lang === "zh" ? zh : en);
  let bookings = [];
  let events = [];
  const STATUS = {
    pending: ["待审批", "waiting for approval"], confirmed: ["已确认", "confirmed"], checked_in: ["已签到", "checked in"],
  };
  function applyLang() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    $("lang").textContent = lang === "zh" ? "EN" : "中文";
    for (const el of document.querySelectorAll("[data-zh]")) el.textContent = el.dataset[lang];
    render();
  }
  $("lang").addEventListener("click", () => { lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("labinn.lang", lang); applyLang(); });

  function local(s) { return s.replace("T", " ").slice(0, 16); }
  function render() {
    const list = $("list");
    list.textContent = "";
    if (!bookings.length) {
      const p = document.createElement("p");
      p.className = "muted";
      p.textContent = t("暂无可签到的预约。", "No bookings to check in.");
      list.appendChild(p);
    }
    for (const b of bookings) {
      const card = document.createElement("div");
      card.className = "card booking";
      const h = document.createElement("h2");
      h.textContent = (lang === "zh" ? b.resource_name_zh : b.resource_name_en) + " · " + b.unit_label;
      const when = document.createElement("div");
      when.className = "when";
      when.textContent = local(b.when.start_local) + " – " + local(b.when.end_local).slice(11) + " (" + b.timezone + ")";
      const st = document.createElement("span");
      st.className = "status";
      st.textContent = (STATUS[b.status] || [b.status, b.status])[lang === "zh" ? 0 : 1];
      const img = document.createElement("img");
      img.className = "qr";
      img.alt = "QR";
      img.src = b.checkin_code.qr_svg;
      const code = document.createElement("div");
      code.className = "short";
      code.textContent = b.checkin_code.short;
      card.append(h, when, st, img, code);
      if (b.status !== "checked_in") {
        const c = document.createElement("button");
        c.className = "cancel";
        c.textContent = t("取消预约", "Cancel booking");
        c.addEventListener("click", async () => {
          if (!confirm(t("确定取消？", "Cancel this booking?"))) return;
          await fetch("/api/v1/bookings/" + b.id + "/cancel", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
          load();
        });
        card.appendChild(c);
      }
      list.appendChild(card);
    }
    const ev = $("events");
    ev.textContent = "";
    for (const e of events) {
      const card = document.createElement("div");
      card.className = "card event";
      const h = document.createElement("h2");
      h.textContent = t("活动：", "Event: ") + e.topic;
      const when = document.createElement("div");
      when.className = "when";
      when.textContent = new Date(e.start).toLocaleString(lang === "zh" ? "zh-CN" : "en", { dateStyle: "medium", timeStyle: "short" });
      const st = document.createElement("span");
      st.className = "status";
      st.textContent = e.attended_at ? t("已签到", "checked in") : t("已报名", "registered");
      const img = document.createElement("img");
      img.className = "qr";
      img.alt = "QR";
      img.src = "/api/v1/events/" + e.event_id + "/registration/qr.svg";
      card.append(h, when, st, img);
      ev.appendChild(card);
    }
  }
  async function load() {
    const me = await fetch("/api/v1/me");
    if (me.status === 401) { $("login").hidden = false; $("codes").hidden = true; $("logout").hidden = true; return; }
    $("login").hidden = true; $("codes").hidden = false; $("logout").hidden = false;
    // Bookings that can still be checked in or out carry a code (the server decides, by its clock).
    const r = await fetch("/api/v1/bookings");
    const all = r.status === 200 ? await r.json() : [];
    bookings = all.filter((b) => b.checkin_code && b.status !== "completed");
    // Event registrations whose event is not over or cancelled carry an event code.
    const er = await fetch("/api/v1/me/events");
    const mine = er.status === 200 ? await er.json() : [];
    events = mine.filter((e) => !e.cancelled && new Date(e.end) > new Date());
    $("personal-qr").src = "/api/v1/me/qr.svg";
    render();
  }
  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const r = await fetch("/api/v1/auth/login", { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: $("email").value, password: $("password").value }) });
    if (r.status === 200) { $("login-error").textContent = ""; load(); }
    else $("login-error").textContent = t("邮箱或密码不正确", "Wrong e-mail or password");
  });
  $("logout").addEventListener("click", async () => { await fetch("/api/v1/auth/logout", { method: "POST" }); load(); });
  applyLang();
  load();
})();
