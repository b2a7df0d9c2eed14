/* Loyalty customer widget. Embed:
 *   <script src="https://LOYALTY-HOST/widget.js" defer></script>
 *   <div data-loyalty-widget data-token="WIDGET-TOKEN"></div>
 * JS: LoyaltyWidget.mount(el, {token, apiBase, locale}) → widget with refresh(), setToken(t), on(name, fn);
 * LoyaltyWidget.on(name, fn) and LoyaltyWidget.refresh() for every widget on the page.
 * Events: loaded, redeemed, unauthorized, error (also DOM events "loyalty:<name>" on the element).
 * Theme: --loyalty-brand, --loyalty-brand-text, --loyalty-font, --loyalty-radius. */
(function () {
  'use strict';
  if (window.LoyaltyWidget) return;
  var script = document.currentScript;
  var BASE = script && script.src ? script.src.replace(/\/widget\.js([?#].*)?$/, '') : '';
  var T = {
    title: 'Your rewards', hi: 'Hi, {name}', loading: 'Loading your points…', points: 'points', point: 'point',
    balance: 'Points balance', pending: '{n} pending', tier: 'Tier', toNext: '{n} to {tier}',
    top: 'You have reached the top tier', progress: 'Progress to {tier}',
    expiring: 'Expiring soon', expires: '{n} expire on {date}',
    rewards: 'Rewards', redeem: 'Redeem', redeemLabel: 'Redeem {name} for {n}',
    confirm: 'Redeem {name} for {n}?', yes: 'Yes, redeem', no: 'Cancel', working: 'Redeeming…',
    codeTitle: 'Your code', codeHelp: 'Show this code at the till.', validUntil: 'Valid until {date}',
    done: 'Done', redeemed: 'Redeemed {name}. Your code is {code}.',
    activity: 'Recent activity', noActivity: 'No activity yet.',
    referral: 'Invite a friend', referralHelp: 'Share your code: you both earn points.',
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
    '*{box-sizing:border-box;margin:0;padding:0}' +
    '[hidden]{display:none!important}' +
    '.w{--b:var(--loyalty-brand,#2f6b4f);--r:var(--loyalty-radius,12px);' +
    'font:15px/1.45 var(--loyalty-font,system-ui,-apple-system,"Segoe UI",Roboto,sans-serif);color:#1f2328;' +
    'background:#fff;border:1px solid #d8dde3;border-radius:var(--r);padding:16px;max-width:100%;min-width:0;' +
    'overflow-wrap:anywhere;text-align:left}' +
    'h2{font-size:1.15em;margin-bottom:12px}h3{font-size:.8em;text-transform:uppercase;letter-spacing:.06em;' +
    'color:#57606a;margin:18px 0 6px}' +
    '.big{font-size:2.4em;font-weight:700;line-height:1.1;color:var(--b)}.muted{color:#57606a;font-size:.9em}' +
    '.bar{height:10px;background:#e6e9ed;border-radius:5px;overflow:hidden;margin:6px 0}' +
    '.bar>div{height:100%;background:var(--b);border-radius:5px}' +
    '.tier{font-weight:600}' +
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
    '.sr{position:absolute!important;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}';
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

  function Widget(el, opts) {
    opts = opts || {};
    this.el = el;
    this.token = opts.token || el.getAttribute('data-token') || '';
    this.base = (opts.apiBase || el.getAttribute('data-api-base') || BASE).replace(/\/$/, '');
    this.locale = opts.locale || el.getAttribute('data-locale') || navigator.language || 'en';
    this.handlers = {};
    this.state = {};
    this.root = el.shadowRoot || el.attachShadow({mode: 'open'});
    this.root.innerHTML = '';
    this.root.appendChild(h('style', {text: CSS}));
    this.box = this.root.appendChild(h('section', {cls: 'w', 'aria-label': T.title}));
    this.live = this.root.appendChild(h('div', {cls: 'sr', role: 'status', 'aria-live': 'polite'}));
    var nf = new Intl.NumberFormat(this.locale);
    var df = new Intl.DateTimeFormat(this.locale, {year: 'numeric', month: 'long', day: 'numeric'});
    this.num = function (n) { return nf.format(n); };
    this.date = function (s) { return df.format(new Date(s)); };
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
    pts: function (n) { return this.num(n) + ' ' + (Math.abs(n) === 1 ? T.point : T.points); },

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

    refresh: function () {
      var self = this;
      if (!this.token) return Promise.resolve(this.signin());
      if (!this.me) this.show([h('p', {role: 'status', text: T.loading})], true);
      return this.api('GET', '/v1/me?include=rewards,transactions').then(function (me) {
        self.me = me;
        self.render();
        self.emit('loaded', me);
        return me;
      }, function (e) { self.fail(e); });
    },

    fail: function (e) {
      if (e.status === 401) return this.signin(e);
      var self = this;
      this.show([h('p', {role: 'alert', text: T.failed}),
        h('button', {type: 'button', onclick: function () { self.me = null; self.refresh(); }, text: T.retry})]);
      this.emit('error', {status: e.status, code: e.code, message: e.message});
    },

    signin: function (e) {
      this.me = null;
      this.show([h('p', {role: 'alert', cls: 'signin', text: T.signin})]);
      this.emit('unauthorized', {status: 401, reason: e && e.code});
    },

    show: function (kids, busy) {
      this.box.textContent = '';
      this.box.setAttribute('aria-busy', busy ? 'true' : 'false');
      kids.forEach(function (k) { if (k) this.box.appendChild(k); }, this);
    },

    render: function (focus) {
      var me = this.me, p = me.points, self = this;
      this.show([
        h('h2', {text: me.first_name ? fill(T.hi, {name: me.first_name}) : (me.program && me.program.name) || T.title}),
        h('div', {cls: 'balance'}, [
          h('p', {cls: 'muted', id: 'bal-l', text: T.balance}),
          h('p', {cls: 'big', 'aria-labelledby': 'bal-l', 'data-balance': String(p.balance), text: this.pts(p.balance)}),
          p.pending ? h('p', {cls: 'muted', text: fill(T.pending, {n: this.pts(p.pending)})}) : null
        ]),
        this.tier(me.tier),
        p.expiring_soon && p.expiring_soon.length ? this.section('exp', T.expiring, h('ul', {}, p.expiring_soon.map(function (x) {
          return h('li', {text: fill(T.expires, {n: self.pts(x.points), date: self.date(x.expires_at)})});
        }))) : null,
        this.issued ? this.codeCard(this.issued) : null,
        this.section('rw', T.rewards, h('ul', {cls: 'rewards'}, (me.rewards || []).map(this.reward, this))),
        this.section('act', T.activity, this.activity((me.transactions || {}).data || [])),
        me.referral_code ? this.referral(me.referral_code) : null
      ]);
      if (focus) { var f = this.root.querySelector(focus); if (f) f.focus(); }
    },

    section: function (id, title, body) {
      return h('section', {'aria-labelledby': id}, [h('h3', {id: id, text: title}), body]);
    },

    tier: function (t) {
      if (!t) return null;
      var next = t.next, kids = [h('p', {cls: 'tier', text: t.name})];
      if (next) {
        var done = t.qualifying_points || 0, pct = Math.max(0, Math.min(100, Math.round(100 * done / (done + next.points_needed || 1))));
        kids.push(h('div', {cls: 'bar', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100',
          'aria-valuenow': String(pct), 'aria-label': fill(T.progress, {tier: next.name})},
          [h('div', {style: 'width:' + pct + '%'})]));
        kids.push(h('p', {cls: 'muted to-next', text: fill(T.toNext, {n: this.pts(next.points_needed), tier: next.name})}));
      } else kids.push(h('p', {cls: 'muted', text: T.top}));
      return this.section('tr', T.tier, h('div', {}, kids));
    },

    reward: function (r) {
      var self = this, cost = this.pts(r.points_cost), st = this.state, kids;
      if (st.confirm === r.id) {
        kids = [h('p', {cls: 'grow', text: fill(T.confirm, {name: r.name, n: cost})}),
          h('div', {cls: 'row'}, [
            h('button', {type: 'button', cls: 'yes', disabled: st.busy, onclick: function () { self.redeem(r); },
              text: st.busy ? T.working : T.yes}),
            h('button', {type: 'button', cls: 'ghost', disabled: st.busy,
              onclick: function () { self.state = {}; self.render('[data-reward="' + r.id + '"] button'); }, text: T.no})])];
      } else {
        kids = [h('div', {cls: 'grow'}, [h('strong', {text: r.name}),
          h('div', {cls: 'muted', text: cost + (r.eligible || !r.ineligible_reason ? '' : ' · ' + r.ineligible_reason)})]),
          h('button', {type: 'button', disabled: !r.eligible, 'aria-label': fill(T.redeemLabel, {name: r.name, n: cost}),
            onclick: function () { self.state = {confirm: r.id, key: newKey()}; self.render('[data-reward="' + r.id + '"] .yes'); },
            text: T.redeem})];
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
        self.say(fill(T.redeemed, {name: r.name, code: redemption.code}));
        self.emit('redeemed', redemption);
        return self.api('GET', '/v1/me?include=rewards,transactions').then(function (me) { self.me = me; }, function () {})
          .then(function () { self.render('.code'); });
      }, function (e) {
        if (e.status === 401) return self.signin(e);
        var network = !e.status;
        self.state = network ? {confirm: r.id, key: key} : {};
        self.state.error = T.errors[e.code] || T.errors.other;
        self.state.errorFor = r.id;
        self.render('[data-reward="' + r.id + '"] button');
      });
    },

    codeCard: function (d) {
      var self = this;
      return h('div', {cls: 'card', role: 'region', 'aria-labelledby': 'code-t'}, [
        h('h3', {id: 'code-t', text: T.codeTitle + ': ' + d.reward_name}),
        h('p', {cls: 'muted', text: T.codeHelp}),
        h('output', {cls: 'code', tabindex: '-1', 'aria-label': T.codeTitle + ' ' + d.code.split('').join(' '), text: d.code}),
        h('p', {cls: 'muted', text: fill(T.validUntil, {date: this.date(d.expires_at)})}),
        h('button', {type: 'button', cls: 'ghost', onclick: function () { self.issued = null; self.render('.rewards button:not([disabled])'); }, text: T.done})
      ]);
    },

    activity: function (rows) {
      if (!rows.length) return h('p', {cls: 'muted', text: T.noActivity});
      var self = this;
      return h('ul', {cls: 'activity'}, rows.map(function (t) {
        return h('li', {}, [
          h('div', {cls: 'grow'}, [h('div', {text: t.description}),
            h('div', {cls: 'muted', text: self.date(t.occurred_at || t.created_at) + (t.detail ? ' · ' + t.detail : '')})]),
          h('span', {cls: 'pts' + (t.points > 0 ? ' plus' : ''), text: (t.points > 0 ? '+' : '') + self.num(t.points)})
        ]);
      }));
    },

    referral: function (code) {
      var self = this, status = h('span', {cls: 'muted', role: 'status'});
      return this.section('ref', T.referral, h('div', {}, [
        h('p', {cls: 'muted', text: T.referralHelp}),
        h('div', {cls: 'row'}, [h('span', {cls: 'ref', text: code}),
          h('button', {type: 'button', cls: 'ghost', 'aria-label': fill(T.copyLabel, {code: code}), onclick: function () {
            self.copy(code).then(function () { status.textContent = T.copied; });
          }, text: T.copy}), status])]));
    },

    copy: function (text) {
      if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text).catch(function () {});
      var area = h('textarea', {cls: 'sr'});
      area.value = text;
      this.root.appendChild(area);
      area.select();
      try { document.execCommand('copy'); } catch (e) { /* the code stays visible to copy by hand */ }
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
