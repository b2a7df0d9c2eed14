/* Loyalty customer widget. Embed:
 *   <script src="https://LOYALTY-HOST/widget.js" defer></script>
 *   <div data-loyalty-widget data-token="WIDGET-TOKEN"></div>
 * Options (data-* attributes, or LoyaltyWidget.mount(el, {...})): token, api-base, mode ("inline" or
 * "launcher": a floating button opening the panel as a dialog), locale, strings (JSON of messages to
 * replace, see LoyaltyWidget.messages), referral-url (a link with {code}), brand, brand-text, font, radius.
 * JS: the widget has refresh(), setToken(t), on(name, fn), open(), close();
 * LoyaltyWidget.on(name, fn) and LoyaltyWidget.refresh() for every widget on the page.
 * Events: loaded, redeemed, unauthorized, error (also DOM events "loyalty:<name>" on the element).
 * Theme: --loyalty-brand, --loyalty-brand-text, --loyalty-font, --loyalty-radius (or the attributes). */
(function () {
  'use strict';
  if (window.LoyaltyWidget) return;
  var script = document.currentScript;
  var BASE = script && script.src ? script.src.replace(/\/widget\.js([?#].*)?$/, '') : '';
  var T = {
    title: 'Your rewards', hi: 'Hi, {name}', loading: 'Loading your points…', points: 'points', point: 'point',
    balance: 'Points balance', pending: '{n} pending', tier: 'Tier', toNext: '{n} to {tier}',
    top: 'You have reached the top tier', progress: 'Progress to {tier}', heldUntil: '{tier} is yours until {date}',
    tiers: 'What each tier gives', tierGives: '{m}× points on purchases', tierFrom: 'from {n} qualifying points',
    current: 'your tier',
    cards: 'Stamp cards', stamps: '{n} of {of} stamps', stampsLabel: '{name}: {n} of {of} stamps',
    cardDone: 'Complete: your reward is in My rewards', cardsDone: '{n} completed',
    challenges: 'Challenges', challengeOf: '{n} of {of}', challengeDone: 'Complete', challengeLabel: '{name}: {n} of {of}',
    streaks: 'Streaks', streakOf: '{n} of {of} {unit} in a row', streakBy: 'Keep it going by {date}',
    streakUnits: {day: 'days', week: 'weeks', calendar_month: 'months'}, streakDone: 'Complete',
    streakLabel: '{name}: {n} of {of} {unit} in a row',
    badges: 'Badges', categoriesWord: 'categories', spentWord: 'spent',
    expiring: 'Expiring points', expires: '{n} expire on {date}', noExpiry: 'None of your points are due to expire.',
    earn: 'Ways to earn', perDollar: '{n} per {unit} spent', fixed: '{n}', left: '{n} of {of} left {period}',
    leftOnly: '{n} left {period}', once: 'Once', window: '{from} to {until}', windowFrom: 'From {from}', windowUntil: 'Until {until}', noneLeft: 'Done {period}, thank you', addBirthday: 'add your birthday to get it',
    periods: {day: 'today', week: 'this week', calendar_month: 'this month', calendar_year: 'this year', member: ''},
    mine: 'My rewards', noMine: 'Rewards you redeem appear here with their codes.',
    status: {issued: 'Unused', completed: 'Used', expired: 'Expired', voided: 'Cancelled'},
    copyCode: 'Copy code {code}', share: 'Share', shareLink: 'Share your invite link', linkCopied: 'Link copied',
    open: 'Rewards', openLabel: 'Open your rewards: {n}', close: 'Close',
    rewards: 'Rewards', redeem: 'Redeem', redeemLabel: 'Redeem {name} for {n}',
    confirm: 'Redeem {name} for {n}?', yes: 'Yes, redeem', no: 'Cancel', working: 'Redeeming…',
    codeTitle: 'Your code', codeHelp: 'Show this code at the till.', validUntil: 'Valid until {date}',
    done: 'Done', redeemed: 'Redeemed {name}. Your code is {code}.',
    activity: 'Recent activity', noActivity: 'No activity yet.',
    referral: 'Invite a friend', referralHelp: 'Share your code: you both earn points.',
    referralYou: 'Share your code: you get {n} when a friend makes a first purchase.',
    copy: 'Copy', copied: 'Copied', copyLabel: 'Copy referral code {code}',
    signin: 'Your session has ended. Please sign in again.', failed: 'Something went wrong loading your points.',
    retry: 'Try again',
    errors: {
      insufficient_points: 'You do not have enough points for this reward yet.',
      reward_unavailable: 'This reward is not available right now.',
      member_inactive: 'Your membership cannot redeem rewards right now.',
      other: 'The reward could not be redeemed. Please try again.'
    }
  };
  var CSS = ':host{all:initial!important;display:block!important;visibility:visible!important;' +
    'clear:both!important;contain:content!important}' +
    ':host([data-mode=launcher]){contain:none!important}' +
    '*{box-sizing:border-box;margin:0;padding:0}' +
    '[hidden]{display:none!important}' +
    '.w,.launch{--b:var(--loyalty-brand,#2f6b4f);--r:var(--loyalty-radius,12px);' +
    'font:15px/1.45 var(--loyalty-font,system-ui,-apple-system,"Segoe UI",Roboto,sans-serif)}' +
    '.w{color:#1f2328;background:#fff;border:1px solid #d8dde3;border-radius:var(--r);padding:16px;max-width:100%;min-width:0;' +
    'overflow-wrap:anywhere;text-align:left}' +
    'h2{font-size:1.15em;margin-bottom:12px}h3{font-size:.8em;text-transform:uppercase;letter-spacing:.06em;' +
    'color:#57606a;margin:18px 0 6px}' +
    '.big{font-size:2.4em;font-weight:700;line-height:1.1;color:var(--b)}.muted{color:#57606a;font-size:.9em}' +
    '.bar{height:10px;background:#e6e9ed;border-radius:5px;overflow:hidden;margin:6px 0}' +
    '.bar>div{height:100%;background:var(--b);border-radius:5px}' +
    '.tier{font-weight:600}' +
    '.stamps{display:flex;flex-wrap:wrap;gap:6px;margin:6px 0}.stamp{width:22px;height:22px;border-radius:50%;' +
    'border:2px solid var(--b);background:#fff}.stamp.on{background:var(--b)}' +
    'ul{list-style:none}li{display:flex;flex-wrap:wrap;gap:4px 12px;align-items:center;padding:10px 0;' +
    'border-top:1px solid #eef0f2}li>.grow{flex:1 1 180px;min-width:0}' +
    'button{font:inherit;font-weight:600;cursor:pointer;border-radius:var(--r);padding:8px 14px;min-height:40px;' +
    'border:1px solid var(--b);background:var(--b);color:var(--loyalty-brand-text,#fff)}' +
    'button.ghost{background:transparent;color:var(--b)}button:disabled{opacity:.45;cursor:not-allowed}' +
    'button:focus-visible,.code:focus{outline:3px solid #1a73e8;outline-offset:2px}' +
    '.pts{font-weight:600;white-space:nowrap}.plus{color:#1a7f37}' +
    '.code{display:block;font:700 2.2em/1.2 ui-monospace,Menlo,Consolas,monospace;letter-spacing:.12em;' +
    'text-align:center;padding:12px;margin:8px 0;border:2px dashed var(--b);border-radius:var(--r);' +
    'color:#111;background:#fafbfc}' +
    '.card{border:2px solid var(--b);border-radius:var(--r);padding:12px;margin:12px 0}.card h3{margin-top:0}' +
    '.alert{color:#b42318;font-size:.9em;flex-basis:100%}.row{display:flex;gap:8px;flex-wrap:wrap;align-items:center}' +
    '.ref{font:700 1.2em ui-monospace,Menlo,Consolas,monospace;letter-spacing:.08em}' +
    '.sr{position:absolute!important;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}' +
    '.tag{font-size:.8em;font-weight:600;border-radius:99px;padding:2px 8px;background:#eef0f2;color:#1f2328}' +
    '.tag.issued{background:#dafbe1;color:#116329}.dim{opacity:.7}' +
    '.launch{position:fixed;right:20px;bottom:20px;z-index:2147483000;box-shadow:0 4px 14px rgba(0,0,0,.25);' +
    'border-radius:99px;padding:12px 18px}' +
    '.dlg{position:fixed;inset:0;z-index:2147483001;background:rgba(0,0,0,.45);display:flex;' +
    'align-items:flex-end;justify-content:flex-end;padding:16px}' +
    '.dlg>.w{width:420px;max-height:calc(100vh - 32px);overflow:auto;position:relative}' +
    '.x{position:absolute;top:8px;right:8px}';
  var widgets = [], everywhere = {};

  function fill(text, vars) {
    return text.replace(/\{(\w+)\}/g, function (_, k) { return vars && k in vars ? vars[k] : ''; });
  }

  function h(tag, props, kids) {
    var el = document.createElement(tag);
    Object.keys(props || {}).forEach(function (k) {
      var v = props[k];
      if (v == null || v === false) return;
      if (k === 'text') el.textContent = v;
      else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k === 'cls' ? 'class' : k, v === true ? '' : v);
    });
    (kids || []).forEach(function (kid) { if (kid) el.appendChild(typeof kid === 'string' ? document.createTextNode(kid) : kid); });
    return el;
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var a = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return (b + 256).toString(16).slice(1); }).join('');
  }

  function merged(base, extra) {
    var out = {};
    Object.keys(base).forEach(function (k) { out[k] = base[k]; });
    Object.keys(extra || {}).forEach(function (k) {
      out[k] = base[k] && typeof base[k] === 'object' ? merged(base[k], extra[k]) : extra[k];
    });
    return out;
  }

  function option(el, opts, name) {
    var key = name.replace(/-(\w)/g, function (_, c) { return c.toUpperCase(); });
    return opts[key] != null ? opts[key] : el.getAttribute('data-' + name);
  }

  var THEME = {brand: '--loyalty-brand', 'brand-text': '--loyalty-brand-text', font: '--loyalty-font',
    radius: '--loyalty-radius'};

  function Widget(el, opts) {
    opts = opts || {};
    var self = this, strings = option(el, opts, 'strings');
    if (typeof strings === 'string') { try { strings = JSON.parse(strings); } catch (e) { strings = null; } }
    this.t = merged(T, strings);
    this.el = el;
    this.token = option(el, opts, 'token') || '';
    this.base = (option(el, opts, 'api-base') || BASE).replace(/\/$/, '');
    this.locale = option(el, opts, 'locale') || navigator.language || 'en';
    this.launcher = option(el, opts, 'mode') === 'launcher';
    if (this.launcher) el.setAttribute('data-mode', 'launcher'); // the host then lets the button float
    this.referralUrl = option(el, opts, 'referral-url');
    this.handlers = {};
    this.state = {};
    Object.keys(THEME).forEach(function (name) {
      var value = option(el, opts, name);
      if (value) el.style.setProperty(THEME[name], value);
    });
    this.root = el.shadowRoot || el.attachShadow({mode: 'open'});
    this.root.innerHTML = '';
    this.root.appendChild(h('style', {text: CSS}));
    this.box = h('section', {cls: 'w', 'aria-label': this.t.title});
    if (this.launcher) {
      this.button = this.root.appendChild(h('button', {type: 'button', cls: 'launch', 'aria-haspopup': 'dialog',
        'aria-expanded': 'false', onclick: function () { self.open(); }, text: this.t.open}));
      this.dialog = this.root.appendChild(h('div', {cls: 'dlg', hidden: true, onclick: function (e) {
        if (e.target === self.dialog) self.close();
      }}, [this.box]));
      this.box.setAttribute('role', 'dialog');
      this.box.setAttribute('aria-modal', 'true');
      this.dialog.addEventListener('keydown', function (e) { self.trap(e); });
    } else this.root.appendChild(this.box);
    this.live = this.root.appendChild(h('div', {cls: 'sr', role: 'status', 'aria-live': 'polite'}));
    var nf = new Intl.NumberFormat(this.locale);
    var df = new Intl.DateTimeFormat(this.locale, {year: 'numeric', month: 'long', day: 'numeric'});
    this.num = function (n) { return nf.format(n); };
    this.date = function (s) { return df.format(new Date(s)); };
    this.day = function (s) { return df.format(new Date(s + 'T12:00:00')); }; // a calendar day, as it is
  }

  Widget.prototype = {
    on: function (name, fn) { (this.handlers[name] = this.handlers[name] || []).push(fn); return this; },
    emit: function (name, detail) {
      var self = this;
      (this.handlers[name] || []).concat(everywhere[name] || []).forEach(function (fn) {
        try { fn.call(self, detail, self); } catch (e) { setTimeout(function () { throw e; }); }
      });
      this.el.dispatchEvent(new CustomEvent('loyalty:' + name, {detail: detail, bubbles: true, composed: true}));
    },
    setToken: function (token) { this.token = token; return this.refresh(); },
    pts: function (n) { return this.num(n) + ' ' + (Math.abs(n) === 1 ? this.t.point : this.t.points); },

    open: function () {
      if (!this.launcher) return;
      this.dialog.hidden = false;
      this.button.setAttribute('aria-expanded', 'true');
      var first = this.focusables()[0];
      if (first) first.focus();
    },
    close: function () {
      if (!this.launcher) return;
      if (this.issued) { this.issued = null; this.render(); } // the code stays under My rewards
      this.dialog.hidden = true;
      this.button.setAttribute('aria-expanded', 'false');
      this.button.focus();
    },
    focusables: function () {
      return Array.prototype.filter.call(this.box.querySelectorAll('button,[href],[tabindex]'), function (el) {
        return !el.disabled && el.getAttribute('tabindex') !== '-1';
      });
    },
    trap: function (e) {
      if (e.key === 'Escape') { e.preventDefault(); this.close(); return; }
      if (e.key !== 'Tab') return;
      var all = this.focusables(), first = all[0], last = all[all.length - 1], at = this.root.activeElement;
      if (!first) { e.preventDefault(); return; }
      if (e.shiftKey && (at === first || !this.box.contains(at))) { e.preventDefault(); last.focus(); }
      else if (!e.shiftKey && (at === last || !this.box.contains(at))) { e.preventDefault(); first.focus(); }
    },

    api: function (method, path, body, key) {
      var headers = {Authorization: 'Bearer ' + this.token, Accept: 'application/json'};
      if (body) headers['Content-Type'] = 'application/json';
      if (key) headers['Idempotency-Key'] = key;
      return fetch(this.base + path, {
        method: method, headers: headers, body: body ? JSON.stringify(body) : undefined,
        credentials: 'omit', cache: 'no-store', mode: 'cors'
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (r.ok) return j;
          var e = new Error((j.error && j.error.message) || r.statusText);
          e.status = r.status; e.code = j.error && j.error.code;
          throw e;
        });
      });
    },

    load: function () {
      var self = this;
      return this.api('GET', '/v1/me?include=rewards,transactions,redemptions').then(function (me) {
        self.me = me;
        if (self.launcher) {
          self.button.textContent = self.t.open + ' · ' + self.pts(me.points.balance);
          self.button.setAttribute('aria-label', fill(self.t.openLabel, {n: self.pts(me.points.balance)}));
        }
        return me;
      });
    },

    refresh: function () {
      var self = this;
      if (!this.token) return Promise.resolve(this.signin());
      if (!this.me) this.show([h('p', {role: 'status', text: this.t.loading})], true);
      return this.load().then(function (me) {
        self.render();
        self.emit('loaded', me);
        return me;
      }, function (e) { self.fail(e); });
    },

    fail: function (e) {
      if (e.status === 401) return this.signin(e);
      var self = this;
      this.show([h('p', {role: 'alert', text: this.t.failed}),
        h('button', {type: 'button', onclick: function () { self.me = null; self.refresh(); }, text: this.t.retry})]);
      this.emit('error', {status: e.status, code: e.code, message: e.message});
    },

    signin: function (e) {
      this.me = null;
      this.show([h('p', {role: 'alert', cls: 'signin', text: this.t.signin})]);
      this.emit('unauthorized', {status: 401, reason: e && e.code});
    },

    show: function (kids, busy) {
      var self = this;
      this.box.textContent = '';
      this.box.setAttribute('aria-busy', busy ? 'true' : 'false');
      if (this.launcher) {
        this.box.appendChild(h('button', {type: 'button', cls: 'ghost x', 'aria-label': this.t.close,
          onclick: function () { self.close(); }, text: '×'}));
      }
      kids.forEach(function (k) { if (k) this.box.appendChild(k); }, this);
    },

    render: function (focus) {
      var me = this.me, p = me.points, t = this.t;
      this.show([
        h('h2', {id: 'w-title', text: me.first_name ? fill(t.hi, {name: me.first_name}) : (me.program && me.program.name) || t.title}),
        h('div', {cls: 'balance'}, [
          h('p', {cls: 'muted', id: 'bal-l', text: t.balance}),
          h('p', {cls: 'big', 'aria-labelledby': 'bal-l', 'data-balance': String(p.balance), text: this.pts(p.balance)}),
          p.pending ? h('p', {cls: 'muted', text: fill(t.pending, {n: this.pts(p.pending)})}) : null,
          h('p', {cls: 'muted next-expiry', text: me.next_expiry ? fill(t.expires, {n: this.pts(me.next_expiry.points),
            date: this.date(me.next_expiry.expires_at)}) : t.noExpiry})
        ]),
        this.issued ? this.codeCard(this.issued) : null,
        this.tier(me.tier, (me.program || {}).tiers || []),
        (me.cards || []).length ? this.section('cards', t.cards, this.cards(me.cards)) : null,
        (me.challenges || []).length ? this.section('chl', t.challenges, this.challenges(me.challenges, me)) : null,
        (me.streaks || []).length ? this.section('stk', t.streaks, this.streaks(me.streaks)) : null,
        (me.badges || []).length ? this.section('bdg', t.badges, this.badges(me.badges)) : null,
        this.section('earn', t.earn, this.ways(me.ways_to_earn || [], me)),
        this.section('rw', t.rewards, h('ul', {cls: 'rewards'}, (me.rewards || []).map(this.reward, this))),
        this.section('mine', t.mine, this.mine(((me.redemptions || {}).data) || [])),
        this.section('act', t.activity, this.activity((me.transactions || {}).data || [])),
        me.referral_code ? this.referral(me.referral_code, me.ways_to_earn || []) : null
      ]);
      if (this.launcher) this.box.setAttribute('aria-labelledby', 'w-title');
      if (focus) { var f = this.root.querySelector(focus); if (f) f.focus(); }
    },

    section: function (id, title, body) {
      return h('section', {'aria-labelledby': id}, [h('h3', {id: id, text: title}), body]);
    },

    tier: function (tr, levels) {
      if (!tr) return null;
      var t = this.t, self = this, next = tr.next, kids = [h('p', {cls: 'tier', text: tr.name})];
      if (next) {
        var done = tr.qualifying_points || 0, pct = Math.max(0, Math.min(100, Math.round(100 * done / (done + next.points_needed || 1))));
        kids.push(h('div', {cls: 'bar', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100',
          'aria-valuenow': String(pct), 'aria-label': fill(t.progress, {tier: next.name})},
          [h('div', {style: 'width:' + pct + '%'})]));
        kids.push(h('p', {cls: 'muted to-next', text: fill(t.toNext, {n: this.pts(next.points_needed), tier: next.name})}));
      } else kids.push(h('p', {cls: 'muted', text: t.top}));
      if (tr.expires_at) kids.push(h('p', {cls: 'muted held', text: fill(t.heldUntil, {tier: tr.name, date: this.date(tr.expires_at)})}));
      if (levels.length > 1) {
        kids.push(h('details', {}, [h('summary', {text: t.tiers}), h('ul', {cls: 'tiers'}, levels.map(function (l) {
          return h('li', {cls: l.id === tr.id ? '' : 'dim'}, [h('strong', {text: l.name + (l.id === tr.id ? ' (' + t.current + ')' : '')}),
            h('span', {cls: 'muted', text: fill(t.tierGives, {m: self.num(l.multiplier)}) + ', ' + fill(t.tierFrom, {n: self.num(l.qualifying_points)})})]);
        }))]));
      }
      return this.section('tr', t.tier, h('div', {}, kids));
    },

    cards: function (cards) {
      var t = this.t, self = this;
      return h('ul', {cls: 'stampcards'}, cards.map(function (c) {
        var n = Math.max(0, Math.min(c.of, c.stamps)), dots = [], said = n >= c.of ? t.cardDone : fill(t.stamps, {n: n, of: c.of});
        for (var i = 0; i < c.of; i++) dots.push(h('span', {cls: i < n ? 'stamp on' : 'stamp'}));
        return h('li', {'data-card': c.id}, [h('div', {cls: 'grow'}, [
          h('strong', {text: c.name}),
          c.description ? h('div', {cls: 'muted', text: c.description}) : null,
          h('div', {cls: 'stamps', role: 'img', 'data-stamps': String(n),
            'aria-label': fill(t.stampsLabel, {name: c.name, n: n, of: c.of})}, dots),
          h('div', {cls: 'muted', text: said + (c.completed ? ' · ' + fill(t.cardsDone, {n: self.num(c.completed)}) : '')})
        ])]);
      }));
    },

    challenges: function (list, me) {
      var t = this.t, self = this;
      return h('ul', {cls: 'challenges'}, list.map(function (c) {
        var pct = Math.max(0, Math.min(100, Math.round(100 * c.progress / (c.of || 1)))), money = c.goal === 'amount';
        var show = function (n) { return money ? self.money(n, me) : self.num(n); };
        var said = fill(t.challengeOf, {n: show(c.progress), of: show(c.of)}) +
          (c.goal === 'distinct_categories' ? ' ' + t.categoriesWord : money ? ' ' + t.spentWord : '');
        return h('li', {'data-challenge': c.id}, [h('div', {cls: 'grow'}, [
          h('strong', {text: c.name}),
          h('div', {cls: 'bar', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100',
            'aria-valuenow': String(pct), 'aria-label': fill(t.challengeLabel, {name: c.name, n: show(c.progress), of: show(c.of)})},
            [h('div', {style: 'width:' + pct + '%'})]),
          h('div', {cls: 'muted', text: c.done ? t.challengeDone : said})
        ])]);
      }));
    },

    streaks: function (list) {
      var t = this.t, self = this;
      return h('ul', {cls: 'streaks'}, list.map(function (s) {
        var n = Math.max(0, Math.min(s.length, s.current)), pct = Math.round(100 * n / (s.length || 1));
        var words = {n: self.num(n), of: self.num(s.length), unit: t.streakUnits[s.period] || s.period, name: s.name};
        var done = s.completed > 0 && n >= s.length && !s.ends_after; // complete for good
        return h('li', {'data-streak': s.id}, [h('div', {cls: 'grow'}, [
          h('strong', {text: s.name}),
          s.description ? h('div', {cls: 'muted', text: s.description}) : null,
          h('div', {cls: 'bar', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100',
            'aria-valuenow': String(pct), 'aria-label': fill(t.streakLabel, words)}, [h('div', {style: 'width:' + pct + '%'})]),
          h('div', {cls: 'muted', text: done ? t.streakDone : fill(t.streakOf, words)}),
          s.ends_after && !done ? h('div', {cls: 'muted streak-by', text: fill(t.streakBy, {date: self.day(s.ends_after)})}) : null
        ])]);
      }));
    },

    badges: function (list) {
      return h('ul', {cls: 'badges'}, list.map(function (b) {
        return h('li', {'data-badge': b.id}, [b.image ? h('img', {src: b.image, alt: '', width: '32', height: '32'}) : null,
          h('strong', {text: b.name})]);
      }));
    },

    money: function (minor, me) {
      var currency = (me.program && me.program.currency) || 'USD';
      return new Intl.NumberFormat(this.locale, {style: 'currency', currency: currency}).format(minor / 100);
    },

    ways: function (ways, me) {
      var t = this.t, self = this;
      return h('ul', {cls: 'ways'}, ways.map(function (w) {
        var what = w.points_per_dollar != null ? fill(t.perDollar, {n: self.pts(w.points_per_dollar), unit: self.unit(me)})
          : w.points != null ? self.pts(w.points) : '', period = t.periods[w.period] || '', note = '';
        if (w.period === 'member' && w.limit === 1) note = w.remaining ? t.once : '';
        else if (w.remaining === 0) note = fill(t.noneLeft, {period: period});
        else if (w.remaining != null) note = fill(w.limit ? t.left : t.leftOnly, {n: self.num(w.remaining), of: w.limit, period: period});
        if (w.action === 'birthday' && !me.birthday && w.remaining !== 0) note = t.addBirthday;
        if (w.from || w.until) {
          note = fill(w.from && w.until ? t.window : w.from ? t.windowFrom : t.windowUntil,
            {from: w.from && self.day(w.from), until: w.until && self.day(w.until)}) + (note ? ' · ' + note : '');
        }
        return h('li', {'data-way': w.rule_id, cls: w.remaining === 0 ? 'dim' : ''}, [
          h('div', {cls: 'grow'}, [h('strong', {text: w.title}), note ? h('div', {cls: 'muted', text: note}) : null]),
          h('span', {cls: 'pts plus', text: what})]);
      }));
    },

    unit: function (me) {
      var currency = (me.program && me.program.currency) || 'USD';
      try {
        return new Intl.NumberFormat(this.locale, {style: 'currency', currency: currency, maximumFractionDigits: 0}).format(1);
      } catch (e) { return '1 ' + currency; }
    },

    reward: function (r) {
      var self = this, t = this.t, cost = this.pts(r.points_cost), st = this.state, kids;
      if (st.confirm === r.id) {
        kids = [h('p', {cls: 'grow', text: fill(t.confirm, {name: r.name, n: cost})}),
          h('div', {cls: 'row'}, [
            h('button', {type: 'button', cls: 'yes', disabled: st.busy, onclick: function () { self.redeem(r); },
              text: st.busy ? t.working : t.yes}),
            h('button', {type: 'button', cls: 'ghost', disabled: st.busy,
              onclick: function () { self.state = {}; self.render('[data-reward="' + r.id + '"] button'); }, text: t.no})])];
      } else {
        kids = [h('div', {cls: 'grow'}, [h('strong', {text: r.name}),
          h('div', {cls: 'muted', text: cost + (r.eligible || !r.ineligible_reason ? '' : ' · ' + r.ineligible_reason)})]),
          h('button', {type: 'button', disabled: !r.eligible, 'aria-label': fill(t.redeemLabel, {name: r.name, n: cost}),
            onclick: function () { self.state = {confirm: r.id, key: newKey()}; self.render('[data-reward="' + r.id + '"] .yes'); },
            text: t.redeem})];
      }
      if (st.error && st.errorFor === r.id) kids.push(h('p', {cls: 'alert', role: 'alert', text: st.error}));
      return h('li', {'data-reward': r.id}, kids);
    },

    redeem: function (r) {
      var self = this, key = this.state.key;
      this.state = {confirm: r.id, key: key, busy: true};
      this.render('[data-reward="' + r.id + '"] .yes');
      this.api('POST', '/v1/me/redemptions', {reward_id: r.id}, key).then(function (redemption) {
        redemption.reward_name = r.name;
        self.issued = redemption;
        self.state = {};
        self.say(fill(self.t.redeemed, {name: r.name, code: redemption.code}));
        self.emit('redeemed', redemption);
        return self.load().catch(function () {}).then(function () { self.render('.code'); });
      }, function (e) {
        if (e.status === 401) return self.signin(e);
        var network = !e.status;
        self.state = network ? {confirm: r.id, key: key} : {};
        self.state.error = self.t.errors[e.code] || self.t.errors.other;
        self.state.errorFor = r.id;
        self.render('[data-reward="' + r.id + '"] button');
      });
    },

    codeCard: function (d) {
      var self = this, t = this.t;
      return h('div', {cls: 'card', role: 'region', 'aria-labelledby': 'code-t'}, [
        h('h3', {id: 'code-t', text: t.codeTitle + ': ' + d.reward_name}),
        h('p', {cls: 'muted', text: t.codeHelp}),
        h('output', {cls: 'code', tabindex: '-1', 'aria-label': t.codeTitle + ' ' + d.code.split('').join(' '), text: d.code}),
        h('p', {cls: 'muted', text: fill(t.validUntil, {date: this.date(d.expires_at)})}),
        h('button', {type: 'button', cls: 'ghost', onclick: function () { self.issued = null; self.render('[data-mine] button'); }, text: t.done})
      ]);
    },

    mine: function (rows) {
      if (!rows.length) return h('p', {cls: 'muted', text: this.t.noMine});
      var self = this, t = this.t;
      return h('ul', {cls: 'mine'}, rows.map(function (d, i) {
        var usable = d.status === 'issued', status = h('span', {cls: 'muted', role: 'status'});
        return h('li', {'data-mine': i === 0 ? '' : null, cls: usable ? '' : 'dim'}, [
          h('div', {cls: 'grow'}, [h('strong', {text: d.reward_name || d.reward_id}),
            h('div', {cls: 'ref', text: d.code}),
            d.expires_at ? h('div', {cls: 'muted', text: fill(t.validUntil, {date: self.date(d.expires_at)})}) : null]),
          h('span', {cls: 'tag ' + d.status, text: t.status[d.status] || d.status}),
          usable ? h('button', {type: 'button', cls: 'ghost', 'aria-label': fill(t.copyCode, {code: d.code}),
            onclick: function () { self.copy(d.code).then(function () { status.textContent = t.copied; }); }, text: t.copy}) : null,
          status]);
      }));
    },

    activity: function (rows) {
      if (!rows.length) return h('p', {cls: 'muted', text: this.t.noActivity});
      var self = this;
      return h('ul', {cls: 'activity'}, rows.map(function (r) {
        return h('li', {}, [
          h('div', {cls: 'grow'}, [h('div', {text: r.description}),
            h('div', {cls: 'muted', text: self.date(r.occurred_at || r.created_at) + (r.detail ? ' · ' + r.detail : '')})]),
          h('span', {cls: 'pts' + (r.points > 0 ? ' plus' : ''), text: (r.points > 0 ? '+' : '') + self.num(r.points)})
        ]);
      }));
    },

    referral: function (code, ways) {
      var self = this, t = this.t, status = h('span', {cls: 'muted', role: 'status'});
      var url = this.referralUrl ? fill(this.referralUrl, {code: encodeURIComponent(code)})
        : location.origin + location.pathname + '?ref=' + encodeURIComponent(code);
      var refer = ways.filter(function (w) { return w.action === 'referral' && w.points != null; })[0];
      return this.section('ref', t.referral, h('div', {}, [
        h('p', {cls: 'muted', text: refer ? fill(t.referralYou, {n: this.pts(refer.points)}) : t.referralHelp}),
        h('div', {cls: 'row'}, [h('span', {cls: 'ref', text: code}),
          h('button', {type: 'button', cls: 'ghost share', 'aria-label': t.shareLink, onclick: function () {
            if (navigator.share) {
              navigator.share({title: t.referral, text: t.referralHelp + ' ' + code, url: url}).catch(function () {});
            } else self.copy(url).then(function () { status.textContent = t.linkCopied; });
          }, text: navigator.share ? t.share : t.copy}), status])]));
    },

    copy: function (text) {
      if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text).catch(function () {});
      var area = h('textarea', {cls: 'sr'});
      area.value = text;
      this.root.appendChild(area);
      area.select();
      try { document.execCommand('copy'); } catch (e) { /* the text stays visible to copy by hand */ }
      area.remove();
      return Promise.resolve();
    },

    say: function (text) { this.live.textContent = text; }
  };

  function mount(el, opts) {
    if (typeof el === 'string') el = document.querySelector(el);
    if (!el) throw new Error('LoyaltyWidget.mount: no element');
    if (el.loyaltyWidget) {
      if (opts && opts.token) el.loyaltyWidget.setToken(opts.token);
      return el.loyaltyWidget;
    }
    var w = el.loyaltyWidget = new Widget(el, opts);
    widgets.push(w);
    w.refresh();
    return w;
  }

  function mountAll() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-loyalty-widget]'), function (el) { mount(el); });
  }

  window.LoyaltyWidget = {
    mount: mount,
    get: function (el) { return (typeof el === 'string' ? document.querySelector(el) : el).loyaltyWidget; },
    on: function (name, fn) { (everywhere[name] = everywhere[name] || []).push(fn); return this; },
    refresh: function () { return Promise.all(widgets.map(function (w) { return w.refresh(); })); },
    messages: T
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mountAll);
  else mountAll();
}());
