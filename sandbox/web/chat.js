// The sandbox's chat page: one person plays every user of the bot by hand.
//
// It talks only to the sandbox's control API (sandbox/README.md) and hears about changes
// through GET /sandbox/events (Server-Sent Events). Everything a message carries is put
// in the page as text nodes; bot formatting is rebuilt from the message's entities, never
// from markup, so nothing a bot or a person sends can run here.
"use strict";

// ---- labels: the page speaks the selected person's language ---------------------------

const LABELS = {
  zh: {
    appTitle: "Outpost 演示",
    search: "搜索",
    chooseChat: "选择左侧的一个聊天",
    intro: "在这里你扮演每一个人：观察员与机器人的私聊、办公室群里的管理员、部门联络员、陌生人。选一个聊天，像在 Telegram 里一样打字、发图片和文件、点按钮；机器人的回复会实时出现。",
    composer: "输入消息",
    send: "发送",
    attach: "附加图片或文件",
    keyboard: "键盘",
    back: "返回",
    cancel: "取消",
    ok: "好",
    speakingAs: "发言身份",
    language: "此人 Telegram 的语言",
    connecting: "正在连接…",
    connected: "已连接沙盒",
    disconnected: "连接中断，正在重连…",
    privateChat: "与机器人的私聊",
    members: "群组 · {n} 名成员",
    noMessages: "还没有消息",
    edited: "已编辑",
    reply: "回复",
    replyingTo: "回复 {name}",
    photo: "图片",
    file: "文件",
    contact: "联系人",
    location: "位置",
    admin: "管理员",
    owner: "群主",
    blocked: "已屏蔽机器人",
    openAs: "以谁的身份打开？",
    openAsHint: "所选的人会在与机器人的私聊中发送 {command}。",
    languageHint: "{name} 的 Telegram 语言已改为{language}。机器人从此人的下一条消息起使用它（除非此人已用 /lang 选过语言）。",
    languageNames: "中文|英文",
    copied: "已复制",
    notAvailable: "这种按钮在沙盒里不能用",
    tooBig: "文件太大：最多 {mb} MB",
    failed: "没有成功：{error}",
    notMember: "没有能在这个群里发言的成员",
  },
  en: {
    appTitle: "Outpost demo",
    search: "Search",
    chooseChat: "Choose a chat on the left",
    intro: "Here you play every person: the observers in their private chats with the bot, the admins in the office group, a department liaison, a stranger. Pick a chat and type, send photos and files, press buttons as in Telegram; the bot's answers appear as they come.",
    composer: "Message",
    send: "Send",
    attach: "Attach a picture or a file",
    keyboard: "Keyboard",
    back: "Back",
    cancel: "Cancel",
    ok: "OK",
    speakingAs: "Speaking as",
    language: "This person's Telegram language",
    connecting: "Connecting…",
    connected: "Connected to the sandbox",
    disconnected: "Connection lost, reconnecting…",
    privateChat: "private chat with the bot",
    members: "group · {n} members",
    noMessages: "No messages yet",
    edited: "edited",
    reply: "Reply",
    replyingTo: "Reply to {name}",
    photo: "Photo",
    file: "File",
    contact: "Contact",
    location: "Location",
    admin: "admin",
    owner: "owner",
    blocked: "has blocked the bot",
    openAs: "Open as which person?",
    openAsHint: "The person you choose sends {command} in their private chat with the bot.",
    languageHint: "{name}'s Telegram language is now {language}. The bot uses it from their next message (unless they chose a language with /lang).",
    languageNames: "Chinese|English",
    copied: "Copied",
    notAvailable: "This kind of button does not work in the sandbox",
    tooBig: "The file is too big: at most {mb} MB",
    failed: "That did not work: {error}",
    notMember: "Nobody in this group can speak",
  },
};

// ---- constants --------------------------------------------------------------------------

const MAX_UPLOAD_MB = 20;
const PHOTO_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
// Where a shared location points: the district of the demo (Wanzhou, Chongqing).
const DEMO_LOCATION = { latitude: 30.8078, longitude: 108.4089 };
const PRESENT = new Set(["creator", "administrator", "member", "restricted"]);
const STORE_KEY = "outpost-sandbox-page";
const URL_CHARS = "[A-Za-z0-9\\-._~:/?#\\[\\]@!$&'()*+,;=%]";
const AUTO_LINK = new RegExp(
  `(https?:\\/\\/${URL_CHARS}+)|((?<![A-Za-z0-9_/])\\/[A-Za-z][A-Za-z0-9_]{0,31}(?:@[A-Za-z0-9_]{3,32})?)(?![A-Za-z0-9_@/])`,
  "g",
);

// ---- state ------------------------------------------------------------------------------

const state = {
  bot: null, // the bot as getMe shows it
  users: new Map(), // id -> user (with blocked, about, phone)
  chats: new Map(), // id -> chat as GET /sandbox/chats shows it
  chatOrder: new Map(), // id -> creation index, for a stable list
  messages: new Map(), // chat id -> Map(message id -> message)
  activity: new Map(), // chat id -> counter of the last live arrival
  activityCounter: 0,
  open: null, // the open chat's id
  replyTo: null, // message id the composer answers
  forceReplied: new Set(), // "chat:message" force-reply prompts already answered or dismissed
  keyboardHidden: new Set(), // chats whose reply keyboard is folded away
  filter: "",
  loaded: false,
  hint: null, // {chatId, text}
  pressed: new Map(), // callback query id -> the button element waiting for its answer
  earlyAnswers: new Map(), // callback query id -> answer that came before the press returned
  stored: loadStored(), // {seen: {chat: id}, speakers: {chat: user}}
};

// ---- small helpers ----------------------------------------------------------------------

const $ = (selector, root = document) => root.querySelector(selector);

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

function loadStored() {
  try {
    const raw = JSON.parse(localStorage.getItem(STORE_KEY) || "{}");
    return { seen: raw.seen || {}, speakers: raw.speakers || {}, first: !raw.seen };
  } catch {
    return { seen: {}, speakers: {}, first: true };
  }
}

function saveStored() {
  try {
    const { seen, speakers } = state.stored;
    localStorage.setItem(STORE_KEY, JSON.stringify({ seen, speakers }));
  } catch {
    // Private windows may refuse storage; unread counts then last one visit.
  }
}

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new Error((data && data.error) || `${response.status} ${response.statusText}`);
  }
  return data;
}

function fullName(user) {
  if (!user) return "?";
  return [user.first_name, user.last_name].filter(Boolean).join(" ");
}

// Telegram's avatar letters: first and last name's; one character for a Chinese name.
function initials(name) {
  const words = String(name || "?").trim().split(/\s+/).filter((w) => /^[\p{L}\p{N}]/u.test(w));
  if (!words.length) return "?";
  const first = Array.from(words[0])[0];
  if (!/^[A-Za-z0-9]/.test(first)) return first;
  const second = words.length > 1 ? Array.from(words[1])[0] : "";
  return (first + (/^[A-Za-z0-9]/.test(second) ? second : "")).toUpperCase();
}

function pad(n) {
  return String(n).padStart(2, "0");
}

function clock(seconds) {
  const when = new Date(seconds * 1000);
  const now = new Date();
  const time = `${pad(when.getHours())}:${pad(when.getMinutes())}`;
  if (when.toDateString() === now.toDateString()) return time;
  return `${pad(when.getMonth() + 1)}-${pad(when.getDate())} ${time}`;
}

function fileSize(bytes) {
  if (bytes === undefined || bytes === null) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function fileUrl(fileId) {
  return `/sandbox/files/${encodeURIComponent(fileId)}`;
}

// ---- language ---------------------------------------------------------------------------

function langOf(user) {
  const code = (user && user.language_code) || "";
  if (!code) return null;
  return code.toLowerCase().startsWith("zh") ? "zh" : "en";
}

// The person the page acts as in the open chat: the private chat's owner, or the speaker.
function actorId(chatId = state.open) {
  const chat = state.chats.get(chatId);
  if (!chat) return null;
  if (chat.type === "private") return chat.id;
  return speakerOf(chat);
}

function uiLang() {
  const actor = state.users.get(actorId());
  return langOf(actor) || "zh";
}

function t(key, values) {
  const table = LABELS[uiLang()];
  let text = table[key] !== undefined ? table[key] : LABELS.zh[key];
  for (const [name, value] of Object.entries(values || {})) {
    text = text.split(`{${name}}`).join(String(value));
  }
  return text;
}

function translateStatic() {
  const lang = uiLang();
  document.documentElement.lang = lang === "zh" ? "zh-Hans" : "en";
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of document.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  const connection = $("[data-testid=connection]");
  connection.textContent = t(connection.dataset.state);
}

// ---- loading ----------------------------------------------------------------------------

async function loadAll() {
  let bot, users, chats;
  try {
    [bot, users, chats] = await Promise.all([
      api("GET", "/sandbox/bot"),
      api("GET", "/sandbox/users"),
      api("GET", "/sandbox/chats"),
    ]);
  } catch (error) {
    setConnection("disconnected");
    return;
  }
  state.bot = bot.bot;
  applyMeta(users.users, chats.chats);
  const firstVisit = !state.loaded && state.stored.first;
  const lists = await Promise.all(
    chats.chats.map((chat) =>
      api("GET", `/sandbox/chats/${chat.id}/messages`).then(
        (data) => [chat.id, data.messages],
        () => [chat.id, []],
      ),
    ),
  );
  for (const [chatId, list] of lists) {
    const map = new Map();
    for (const message of list) if (!message.deleted) map.set(message.message_id, message);
    state.messages.set(chatId, map);
    if (firstVisit || state.stored.seen[chatId] === undefined) {
      // What was there before the page first opened counts as read.
      state.stored.seen[chatId] = state.loaded ? 0 : maxId(chatId);
    }
  }
  state.loaded = true;
  saveStored();
  if (state.open !== null && !state.chats.has(state.open)) closeChat();
  const wanted = chatFromHash();
  if (wanted !== null && state.chats.has(wanted) && state.open !== wanted) openChat(wanted);
  else if (state.open !== null) renderOpenChat();
  renderList();
}

function applyMeta(users, chats) {
  state.users = new Map(users.map((user) => [user.id, user]));
  state.chats = new Map(chats.map((chat) => [chat.id, chat]));
  chats.forEach((chat, index) => state.chatOrder.set(chat.id, index));
  for (const id of [...state.messages.keys()]) if (!state.chats.has(id)) state.messages.delete(id);
}

let metaTimer = null;
function scheduleMeta() {
  if (metaTimer !== null) return;
  metaTimer = setTimeout(async () => {
    metaTimer = null;
    try {
      const [users, chats] = await Promise.all([
        api("GET", "/sandbox/users"),
        api("GET", "/sandbox/chats"),
      ]);
      const known = new Set(state.chats.keys());
      applyMeta(users.users, chats.chats);
      for (const chat of chats.chats) {
        if (!known.has(chat.id) && !state.messages.has(chat.id)) refresh(chat.id, 0);
      }
    } catch {
      return;
    }
    if (state.open !== null && !state.chats.has(state.open)) closeChat();
    if (state.open !== null) renderChrome();
    renderList();
  }, 30);
}

function maxId(chatId) {
  let max = 0;
  for (const id of (state.messages.get(chatId) || new Map()).keys()) if (id > max) max = id;
  return max;
}

// One fetch at a time per chat; requests that come meanwhile are merged into the next.
const jobs = new Map();
function refresh(chatId, sinceId) {
  let job = jobs.get(chatId);
  if (job) {
    job.since = job.since === null ? sinceId : Math.min(job.since, sinceId);
    return;
  }
  job = { since: sinceId };
  jobs.set(chatId, job);
  (async () => {
    while (job.since !== null) {
      const since = job.since;
      job.since = null;
      try {
        const data = await api("GET", `/sandbox/chats/${chatId}/messages?since_id=${since}`);
        merge(chatId, data.messages);
      } catch {
        // The chat went away (a reset); the reset's own event reloads everything.
      }
    }
    jobs.delete(chatId);
  })();
}

function merge(chatId, list) {
  if (!state.messages.has(chatId)) state.messages.set(chatId, new Map());
  const map = state.messages.get(chatId);
  const before = maxId(chatId);
  const changed = [];
  let arrived = false;
  for (const message of list) {
    const old = map.get(message.message_id);
    if (message.deleted) {
      if (old) {
        map.delete(message.message_id);
        changed.push({ id: message.message_id, removed: true });
      }
      continue;
    }
    if (old && JSON.stringify(old) === JSON.stringify(message)) continue;
    map.set(message.message_id, message);
    changed.push({ id: message.message_id });
    if (message.message_id > before) arrived = true;
  }
  if (arrived) state.activity.set(chatId, ++state.activityCounter);
  if (!state.chats.has(chatId)) scheduleMeta();
  if (chatId === state.open) {
    updateMessages(changed);
    markSeen(chatId);
    applyForceReply();
  }
  if (changed.length) renderList();
}

function markSeen(chatId) {
  const max = maxId(chatId);
  if ((state.stored.seen[chatId] || 0) < max) {
    state.stored.seen[chatId] = max;
    saveStored();
  }
}

function unreadCount(chatId) {
  if (chatId === state.open) return 0;
  const seen = state.stored.seen[chatId] || 0;
  let count = 0;
  for (const id of (state.messages.get(chatId) || new Map()).keys()) if (id > seen) count += 1;
  return count;
}

// ---- the change feed --------------------------------------------------------------------

let source = null;
function connect() {
  source = new EventSource("/sandbox/events");
  let lost = false;
  source.onopen = () => {
    setConnection("connected");
    // Whatever changed while the stream was down is fetched afresh.
    if (lost) loadAll();
    lost = false;
  };
  source.onmessage = (event) => {
    let change;
    try {
      change = JSON.parse(event.data);
    } catch {
      return;
    }
    onChange(change);
  };
  source.onerror = () => {
    lost = true;
    setConnection("disconnected");
    if (source.readyState === EventSource.CLOSED) {
      // The browser gave up (the server answered with an error): try again later.
      setTimeout(connect, 2000);
    }
  };
}

function onChange(change) {
  const chatId = change.chat_id;
  switch (change.kind) {
    case "message":
      if (!state.chats.has(chatId)) scheduleMeta();
      refresh(chatId, maxId(chatId));
      break;
    case "edit":
    case "delete":
      refresh(chatId, Math.max(0, change.message_id - 1));
      break;
    case "keyboard":
    case "chat":
    case "user":
      scheduleMeta();
      break;
    case "callback_answer":
      onCallbackAnswer(change);
      break;
    case "reset":
    case "resync":
      loadAll();
      break;
    default:
      break;
  }
}

function setConnection(name) {
  const el = $("[data-testid=connection]");
  el.dataset.state = name;
  el.textContent = t(name);
}

// ---- the chat list ----------------------------------------------------------------------

function lastMessage(chatId) {
  const map = state.messages.get(chatId);
  if (!map || !map.size) return null;
  return map.get(maxId(chatId)) || null;
}

function chatName(chat) {
  if (chat.type === "private") return fullName(state.users.get(chat.id) || chat.user || chat);
  return chat.title || String(chat.id);
}

function memberCount(chat) {
  return (chat.members || []).filter((m) => PRESENT.has(m.status)).length;
}

function chatAbout(chat) {
  if (chat.type !== "private") return t("members", { n: memberCount(chat) });
  const user = state.users.get(chat.id);
  if (user && user.about) return user.about;
  if (user && user.username) return `@${user.username}`;
  return t("privateChat");
}

// One line for the chat list and quotes; media as a tag, in the way Chinese messengers do.
function previewOf(message) {
  let text = message.text || "";
  if (message.photo) text = `[${t("photo")}] ${text}`;
  else if (message.document) text = `[${t("file")}] ${text || message.document.file_name || ""}`;
  else if (message.contact) text = `[${t("contact")}] ${message.contact.first_name || ""}`;
  else if (message.location) text = `[${t("location")}]`;
  return text.replace(/\s+/g, " ").trim();
}

function sortedChats() {
  const chats = [...state.chats.values()];
  const score = (chat) => {
    const last = lastMessage(chat.id);
    return [state.activity.get(chat.id) || 0, last ? last.date : 0];
  };
  return chats.sort((a, b) => {
    const [activityA, dateA] = score(a);
    const [activityB, dateB] = score(b);
    return (
      activityB - activityA ||
      dateB - dateA ||
      (state.chatOrder.get(a.id) || 0) - (state.chatOrder.get(b.id) || 0)
    );
  });
}

let listFrame = null;
function renderList() {
  if (listFrame !== null) return;
  listFrame = requestAnimationFrame(() => {
    listFrame = null;
    drawList();
  });
}

function drawList() {
  const list = $("[data-testid=chat-list]");
  const filter = state.filter.trim().toLowerCase();
  const entries = [];
  for (const chat of sortedChats()) {
    const name = chatName(chat);
    const about = chatAbout(chat);
    if (filter && !`${name} ${about}`.toLowerCase().includes(filter)) continue;
    const last = lastMessage(chat.id);
    let preview = last ? previewOf(last) : t("noMessages");
    if (last && chat.type !== "private") preview = `${senderName(last)}: ${preview}`;
    const unread = unreadCount(chat.id);
    entries.push(
      h(
        "button",
        {
          type: "button",
          class: `chat-entry${chat.id === state.open ? " active" : ""}`,
          "data-testid": "chat",
          "data-chat-id": chat.id,
          "data-chat-type": chat.type,
          "aria-current": chat.id === state.open ? "true" : null,
          onclick: () => openChat(chat.id),
        },
        avatar(chat.id, name),
        h(
          "span",
          { class: "entry-body" },
          h(
            "span",
            { class: "entry-top" },
            h("span", { class: "entry-name", "data-testid": "chat-name", text: name }),
            h("span", { class: "entry-time", text: last ? clock(last.date) : "" }),
          ),
          h("span", { class: "entry-about", "data-testid": "chat-about", text: about }),
          h(
            "span",
            { class: "entry-bottom" },
            h("span", { class: "entry-preview", "data-testid": "chat-preview", text: preview }),
            unread ? h("span", { class: "badge", "data-testid": "unread", text: unread }) : null,
          ),
        ),
      ),
    );
  }
  list.replaceChildren(...entries);
}

function avatar(id, name) {
  const color = Math.abs(Number(id)) % 7;
  return h("span", { class: `avatar c${color}`, "aria-hidden": "true", text: initials(name) });
}

// ---- opening a chat ---------------------------------------------------------------------

function chatFromHash() {
  const match = /^#(-?\d+)$/.exec(location.hash);
  return match ? Number(match[1]) : null;
}

function openChat(chatId) {
  if (!state.chats.has(chatId)) return;
  const switching = state.open !== chatId;
  state.open = chatId;
  if (chatFromHash() !== chatId) history.replaceState(null, "", `#${chatId}`);
  if (switching) {
    state.replyTo = null;
    if (!state.hint || state.hint.chatId !== chatId) state.hint = null;
    $("[data-testid=composer]").value = "";
  }
  $("#app").classList.add("show-chat");
  $("[data-testid=empty]").hidden = true;
  $("[data-testid=chat-pane]").hidden = false;
  renderOpenChat();
  markSeen(chatId);
  renderList();
  if (window.matchMedia("(min-width: 721px)").matches) $("[data-testid=composer]").focus();
}

function closeChat() {
  state.open = null;
  state.replyTo = null;
  if (location.hash) history.replaceState(null, "", location.pathname);
  $("#app").classList.remove("show-chat");
  $("[data-testid=empty]").hidden = false;
  $("[data-testid=chat-pane]").hidden = true;
  translateStatic();
  renderList();
}

function renderOpenChat() {
  renderChrome();
  drawMessages();
  applyForceReply();
}

// Everything around the messages: header, speaker, keyboard, hint, reply bar, labels.
function renderChrome() {
  const chat = state.chats.get(state.open);
  if (!chat) return;
  const pane = $("[data-testid=chat-pane]");
  pane.dataset.chatId = chat.id;
  pane.dataset.chatType = chat.type;
  renderSpeaker(chat);
  translateStatic();
  const name = chatName(chat);
  const avatarEl = $("[data-testid=chat-avatar]");
  avatarEl.className = `avatar c${Math.abs(chat.id) % 7}`;
  avatarEl.textContent = initials(name);
  $("[data-testid=chat-title]").textContent = name;
  let subtitle = chatAbout(chat);
  const user = chat.type === "private" ? state.users.get(chat.id) : null;
  if (user && user.blocked) subtitle = `${subtitle} · ${t("blocked")}`;
  $("[data-testid=chat-subtitle]").textContent = subtitle;
  const actor = state.users.get(actorId());
  const lang = langOf(actor);
  for (const button of document.querySelectorAll("[data-testid=language] button")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === lang));
    button.disabled = !actor;
  }
  const hint = $("[data-testid=language-hint]");
  hint.hidden = !(state.hint && state.hint.chatId === chat.id);
  if (!hint.hidden) hint.textContent = state.hint.text;
  renderKeyboard(chat);
  renderReplyBar();
}

function renderSpeaker(chat) {
  const bar = $("[data-testid=speaker-bar]");
  const select = $("[data-testid=speaker]");
  if (chat.type === "private") {
    bar.hidden = true;
    select.replaceChildren();
    return;
  }
  bar.hidden = false;
  const current = speakerOf(chat);
  const options = speakers(chat).map((member) => {
    const role = member.status === "creator" ? t("owner") : member.status === "administrator" ? t("admin") : "";
    const label = role ? `${fullName(member.user)} (${role})` : fullName(member.user);
    return h("option", { value: member.user.id, selected: member.user.id === current }, label);
  });
  select.replaceChildren(...options);
  if (current !== null) select.value = String(current);
}

function speakers(chat) {
  const rank = { creator: 0, administrator: 1, member: 2, restricted: 3 };
  return (chat.members || [])
    .filter((m) => PRESENT.has(m.status) && m.user && !m.user.is_bot && state.users.has(m.user.id))
    .sort((a, b) => rank[a.status] - rank[b.status]);
}

function speakerOf(chat) {
  const present = speakers(chat);
  const chosen = state.stored.speakers[chat.id];
  if (present.some((m) => m.user.id === chosen)) return chosen;
  return present.length ? present[0].user.id : null;
}

// ---- messages ---------------------------------------------------------------------------

function messagesInner() {
  return $("[data-testid=messages] .messages-inner");
}

function nearBottom() {
  const box = $("[data-testid=messages]");
  return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
}

// Whether the reader was at the newest message before the last change of layout (a photo
// loading makes the list taller without any scrolling).
let stuckToBottom = true;

function scrollToBottom() {
  const box = $("[data-testid=messages]");
  box.scrollTop = box.scrollHeight;
  stuckToBottom = true;
}

function drawMessages() {
  const chatId = state.open;
  const map = state.messages.get(chatId) || new Map();
  const ids = [...map.keys()].sort((a, b) => a - b);
  const inner = messagesInner();
  if (!ids.length) {
    inner.replaceChildren(h("div", { class: "no-messages", text: t("noMessages") }));
    return;
  }
  inner.replaceChildren(...ids.map((id) => messageElement(chatId, map.get(id))));
  scrollToBottom();
}

function updateMessages(changed) {
  if (!changed.length) return;
  const stick = nearBottom();
  const inner = messagesInner();
  const placeholder = $(".no-messages", inner);
  if (placeholder) placeholder.remove();
  const map = state.messages.get(state.open) || new Map();
  for (const { id, removed } of changed) {
    const existing = inner.querySelector(`[data-testid=message][data-message-id="${id}"]`);
    if (removed) {
      if (existing) existing.remove();
      if (state.replyTo === id) setReply(null);
      continue;
    }
    const element = messageElement(state.open, map.get(id));
    if (existing) {
      existing.replaceWith(element);
      continue;
    }
    const later = [...inner.children].find((el) => Number(el.dataset.messageId) > id);
    inner.insertBefore(element, later || null);
  }
  if (state.replyTo !== null) renderReplyBar();
  if (stick) scrollToBottom();
}

function redrawMessagesKeepingScroll() {
  const box = $("[data-testid=messages]");
  const stick = nearBottom();
  const top = box.scrollTop;
  drawMessages();
  if (!stick) box.scrollTop = top;
}

function senderName(message) {
  if (message.from_bot) return (state.bot && state.bot.first_name) || fullName(message.from);
  return fullName(state.users.get(message.from && message.from.id) || message.from);
}

function isOutgoing(chatId, message) {
  if (message.from_bot) return false;
  return message.from && message.from.id === actorId(chatId);
}

function messageElement(chatId, message) {
  const chat = state.chats.get(chatId);
  const group = chat && chat.type !== "private";
  const outgoing = isOutgoing(chatId, message);
  const bubble = h("div", { class: "bubble" });
  if (group) {
    bubble.append(
      h("div", {
        class: `sender c${Math.abs((message.from && message.from.id) || 0) % 7}`,
        "data-testid": "sender",
        text: senderName(message),
      }),
    );
  }
  if (message.reply_to_message) bubble.append(quoteElement(message.reply_to_message));
  if (message.photo && message.photo.length) bubble.append(photoElement(message.photo));
  if (message.document) bubble.append(documentElement(message.document));
  if (message.contact) bubble.append(contactElement(message.contact));
  if (message.location) bubble.append(locationElement(message.location));
  if (message.text) {
    const entities = message.entities || message.caption_entities || [];
    const text = h("div", { class: "text", "data-testid": "message-text" });
    text.append(renderText(message.text, entities, { commands: message.from_bot, chatId }));
    bubble.append(text);
  }
  bubble.append(
    h(
      "span",
      { class: "meta" },
      message.edited ? h("span", { class: "edited", "data-testid": "edited", text: t("edited") }) : null,
      h("time", {
        "data-testid": "time",
        datetime: new Date(message.date * 1000).toISOString(),
        title: new Date(message.date * 1000).toLocaleString(),
        text: clock(message.date),
      }),
    ),
  );
  bubble.addEventListener("dblclick", () => setReply(message.message_id));
  const replyAction = h("button", {
    type: "button",
    class: "reply-action",
    "data-testid": "reply-action",
    title: t("reply"),
    "aria-label": t("reply"),
    text: "↩",
    onclick: () => setReply(message.message_id),
  });
  const row = h("div", { class: "bubble-row" }, bubble, replyAction);
  return h(
    "div",
    {
      class: `message ${outgoing ? "out" : "in"}${message.from_bot ? " from-bot" : ""}`,
      "data-testid": "message",
      "data-message-id": message.message_id,
      "data-from-bot": String(Boolean(message.from_bot)),
      "data-from-id": message.from ? message.from.id : "",
    },
    row,
    inlineKeyboard(chatId, message),
  );
}

function quoteElement(quoted) {
  return h(
    "div",
    {
      class: "quote",
      "data-testid": "reply-quote",
      "data-message-id": quoted.message_id,
      onclick: () => flashMessage(quoted.message_id),
    },
    h("div", { class: "quote-name", text: senderName(quoted) }),
    h("div", { class: "quote-text", text: previewOf(quoted) || "…" }),
  );
}

function flashMessage(id) {
  const el = messagesInner().querySelector(`[data-testid=message][data-message-id="${id}"]`);
  if (!el) return;
  el.scrollIntoView({ block: "center", behavior: "smooth" });
  el.classList.remove("flash");
  void el.offsetWidth;
  el.classList.add("flash");
}

function photoElement(sizes) {
  const largest = sizes[sizes.length - 1];
  const img = h("img", {
    class: "photo",
    "data-testid": "photo",
    src: fileUrl(largest.file_id),
    alt: t("photo"),
    width: largest.width || null,
    height: largest.height || null,
    loading: "lazy",
  });
  // Sized before it loads, so that the list does not jump when it does.
  const scale = Math.min(1, 360 / (largest.width || 360), 320 / (largest.height || 320));
  if (largest.width) img.style.width = `${Math.round(largest.width * scale)}px`;
  img.addEventListener("load", () => {
    if (stuckToBottom && img.isConnected) scrollToBottom();
  });
  img.addEventListener("click", () => img.classList.toggle("zoomed"));
  return img;
}

function documentElement(document_) {
  const name = document_.file_name || t("file");
  return h(
    "a",
    {
      class: "document",
      "data-testid": "document",
      href: fileUrl(document_.file_id),
      download: name,
      "data-file-name": name,
    },
    h("span", { class: "document-icon", "aria-hidden": "true", text: extension(name) }),
    h(
      "span",
      { class: "document-body" },
      h("span", { class: "document-name", text: name }),
      h("span", { class: "document-size", text: fileSize(document_.file_size) }),
    ),
  );
}

function extension(name) {
  const match = /\.([A-Za-z0-9]{1,4})$/.exec(name);
  return match ? match[1].toUpperCase() : "FILE";
}

function contactElement(contact) {
  const name = [contact.first_name, contact.last_name].filter(Boolean).join(" ");
  return h(
    "div",
    { class: "contact", "data-testid": "contact" },
    h("span", { class: "contact-icon", "aria-hidden": "true" }, icon(PERSON_ICON)),
    h(
      "span",
      { class: "contact-body" },
      h("span", { class: "contact-name", text: name || t("contact") }),
      h("span", { class: "contact-phone", text: contact.phone_number }),
    ),
  );
}

// Drawn, not emoji: the machine showing the page may have no emoji font.
const PERSON_ICON = "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8Zm-7 8a7 7 0 0 1 14 0";
const PIN_ICON = "M12 21s-6-5.6-6-11a6 6 0 0 1 12 0c0 5.4-6 11-6 11Zm0-8.5a2.5 2.5 0 1 0 0-5 2.5 2.5 0 0 0 0 5Z";

function icon(path) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  const shape = document.createElementNS(ns, "path");
  shape.setAttribute("d", path);
  svg.append(shape);
  return svg;
}

function locationElement(location_) {
  const where = `${Number(location_.latitude).toFixed(5)}, ${Number(location_.longitude).toFixed(5)}`;
  return h(
    "div",
    { class: "location", "data-testid": "location" },
    h("span", { class: "location-pin", "aria-hidden": "true" }, icon(PIN_ICON)),
    h(
      "span",
      { class: "contact-body" },
      h("span", { class: "contact-name", text: t("location") }),
      h("span", { class: "contact-phone", text: where }),
    ),
  );
}

// ---- formatted text: entities to elements -----------------------------------------------

// Entities (UTF-16 offsets, as JavaScript strings count) become a tree: each one nests in
// the one before it that contains it; one that crosses its parent's end is cut there.
function renderText(text, entities, options) {
  const root = { start: 0, end: text.length, entity: null, children: [] };
  const sorted = (entities || [])
    .filter((e) => e && e.length > 0 && e.offset >= 0 && e.offset < text.length)
    .slice()
    .sort((a, b) => a.offset - b.offset || b.length - a.length);
  const stack = [root];
  for (const entity of sorted) {
    while (stack.length > 1 && stack[stack.length - 1].end <= entity.offset) stack.pop();
    const parent = stack[stack.length - 1];
    const end = Math.min(entity.offset + entity.length, parent.end);
    if (end <= entity.offset) continue;
    const node = { start: entity.offset, end, entity, children: [] };
    parent.children.push(node);
    stack.push(node);
  }
  const fragment = document.createDocumentFragment();
  appendNode(fragment, root, text, { ...options, linkify: true });
  return fragment;
}

function appendNode(parent, node, text, options) {
  let target = parent;
  let outer = null;
  let childOptions = options;
  if (node.entity) {
    const made = entityElement(node.entity, text.slice(node.start, node.end), options);
    outer = made.outer;
    target = made.inner;
    if (made.noLinks) childOptions = { ...options, linkify: false };
  }
  let position = node.start;
  for (const child of node.children) {
    appendPlain(target, text.slice(position, child.start), childOptions);
    appendNode(target, child, text, childOptions);
    position = child.end;
    // A quote or code block ends its line itself; the newline after it would add a blank one.
    if (BLOCKS.has(child.entity.type) && text[position] === "\n" && position < node.end) {
      position += 1;
    }
  }
  appendPlain(target, text.slice(position, node.end), childOptions);
  if (outer) parent.append(outer);
}

const BLOCKS = new Set(["pre", "blockquote", "expandable_blockquote"]);
const SIMPLE_TAGS = { bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code" };

function entityElement(entity, covered, options) {
  const type = entity.type;
  if (SIMPLE_TAGS[type]) {
    const el = h(SIMPLE_TAGS[type]);
    return { outer: el, inner: el, noLinks: type === "code" };
  }
  if (type === "pre") {
    const code = h("code", { "data-language": entity.language || null });
    return { outer: h("pre", {}, code), inner: code, noLinks: true };
  }
  if (type === "spoiler") {
    const el = h("span", { class: "spoiler", "data-testid": "spoiler" });
    el.addEventListener("click", () => el.classList.add("revealed"));
    return { outer: el, inner: el };
  }
  if (type === "blockquote" || type === "expandable_blockquote") {
    const el = h("blockquote", { class: type === "expandable_blockquote" ? "expandable" : null });
    if (type === "expandable_blockquote") {
      el.addEventListener("click", () => el.classList.toggle("expanded"));
    }
    return { outer: el, inner: el };
  }
  if (type === "text_link" || type === "url") {
    const el = linkElement(type === "url" ? covered : entity.url, options);
    return { outer: el, inner: el, noLinks: true };
  }
  if (type === "text_mention" && entity.user) {
    const id = entity.user.id;
    const el = h("span", { class: "mention", "data-user-id": id });
    if (state.chats.has(id)) el.addEventListener("click", () => openChat(id));
    return { outer: el, inner: el };
  }
  if (type === "bot_command" && options.commands) {
    const el = commandElement(covered, options, false);
    return { outer: el, inner: el, noLinks: true };
  }
  const el = h("span", { class: `entity-${String(type).replace(/[^a-z_]/g, "")}` });
  return { outer: el, inner: el };
}

// Plain text: links and /commands in it work as Telegram's apps make them work.
function appendPlain(parent, text, options) {
  if (!text) return;
  if (!options.linkify) {
    parent.append(text);
    return;
  }
  let position = 0;
  AUTO_LINK.lastIndex = 0;
  for (const match of text.matchAll(AUTO_LINK)) {
    let [found] = match;
    if (match[2] && !options.commands) continue;
    if (match[1]) found = found.replace(/[.,;:!?)\]'"]+$/, "");
    parent.append(text.slice(position, match.index));
    parent.append(match[1] ? linkElement(found, options, found) : commandElement(found, options));
    position = match.index + found.length;
  }
  parent.append(text.slice(position));
}

function commandElement(command, options, withText = true) {
  return h("a", {
    href: "#",
    class: "command",
    "data-testid": "command",
    text: withText ? command : null,
    onclick: (event) => {
      event.preventDefault();
      sendText(options.chatId, command.replace(/@\w+$/, ""));
    },
  });
}

// A link by its target: the bot's own deep link opens the chooser; http(s) opens in a new
// tab; anything else (javascript:, data:, ...) is not a link at all.
function linkElement(href, options, label) {
  const start = startParameter(href);
  if (start !== null) {
    return h("a", {
      href: "#",
      class: "deep-link",
      "data-testid": "deep-link",
      "data-start": start,
      title: href,
      text: label,
      onclick: (event) => {
        event.preventDefault();
        chooseStarter(start);
      },
    });
  }
  let url = null;
  try {
    url = new URL(href);
  } catch {
    url = null;
  }
  if (url && (url.protocol === "http:" || url.protocol === "https:")) {
    return h("a", { href: url.href, target: "_blank", rel: "noopener noreferrer", text: label });
  }
  return h("span", { class: "dead-link", title: String(href), text: label });
}

// The start parameter of a link that opens this bot (t.me/<bot>?start=X, tg://resolve),
// or null for any other link.
function startParameter(href) {
  let url;
  try {
    url = new URL(href);
  } catch {
    return null;
  }
  const bot = ((state.bot && state.bot.username) || "").toLowerCase();
  if (!bot) return null;
  let name = null;
  if (url.protocol === "https:" || url.protocol === "http:") {
    if (!["t.me", "www.t.me", "telegram.me"].includes(url.hostname.toLowerCase())) return null;
    name = url.pathname.replace(/^\/+|\/+$/g, "");
  } else if (url.protocol === "tg:") {
    if (!/^\/*resolve$/i.test(url.host + url.pathname)) return null;
    name = url.searchParams.get("domain") || "";
  } else {
    return null;
  }
  if (name.toLowerCase() !== bot || !url.searchParams.has("start")) return null;
  return url.searchParams.get("start") || "";
}

// ---- inline keyboards -------------------------------------------------------------------

function inlineKeyboard(chatId, message) {
  const markup = message.reply_markup;
  if (!markup || !Array.isArray(markup.inline_keyboard)) return null;
  const rows = markup.inline_keyboard.map((row) =>
    h(
      "div",
      { class: "keyboard-row" },
      row.map((button) =>
        h("button", {
          type: "button",
          class: `inline-button${button.url ? " url" : ""}`,
          "data-testid": "inline-button",
          "data-callback-data": button.callback_data,
          "data-url": button.url,
          text: button.text,
          onclick: (event) => pressInline(chatId, message, button, event.currentTarget),
        }),
      ),
    ),
  );
  return h("div", { class: "inline-keyboard", "data-testid": "inline-keyboard" }, rows);
}

async function pressInline(chatId, message, button, element) {
  if (button.callback_data !== undefined) {
    const from = actorId(chatId);
    if (from === null) {
      toast(t("notMember"), "error");
      return;
    }
    element.classList.add("pending");
    try {
      const pressed = await api("POST", "/sandbox/callbacks", {
        chat_id: chatId,
        from_id: from,
        message_id: message.message_id,
        data: button.callback_data,
      });
      const early = state.earlyAnswers.get(pressed.callback_query_id);
      if (early) {
        state.earlyAnswers.delete(pressed.callback_query_id);
        showAnswer(early, element);
      } else {
        state.pressed.set(pressed.callback_query_id, element);
        // A bot that never answers leaves the button spinning in Telegram; not forever here.
        setTimeout(() => {
          if (state.pressed.get(pressed.callback_query_id) === element) {
            state.pressed.delete(pressed.callback_query_id);
            element.classList.remove("pending");
          }
        }, 15000);
      }
    } catch (error) {
      element.classList.remove("pending");
      toast(t("failed", { error: error.message }), "error");
    }
    return;
  }
  if (button.url) {
    const start = startParameter(button.url);
    if (start !== null) {
      chooseStarter(start);
      return;
    }
    const link = linkElement(button.url, {}, button.url);
    if (link.tagName === "A") window.open(link.href, "_blank", "noopener,noreferrer");
    else toast(t("notAvailable"));
    return;
  }
  if (button.copy_text && button.copy_text.text) {
    try {
      await navigator.clipboard.writeText(button.copy_text.text);
      toast(t("copied"));
    } catch {
      toast(button.copy_text.text);
    }
    return;
  }
  toast(t("notAvailable"));
}

function onCallbackAnswer(change) {
  const element = state.pressed.get(change.query_id);
  if (element) {
    state.pressed.delete(change.query_id);
    showAnswer(change, element);
    return;
  }
  // The answer may beat the press's own response; keep it briefly for it.
  state.earlyAnswers.set(change.query_id, change);
  setTimeout(() => state.earlyAnswers.delete(change.query_id), 10000);
}

function showAnswer(answer, element) {
  element.classList.remove("pending");
  if (!answer.text) return;
  if (answer.show_alert) showAlert(answer.text);
  else toast(answer.text);
}

// ---- reply keyboards and force replies --------------------------------------------------

function renderKeyboard(chat) {
  const box = $("[data-testid=reply-keyboard]");
  const toggle = $("[data-testid=keyboard-toggle]");
  const markup = chat.keyboard;
  const composer = $("[data-testid=composer]");
  if (!markup || !Array.isArray(markup.keyboard)) {
    box.hidden = true;
    box.replaceChildren();
    toggle.hidden = true;
    composer.placeholder = forcePlaceholder() || t("composer");
    return;
  }
  toggle.hidden = false;
  box.hidden = state.keyboardHidden.has(chat.id);
  toggle.setAttribute("aria-pressed", String(!box.hidden));
  composer.placeholder =
    forcePlaceholder() || markup.input_field_placeholder || t("composer");
  const rows = markup.keyboard.map((row) =>
    h(
      "div",
      { class: "keyboard-row" },
      row.map((raw) => {
        const button = typeof raw === "string" ? { text: raw } : raw;
        const request = button.request_contact ? "contact" : button.request_location ? "location" : null;
        return h("button", {
          type: "button",
          class: "reply-button",
          "data-testid": "reply-button",
          "data-request": request,
          text: button.text,
          onclick: () => pressReply(chat.id, button, Boolean(markup.one_time_keyboard)),
        });
      }),
    ),
  );
  box.replaceChildren(...rows);
}

async function pressReply(chatId, button, oneTime) {
  const from = actorId(chatId);
  if (from === null) {
    toast(t("notMember"), "error");
    return;
  }
  const body = { chat_id: chatId, from_id: from };
  if (button.request_contact) {
    const user = state.users.get(from) || {};
    body.contact = { phone_number: phoneOf(user, from), first_name: user.first_name || "?", user_id: from };
    if (user.last_name) body.contact.last_name = user.last_name;
  } else if (button.request_location) {
    body.location = { ...DEMO_LOCATION };
  } else if (button.request_users || button.request_chat || button.request_poll || button.web_app) {
    toast(t("notAvailable"));
    return;
  } else {
    body.text = button.text;
  }
  if (state.replyTo !== null) body.reply_to_message_id = state.replyTo;
  try {
    await api("POST", "/sandbox/messages", body);
    setReply(null);
    if (oneTime) {
      state.keyboardHidden.add(chatId);
      renderChrome();
    }
  } catch (error) {
    toast(t("failed", { error: error.message }), "error");
  }
}

// A person's phone as their Telegram account would share it; a believable one if the
// sandbox was not told.
function phoneOf(user, id) {
  if (user.phone) return user.phone;
  const digits = String(Math.abs(id) % 100000000).padStart(8, "0");
  return `+86 138 ${digits.slice(0, 4)} ${digits.slice(4)}`;
}

function newestMessage(chatId) {
  return lastMessage(chatId);
}

// Telegram's apps answer a force-reply prompt by replying to it: the composer does too.
function applyForceReply() {
  const chatId = state.open;
  const newest = newestMessage(chatId);
  if (!newest || !newest.from_bot || !newest.reply_markup || !newest.reply_markup.force_reply) {
    return;
  }
  const key = `${chatId}:${newest.message_id}`;
  if (state.forceReplied.has(key)) return;
  state.forceReplied.add(key);
  const chat = state.chats.get(chatId);
  const target = newest.reply_to_message && newest.reply_to_message.from;
  // A selective prompt is for the author of the message it answers.
  if (chat && chat.type !== "private" && newest.reply_markup.selective && target && !target.is_bot) {
    if (speakers(chat).some((m) => m.user.id === target.id) && speakerOf(chat) !== target.id) {
      state.stored.speakers[chatId] = target.id;
      saveStored();
      renderChrome();
      redrawMessagesKeepingScroll();
    }
  }
  setReply(newest.message_id);
}

function forcePlaceholder() {
  if (state.replyTo === null) return null;
  const message = (state.messages.get(state.open) || new Map()).get(state.replyTo);
  const markup = message && message.reply_markup;
  return (markup && markup.force_reply && markup.input_field_placeholder) || null;
}

function setReply(messageId) {
  state.replyTo = messageId;
  renderReplyBar();
  const chat = state.chats.get(state.open);
  if (chat) renderKeyboard(chat);
  if (messageId !== null) $("[data-testid=composer]").focus();
}

function renderReplyBar() {
  const bar = $("[data-testid=reply-bar]");
  const message = (state.messages.get(state.open) || new Map()).get(state.replyTo);
  if (state.replyTo === null || !message) {
    bar.hidden = true;
    bar.dataset.messageId = "";
    return;
  }
  bar.hidden = false;
  bar.dataset.messageId = String(state.replyTo);
  $(".reply-bar-label", bar).textContent = t("replyingTo", { name: senderName(message) });
  $(".reply-bar-text", bar).textContent = previewOf(message) || "…";
}

// ---- sending ----------------------------------------------------------------------------

async function sendText(chatId, text) {
  const from = actorId(chatId);
  if (from === null) {
    toast(t("notMember"), "error");
    return false;
  }
  const body = { chat_id: chatId, from_id: from, text };
  if (chatId === state.open && state.replyTo !== null) body.reply_to_message_id = state.replyTo;
  try {
    await api("POST", "/sandbox/messages", body);
  } catch (error) {
    toast(t("failed", { error: error.message }), "error");
    return false;
  }
  if (chatId === state.open) setReply(null);
  if (state.hint && state.hint.chatId === chatId) {
    // The bot has now heard the new language; the hint has done its job.
    state.hint = null;
    if (chatId === state.open) renderChrome();
  }
  return true;
}

async function sendComposer() {
  const composer = $("[data-testid=composer]");
  const text = composer.value;
  if (!text.trim() || state.open === null) return;
  if (await sendText(state.open, text)) {
    composer.value = "";
    autosize();
  }
}

function readBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
    reader.onerror = () => reject(reader.error || new Error("cannot read the file"));
    reader.readAsDataURL(file);
  });
}

async function sendFiles(files) {
  const chatId = state.open;
  const from = actorId(chatId);
  if (chatId === null || from === null) return;
  const composer = $("[data-testid=composer]");
  let caption = composer.value.trim() ? composer.value : null;
  for (const file of files) {
    if (file.size > MAX_UPLOAD_MB * 1024 * 1024) {
      toast(t("tooBig", { mb: MAX_UPLOAD_MB }), "error");
      continue;
    }
    try {
      const data = await readBase64(file);
      const body = { chat_id: chatId, from_id: from };
      if (PHOTO_TYPES.has(file.type)) body.photo = { base64: data };
      else {
        body.document = { file_name: file.name || "file", base64: data };
        if (file.type) body.document.mime_type = file.type;
      }
      if (caption !== null) body.caption = caption;
      if (state.replyTo !== null) body.reply_to_message_id = state.replyTo;
      await api("POST", "/sandbox/messages", body);
      if (caption !== null) {
        caption = null;
        composer.value = "";
        autosize();
      }
      setReply(null);
    } catch (error) {
      toast(t("failed", { error: error.message }), "error");
    }
  }
}

function autosize() {
  const composer = $("[data-testid=composer]");
  composer.style.height = "auto";
  composer.style.height = `${Math.min(composer.scrollHeight, 160)}px`;
}

// ---- language switch --------------------------------------------------------------------

async function switchLanguage(lang) {
  const id = actorId();
  const user = state.users.get(id);
  if (!user) return;
  const code = lang === "zh" ? "zh-hans" : "en";
  try {
    const updated = await api("PATCH", `/sandbox/users/${id}`, { language_code: code });
    state.users.set(id, { ...user, ...updated });
  } catch (error) {
    toast(t("failed", { error: error.message }), "error");
    return;
  }
  const names = t("languageNames").split("|");
  state.hint = {
    chatId: state.open,
    text: t("languageHint", { name: fullName(user), language: lang === "zh" ? names[0] : names[1] }),
  };
  renderChrome();
  redrawMessagesKeepingScroll();
  renderList();
}

// ---- the deep-link chooser, toasts, alerts ----------------------------------------------

function chooseStarter(start) {
  const overlay = $("[data-testid=deeplink-chooser]");
  const command = start ? `/start ${start}` : "/start";
  overlay.dataset.start = start;
  $("[data-testid=deeplink-hint]").textContent = t("openAsHint", { command });
  const people = [...state.users.values()].filter((user) => !user.is_bot);
  $("[data-testid=deeplink-people]").replaceChildren(
    ...people.map((user) =>
      h(
        "button",
        {
          type: "button",
          class: "person",
          "data-testid": "deeplink-person",
          "data-user-id": user.id,
          onclick: async () => {
            overlay.hidden = true;
            openChat(user.id);
            await sendText(user.id, command);
          },
        },
        avatar(user.id, fullName(user)),
        h(
          "span",
          { class: "person-body" },
          h("span", { class: "person-name", text: fullName(user) }),
          h("span", { class: "person-about", text: user.about || (user.username ? `@${user.username}` : "") }),
        ),
      ),
    ),
  );
  overlay.hidden = false;
}

function toast(text, kind = "info") {
  const box = $("[data-testid=toasts]");
  const el = h("div", { class: `toast ${kind}`, "data-testid": "toast", role: "status", text });
  box.append(el);
  setTimeout(() => el.classList.add("leaving"), kind === "error" ? 6000 : 3500);
  setTimeout(() => el.remove(), kind === "error" ? 6400 : 3900);
}

function showAlert(text) {
  const overlay = $("[data-testid=alert]");
  $("[data-testid=alert-text]").textContent = text;
  overlay.hidden = false;
  $("[data-testid=alert-ok]").focus();
}

// ---- wiring -----------------------------------------------------------------------------

function wire() {
  $("[data-testid=chat-search]").addEventListener("input", (event) => {
    state.filter = event.target.value;
    drawList();
  });
  $("[data-testid=back]").addEventListener("click", closeChat);
  $("[data-testid=reply-cancel]").addEventListener("click", () => setReply(null));
  $("[data-testid=speaker]").addEventListener("change", (event) => {
    state.stored.speakers[state.open] = Number(event.target.value);
    saveStored();
    state.hint = null;
    renderChrome();
    redrawMessagesKeepingScroll();
  });
  for (const button of document.querySelectorAll("[data-testid=language] button")) {
    button.addEventListener("click", () => switchLanguage(button.dataset.lang));
  }
  const composer = $("[data-testid=composer]");
  composer.addEventListener("keydown", (event) => {
    // Enter sends; Shift+Enter is a new line; Enter that ends an IME composition is not a send.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      sendComposer();
    }
  });
  composer.addEventListener("input", autosize);
  $("[data-testid=messages]").addEventListener("scroll", () => {
    stuckToBottom = nearBottom();
  });
  $("[data-testid=composer-form]").addEventListener("submit", (event) => {
    event.preventDefault();
    sendComposer();
  });
  const input = $("[data-testid=attach-input]");
  $("[data-testid=attach]").addEventListener("click", () => input.click());
  input.addEventListener("change", async () => {
    const files = [...input.files];
    input.value = "";
    await sendFiles(files);
  });
  $("[data-testid=keyboard-toggle]").addEventListener("click", () => {
    const id = state.open;
    if (state.keyboardHidden.has(id)) state.keyboardHidden.delete(id);
    else state.keyboardHidden.add(id);
    renderChrome();
  });
  $("[data-testid=deeplink-cancel]").addEventListener("click", () => {
    $("[data-testid=deeplink-chooser]").hidden = true;
  });
  $("[data-testid=alert-ok]").addEventListener("click", () => {
    $("[data-testid=alert]").hidden = true;
  });
  for (const overlay of document.querySelectorAll(".overlay")) {
    overlay.addEventListener("click", (event) => {
      if (event.target === overlay) overlay.hidden = true;
    });
  }
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    for (const overlay of document.querySelectorAll(".overlay")) overlay.hidden = true;
  });
  window.addEventListener("hashchange", () => {
    const wanted = chatFromHash();
    if (wanted === null) {
      if (state.open !== null) closeChat();
    } else if (wanted !== state.open) openChat(wanted);
  });
}

function start() {
  wire();
  translateStatic();
  connect();
  loadAll();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
