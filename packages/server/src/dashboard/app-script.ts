/**
 * The dashboard's page script, in the browser: draws the page the URL names (`/` the
 * rollout list, `/rollouts/:id` one rollout, `/releases` the registry and the drift
 * monitors) from the JSON under `/dashboard/api/`, polls it while the tab is visible and
 * updates the page in place, and sends manual actions to the controller API.
 *
 * Tokens live in the tab's `sessionStorage` (entered once per tab, gone with it) and
 * travel only in the `Authorization` header: never in a URL, a cookie or the page. Every
 * text from the server is written with `textContent`. Kept as plain browser JavaScript
 * in a string so what runs in the browser is exactly what is written here.
 *
 * One file of about 650 lines on purpose: the script is one closure (the three pages share
 * the tokens, the fetch helpers and the poll loop) served as one asset, and a piece of the
 * string would not be JavaScript on its own.
 */
// String.raw: the text is the script verbatim. It contains no backtick and no `${`.
export const DASHBOARD_APP_SCRIPT = String.raw`
(function () {
  'use strict';
  var V = window.AgentCanaryView;
  var body = document.body;
  var POLL_MILLIS = Math.max(250, Number(body.getAttribute('data-poll-millis')) || 2000);
  var ACTIONS_ON = body.getAttribute('data-actions') === 'on';
  var main = document.getElementById('content');
  var live = document.getElementById('live');
  var forgetButton = document.getElementById('forget-tokens');
  var ACTIONS = [
    { name: 'pause', label: 'Pause', help: 'hold at the current step; rollback protection stays on' },
    { name: 'resume', label: 'Resume', help: 'continue a paused rollout' },
    { name: 'promote', label: 'Promote', help: 'skip the remaining steps: the canary becomes the stable release' },
    { name: 'rollback', label: 'Roll back', help: 'canary and control shares to zero now', danger: true },
    { name: 'abort', label: 'Abort', help: 'end without promoting; routing returns to the stable release', danger: true },
    { name: 'approve', label: 'Approve', help: 'approve the promotion the rollout is waiting for' },
  ];

  // --- tokens: sessionStorage of this tab only ---
  var KEY = 'agent-canary.';
  function stored(name) { try { return sessionStorage.getItem(KEY + name) || undefined; } catch (e) { return undefined; } }
  function store(name, value) {
    try { if (value) sessionStorage.setItem(KEY + name, value); else sessionStorage.removeItem(KEY + name); } catch (e) { /* storage off: ask again */ }
    forgetButton.hidden = !stored('readToken') && !stored('controlToken');
  }
  forgetButton.hidden = !stored('readToken') && !stored('controlToken');
  forgetButton.addEventListener('click', function () { store('readToken'); store('controlToken'); location.reload(); });

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function words(text) { return String(text).replace(/_/g, ' ').replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase(); }
  function ago(nowMillis, atMillis) { return atMillis === undefined ? '-' : V.formatOffset(nowMillis - atMillis) + ' ago'; }
  function showField(key, value) {
    if (typeof value === 'number' && /AtMillis$/.test(key)) return V.formatTime(value);
    if (typeof value === 'number' && /BasisPoints$/.test(key)) return V.percent(value / 100);
    return V.show(value);
  }
  function stateKind(rollout) {
    if (rollout.outcome === 'promoted') return 'pass';
    if (rollout.outcome === 'rolled_back') return 'fail';
    if (rollout.outcome === 'aborted') return 'warn';
    return rollout.state === 'canary' ? 'running' : 'neutral';
  }
  // Flags of a rollout's status worth a glance: true booleans and non-empty lists, whatever their names.
  function statusChips(rollout) {
    var chips = el('div', 'chips');
    var status = rollout.status || {};
    var flags = {};
    Object.keys(status).forEach(function (key) { flags[key] = status[key]; });
    if (rollout.routingPending) flags.routingPending = true;
    Object.keys(flags).forEach(function (key) {
      var value = flags[key];
      if (value === true) chips.appendChild(el('span', 'chip chip-alert', words(key)));
      else if (Array.isArray(value) && value.length > 0) chips.appendChild(el('span', 'chip chip-alert', words(key) + ': ' + value.map(words).join(', ')));
    });
    return chips;
  }
  function stateCell(rollout) {
    var cell = el('div');
    cell.appendChild(V.badge(stateKind(rollout), rollout.state));
    var chips = statusChips(rollout);
    if (chips.children.length > 0) cell.appendChild(chips);
    return cell;
  }
  function rolloutHref(id) { return '/rollouts/' + encodeURIComponent(id); }

  // Rebuilds a container's content only when its data changed, keeping keyboard focus.
  function update(container, key, build) {
    if (container.__key === key) return false;
    container.__key = key;
    var active = document.activeElement;
    var focusKey = active && container.contains(active) ? active.getAttribute('data-focus') : null;
    container.textContent = '';
    build(container);
    if (focusKey) {
      var again = container.querySelector('[data-focus="' + CSS.escape(focusKey) + '"]');
      if (again) again.focus({ preventScroll: true });
    }
    return true;
  }

  // --- fetching with read access ---
  var READ_STATE = { needed: false };
  function readHeaders() {
    var token = stored('readToken') || stored('controlToken');
    return token ? { authorization: 'Bearer ' + token } : {};
  }
  function setLive(ok, text) {
    live.textContent = '';
    var dot = el('span', 'live-dot' + (ok ? '' : ' stale'));
    dot.setAttribute('aria-hidden', 'true');
    live.appendChild(dot);
    live.appendChild(document.createTextNode(text));
  }
  // The page asks again with the version it has; 304 means nothing changed (nothing to draw).
  var etags = {};
  function fetchJson(url) {
    var headers = readHeaders();
    if (etags[url]) headers['if-none-match'] = etags[url];
    return fetch(url, { headers: headers, cache: 'no-store', credentials: 'omit' }).then(function (response) {
      if (response.status === 304) return { status: 304 };
      var etag = response.headers.get('etag');
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.status === 200 && etag) etags[url] = etag; else delete etags[url];
        return { status: response.status, body: body };
      });
    });
  }
  function askReadToken(message) {
    READ_STATE.needed = true;
    main.textContent = '';
    var card = el('section', 'card');
    card.appendChild(el('h1', 'page', 'Read access'));
    card.appendChild(el('p', null, message));
    card.appendChild(el('p', 'muted', 'Enter the dashboard read token or the controller API token. It stays in this tab only (sessionStorage) and is sent as an Authorization header.'));
    var form = el('form', 'token');
    var label = el('label', null, 'Token');
    label.setAttribute('for', 'read-token');
    var input = el('input');
    input.type = 'password';
    input.id = 'read-token';
    input.autocomplete = 'off';
    input.required = true;
    var button = el('button', null, 'Open the dashboard');
    button.type = 'submit';
    form.appendChild(label);
    form.appendChild(input);
    form.appendChild(button);
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      store('readToken', input.value.trim());
      etags = {};
      READ_STATE.needed = false;
      main.textContent = '';
      main.__built = false;
      tick();
    });
    card.appendChild(form);
    main.appendChild(card);
    input.focus();
  }

  // --- pages ---
  function route(path) {
    if (path === '/' || path === '') return { kind: 'list', url: '/dashboard/api/rollouts' };
    if (path === '/releases' || path === '/releases/') return { kind: 'releases', url: '/dashboard/api/releases' };
    var match = /^\/rollouts\/([^/]+)\/?$/.exec(path);
    if (match) {
      var id;
      try { id = decodeURIComponent(match[1]); } catch (e) { return { kind: 'missing' }; }
      return { kind: 'rollout', id: id, url: '/dashboard/api/rollouts/' + encodeURIComponent(id) };
    }
    return { kind: 'missing' };
  }
  var page = route(location.pathname);
  document.querySelectorAll('[data-nav]').forEach(function (link) {
    var current = (page.kind === 'releases' && link.getAttribute('data-nav') === 'releases') || (page.kind !== 'releases' && link.getAttribute('data-nav') === 'rollouts');
    if (current) link.setAttribute('aria-current', 'page');
  });

  function renderList(doc) {
    if (!main.__built) {
      main.textContent = '';
      main.appendChild(el('h1', 'page', 'Rollouts'));
      var card = el('section', 'card');
      var scroll = el('div', 'table-scroll');
      var table = el('table', 'list');
      table.id = 'rollouts';
      var head = el('tr');
      ['Rollout', 'Releases', 'State', 'Step and canary share', 'Last verdict', 'Failing checks', 'Age'].forEach(function (label) { head.appendChild(el('th', null, label)); });
      var thead = el('thead');
      thead.appendChild(head);
      table.appendChild(thead);
      main.__rows = el('tbody');
      table.appendChild(main.__rows);
      scroll.appendChild(table);
      card.appendChild(scroll);
      main.appendChild(card);
      main.__built = true;
    }
    var rows = main.__rows;
    update(rows, JSON.stringify(doc), function () {
      if (doc.rollouts.length === 0) {
        var none = el('td', 'empty', 'No rollout in the store yet.');
        none.colSpan = 7;
        var row = el('tr');
        row.appendChild(none);
        rows.appendChild(row);
      }
      doc.rollouts.forEach(function (rollout) {
        var row = el('tr');
        row.setAttribute('data-rollout', rollout.id);
        function cell(label, content, className) {
          var td = el('td', className);
          td.setAttribute('data-label', label);
          if (typeof content === 'string') td.textContent = content; else if (content) td.appendChild(content);
          row.appendChild(td);
          return td;
        }
        var name = el('div');
        var link = el('a', null, rollout.id);
        link.href = rolloutHref(rollout.id);
        link.setAttribute('data-focus', 'rollout:' + rollout.id);
        name.appendChild(link);
        name.appendChild(el('div', 'muted', 'flag ' + rollout.flagKey));
        cell('Rollout', name);
        var releases = el('div');
        var canary = el('div');
        canary.appendChild(el('span', 'swatch swatch-canary'));
        canary.appendChild(el('strong', 'release', rollout.canaryRelease));
        releases.appendChild(canary);
        var stable = el('div', 'muted');
        stable.appendChild(el('span', 'swatch swatch-control'));
        stable.appendChild(document.createTextNode('over ' + rollout.stableRelease));
        releases.appendChild(stable);
        cell('Releases', releases);
        cell('State', stateCell(rollout));
        cell('Step and canary share', 'step ' + (rollout.stepIndex + 1) + '/' + rollout.stepCount + ' \u00b7 ' + V.percent(rollout.canaryPercent), 'num');
        var verdict = el('div');
        if (rollout.lastVerdict) {
          verdict.appendChild(V.badge(rollout.lastVerdict));
          verdict.appendChild(el('div', 'muted', ago(doc.nowMillis, rollout.lastEvaluatedAtMillis)));
        } else verdict.textContent = 'no evaluation yet';
        cell('Last verdict', verdict);
        cell('Failing checks', rollout.failingChecks.length === 0 ? 'none' : rollout.failingChecks.map(V.words).join(', '));
        var age = el('div');
        age.appendChild(el('div', null, rollout.startedAtMillis === undefined ? 'not started' : V.formatOffset(doc.nowMillis - rollout.startedAtMillis)));
        age.appendChild(el('div', 'muted', 'updated ' + ago(doc.nowMillis, rollout.updatedAtMillis)));
        cell('Age', age, 'num');
        rows.appendChild(row);
      });
    });
  }

  function fieldList(object, skip) {
    var dl = el('dl', 'fields');
    Object.keys(object).forEach(function (key) {
      if (skip && skip.indexOf(key) >= 0) return;
      var value = object[key];
      if (value === undefined) return;
      dl.appendChild(el('dt', null, words(key)));
      dl.appendChild(el('dd', null, showField(key, value)));
    });
    return dl;
  }

  var dialog;
  function buildRolloutPage() {
    main.textContent = '';
    var crumb = el('p', 'crumb');
    var back = el('a', null, '\u2190 All rollouts');
    back.href = '/';
    crumb.appendChild(back);
    main.appendChild(crumb);
    var grid = el('div', 'status-grid');
    var statusCard = el('section', 'card');
    statusCard.id = 'status';
    var header = el('header');
    header.appendChild(el('h2', null, 'Status'));
    header.appendChild(el('p', null, 'The controller\u2019s status of this rollout, live.'));
    statusCard.appendChild(header);
    main.__statusLine = el('div', 'status-line');
    main.__statusFields = el('div');
    statusCard.appendChild(main.__statusLine);
    statusCard.appendChild(main.__statusFields);
    // Built once: a section someone opened stays open across updates.
    var all = el('details');
    all.appendChild(el('summary', null, 'Every status field'));
    main.__statusAll = el('div');
    all.appendChild(main.__statusAll);
    statusCard.appendChild(all);
    var config = el('details');
    config.appendChild(el('summary', null, 'Configuration (steps, timing, limits)'));
    main.__config = el('div');
    config.appendChild(main.__config);
    statusCard.appendChild(config);
    grid.appendChild(statusCard);

    var actionCard = el('section', 'card');
    actionCard.id = 'actions';
    var actionHeader = el('header');
    actionHeader.appendChild(el('h2', null, 'Actions'));
    actionHeader.appendChild(el('p', null, ACTIONS_ON
      ? 'Each action needs the controller API token (asked once per tab) and is kept in the audit log with who and why.'
      : 'Actions are off: this server has no controller API. Start it with an API token (AGENT_CANARY_API_TOKEN) to act from here.'));
    actionCard.appendChild(actionHeader);
    var buttons = el('div', 'actions');
    ACTIONS.forEach(function (action) {
      var button = el('button', action.danger ? 'danger' : null, action.label);
      button.type = 'button';
      button.setAttribute('data-action', action.name);
      button.title = action.help;
      button.disabled = !ACTIONS_ON;
      button.addEventListener('click', function () { openAction(action, button); });
      buttons.appendChild(button);
    });
    actionCard.appendChild(buttons);
    main.__message = el('div', 'message');
    main.__message.setAttribute('role', 'alert');
    main.__message.hidden = true;
    actionCard.appendChild(main.__message);
    grid.appendChild(actionCard);
    main.__slot = grid;

    main.__view = el('div');
    main.__view.id = 'rollout-view';
    main.appendChild(main.__view);
    dialog = buildDialog();
    main.appendChild(dialog.node);
    main.__built = true;
  }

  function renderRollout(doc) {
    if (!main.__built) buildRolloutPage();
    document.title = 'Rollout ' + doc.rollout.id + ' \u00b7 agent-canary';
    var rollout = doc.rollout;
    update(main.__statusLine, JSON.stringify([rollout.state, rollout.outcome, rollout.status, rollout.routingPending]), function (container) {
      container.appendChild(stateCell(rollout));
    });
    var fields = {
      step: (rollout.stepIndex + 1) + ' of ' + rollout.stepCount,
      canaryShare: V.percent(rollout.canaryPercent),
      lastVerdict: rollout.lastVerdict,
      lastEvaluation: rollout.lastEvaluatedAtMillis === undefined ? undefined : ago(doc.nowMillis, rollout.lastEvaluatedAtMillis),
      lastGateReason: rollout.lastReason,
      failingChecks: rollout.failingChecks.length === 0 ? 'none' : rollout.failingChecks.map(V.words).join(', '),
    };
    update(main.__statusFields, JSON.stringify(fields), function (container) { container.appendChild(fieldList(fields)); });
    update(main.__statusAll, JSON.stringify(rollout.status), function (container) { container.appendChild(fieldList(rollout.status)); });
    update(main.__config, JSON.stringify(doc.config), function (container) { container.appendChild(fieldList(doc.config)); });
    V.render(main.__view, doc.report, { slot: main.__slot });
  }

  function buildDialog() {
    var node = el('dialog');
    node.id = 'action-dialog';
    node.setAttribute('aria-labelledby', 'action-title');
    var form = el('form');
    var title = el('h2');
    title.id = 'action-title';
    form.appendChild(title);
    var help = el('p', 'hint');
    form.appendChild(help);
    var tokenBox = el('div');
    var tokenLabel = el('label', null, 'Controller API token');
    tokenLabel.setAttribute('for', 'action-token');
    var token = el('input');
    token.type = 'password';
    token.id = 'action-token';
    token.autocomplete = 'off';
    tokenBox.appendChild(tokenLabel);
    tokenBox.appendChild(token);
    tokenBox.appendChild(el('p', 'hint', 'Asked once per tab: kept in this tab\u2019s sessionStorage and sent only as an Authorization header.'));
    form.appendChild(tokenBox);
    var tokenKnown = el('p', 'hint');
    form.appendChild(tokenKnown);
    var actorLabel = el('label', null, 'Who you are (for the audit log)');
    actorLabel.setAttribute('for', 'action-actor');
    var actor = el('input');
    actor.id = 'action-actor';
    actor.required = true;
    actor.autocomplete = 'username';
    form.appendChild(actorLabel);
    form.appendChild(actor);
    var reasonLabel = el('label', null, 'Why (for the audit log)');
    reasonLabel.setAttribute('for', 'action-reason');
    var reason = el('textarea');
    reason.id = 'action-reason';
    reason.rows = 3;
    reason.required = true;
    form.appendChild(reasonLabel);
    form.appendChild(reason);
    var row = el('div', 'buttons');
    var cancel = el('button', null, 'Cancel');
    cancel.type = 'button';
    var confirm = el('button', null, 'Confirm');
    confirm.type = 'submit';
    confirm.id = 'action-confirm';
    row.appendChild(cancel);
    row.appendChild(confirm);
    form.appendChild(row);
    node.appendChild(form);
    var state = { action: undefined, opener: undefined };
    function close() {
      node.close();
      if (state.opener) state.opener.focus();
    }
    cancel.addEventListener('click', close);
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var given = token.value.trim();
      if (given) store('controlToken', given);
      store('actor', actor.value.trim());
      var action = state.action;
      var text = reason.value.trim();
      close();
      send(action, actor.value.trim(), text);
    });
    return {
      node: node,
      open: function (action, opener) {
        state.action = action;
        state.opener = opener;
        title.textContent = action.label + ' rollout ' + page.id;
        help.textContent = action.help + '.';
        var known = !!stored('controlToken');
        tokenBox.hidden = known;
        token.required = !known;
        token.value = '';
        tokenKnown.textContent = known ? 'Using the controller API token entered earlier in this tab.' : '';
        actor.value = stored('actor') || '';
        reason.value = '';
        confirm.className = action.danger ? 'danger' : '';
        node.showModal();
        (known ? (actor.value ? reason : actor) : token).focus();
      },
    };
  }
  function openAction(action, opener) { dialog.open(action, opener); }

  function showMessage(ok, text) {
    var message = main.__message;
    message.hidden = false;
    message.className = 'message ' + (ok ? 'accepted' : 'refused');
    message.textContent = text;
  }
  function send(action, actor, reason) {
    var token = stored('controlToken');
    var url = '/v1/rollouts/' + encodeURIComponent(page.id) + '/' + action.name;
    fetch(url, {
      method: 'POST',
      cache: 'no-store',
      credentials: 'omit',
      headers: { authorization: 'Bearer ' + (token || ''), 'content-type': 'application/json' },
      body: JSON.stringify({ actor: actor, reason: reason }),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (response.ok && answer.ok) {
          showMessage(true, action.label + ': accepted. ' + (answer.status && answer.status.reason ? answer.status.reason : ''));
        } else {
          var why = answer && answer.error && answer.error.message ? answer.error.message : 'HTTP ' + response.status;
          // A refused token is forgotten, so the next action asks again.
          if (response.status === 401) store('controlToken');
          showMessage(false, action.label + ' refused: ' + why);
        }
        tick();
      });
    }).catch(function (error) {
      showMessage(false, action.label + ' failed: ' + (error && error.message ? error.message : 'network error'));
    });
  }

  function section(title, text) {
    var card = el('section', 'card');
    var header = el('header');
    header.appendChild(el('h2', null, title));
    if (text) header.appendChild(el('p', null, text));
    card.appendChild(header);
    return card;
  }
  function table(headers) {
    var scroll = el('div', 'table-scroll');
    var t = el('table', 'list');
    var head = el('tr');
    headers.forEach(function (label) { head.appendChild(el('th', null, label)); });
    var thead = el('thead');
    thead.appendChild(head);
    t.appendChild(thead);
    var tbody = el('tbody');
    t.appendChild(tbody);
    scroll.appendChild(t);
    return { node: scroll, body: tbody, headers: headers };
  }
  function addRow(t, cells) {
    var row = el('tr');
    cells.forEach(function (content, index) {
      var td = el('td');
      td.setAttribute('data-label', t.headers[index]);
      if (content instanceof Node) td.appendChild(content); else td.textContent = content === undefined ? '-' : String(content);
      row.appendChild(td);
    });
    t.body.appendChild(row);
  }
  function alertRow(t, alert) {
    var e = alert.evidence || {};
    var signal = el('div');
    signal.appendChild(el('strong', null, V.words(alert.signal)));
    signal.appendChild(el('div', 'muted', alert.clearedAtMillis === undefined ? 'open' : 'cleared ' + V.formatTime(alert.clearedAtMillis) + (alert.clearReason ? ': ' + alert.clearReason : '')));
    var facts = [];
    if (e.subject !== undefined) facts.push(String(e.subject));
    facts.push('baseline ' + V.fmt(e.baselineValue) + ' \u2192 now ' + V.fmt(e.currentValue));
    if (e.effect !== undefined) facts.push(V.words(e.effect) + ' ' + V.fmt(e.effectSize) + ', at least ' + V.fmt(e.effectBound) + ' (tolerance ' + V.fmt(e.tolerance) + ')');
    if (e.users !== undefined) facts.push(e.users + ' users vs ' + e.baselineUsers + ' in the baseline');
    var why = el('div');
    why.appendChild(el('div', 'reason', e.reason || ''));
    why.appendChild(el('div', 'facts', facts.join(' \u00b7 ')));
    addRow(t, [signal, alert.release, V.formatTime(alert.raisedAtMillis), why]);
  }

  function renderReleases(doc) {
    if (!main.__built) {
      main.textContent = '';
      main.appendChild(el('h1', 'page', 'Releases'));
      main.__stable = el('div');
      main.__monitors = el('div');
      main.__registry = el('div');
      main.appendChild(main.__stable);
      main.appendChild(main.__monitors);
      main.appendChild(main.__registry);
      main.__built = true;
    }
    update(main.__stable, JSON.stringify(doc.stable), function (container) {
      var card = section('Stable release', 'What serves everyone outside a canary, per release flag: the newest promoted rollout\u2019s canary, or a release marked stable by hand.');
      if (doc.stable.length === 0) card.appendChild(el('p', 'empty', 'No release is known to be stable yet.'));
      else {
        var t = table(['Flag', 'Release', 'Since', 'Through']);
        doc.stable.forEach(function (entry) {
          var link = entry.rolloutId ? el('a', null, 'rollout ' + entry.rolloutId) : el('span', 'muted', 'marked by hand');
          if (entry.rolloutId) link.href = rolloutHref(entry.rolloutId);
          addRow(t, [entry.flagKey || 'any', el('strong', null, entry.release), V.formatTime(entry.sinceMillis), link]);
        });
        card.appendChild(t.node);
      }
      container.appendChild(card);
    });
    update(main.__monitors, JSON.stringify(doc.monitors), function (container) {
      var card = section('Drift monitoring', 'The continuous behaviour monitor of the stable release: the users of each window against the frozen baseline; an alert needs a confidence bound past the tolerance.');
      if (doc.monitors.length === 0) card.appendChild(el('p', 'empty', 'No drift monitor has run on this store (agent-canary monitor, or serve --monitor).'));
      doc.monitors.forEach(function (monitor) {
        var box = el('div', 'panel');
        var head = el('div', 'monitor-title', monitor.monitorId + ' ');
        head.appendChild(V.badge(monitor.phase === 'monitoring' ? 'pass' : 'neutral', monitor.phase));
        if (monitor.openAlerts.length > 0) head.appendChild(V.badge('fail', monitor.openAlerts.length + ' open alert' + (monitor.openAlerts.length === 1 ? '' : 's')));
        box.appendChild(head);
        var fields = { release: monitor.release, windowIndex: monitor.windowIndex };
        if (monitor.baseline) {
          fields.baseline = (monitor.baseline.users === undefined ? monitor.baseline.turns + ' turns' : monitor.baseline.users + ' users') + ', ' + V.formatTime(monitor.baseline.sinceMillis) + ' \u2192 ' + V.formatTime(monitor.baseline.untilMillis);
          fields.baselineFrozenBy = monitor.baseline.actor + ': ' + monitor.baseline.reason;
        }
        box.appendChild(fieldList(fields));
        if (monitor.recentAlerts.length > 0) {
          var t = table(['Signal', 'Release', 'Raised', 'Evidence']);
          monitor.recentAlerts.forEach(function (alert) { alertRow(t, alert); });
          box.appendChild(t.node);
        } else box.appendChild(el('p', 'empty', 'No drift alert so far.'));
        card.appendChild(box);
      });
      container.appendChild(card);
    });
    update(main.__registry, JSON.stringify(doc.releases), function (container) {
      var card = section('Release registry', 'What each release id stands for, and its status over time (derived from the rollouts).');
      if (doc.releases.length === 0) card.appendChild(el('p', 'empty', 'No release is registered (agent-canary release create).'));
      else {
        var t = table(['Release', 'Status', 'Model', 'Prompt', 'Parameters', 'History']);
        doc.releases.forEach(function (release) {
          var name = el('div');
          name.appendChild(el('strong', 'release', release.id));
          if (release.description) name.appendChild(el('div', 'muted', release.description));
          name.appendChild(el('div', 'muted', 'by ' + release.createdBy + ', ' + V.formatTime(release.createdAtMillis)));
          var prompt = el('div');
          if (release.prompt) prompt.appendChild(el('div', null, V.show(release.prompt)));
          prompt.appendChild(el('div', 'muted', 'hash ' + String(release.promptHash).slice(0, 16)));
          var history = el('ul', 'evidence');
          (release.statusHistory || []).forEach(function (change) {
            var item = el('li');
            item.appendChild(V.badge(change.status === 'rolled_back' ? 'fail' : change.status === 'stable' ? 'pass' : 'neutral', change.status));
            item.appendChild(document.createTextNode(' ' + V.formatTime(change.atMillis) + ' by ' + change.actor + ': ' + change.reason));
            history.appendChild(item);
          });
          addRow(t, [name, V.badge(release.status === 'rolled_back' ? 'fail' : release.status === 'stable' ? 'pass' : 'neutral', release.status), release.model + (release.provider ? ' (' + release.provider + ')' : ''), prompt, V.show(release.parameters), history]);
        });
        card.appendChild(t.node);
      }
      container.appendChild(card);
    });
  }

  function notFound(text) {
    main.textContent = '';
    main.__built = false;
    var card = el('section', 'card');
    card.appendChild(el('h1', 'page', 'Not found'));
    card.appendChild(el('p', null, text));
    var back = el('a', null, 'All rollouts');
    back.href = '/';
    card.appendChild(back);
    main.appendChild(card);
  }

  // --- the poll loop ---
  var timer;
  var busy = false;
  function tick() {
    if (busy) return;
    if (page.kind === 'missing') { notFound('No dashboard page at this address.'); return; }
    if (READ_STATE.needed) return;
    busy = true;
    clearTimeout(timer);
    fetchJson(page.url).then(function (answer) {
      if (answer.status === 401) {
        askReadToken(answer.body && answer.body.error ? answer.body.error.message : 'This dashboard needs a token.');
        return;
      }
      if (answer.status === 404) { notFound(answer.body && answer.body.error ? answer.body.error.message : 'Not found.'); return; }
      if (answer.status === 304) { setLive(true, 'live \u00b7 checked ' + new Date().toLocaleTimeString()); return; }
      if (answer.status !== 200) { setLive(false, 'update failed (HTTP ' + answer.status + '), retrying'); return; }
      if (page.kind === 'list') renderList(answer.body);
      else if (page.kind === 'rollout') renderRollout(answer.body);
      else renderReleases(answer.body);
      setLive(true, 'live \u00b7 updated ' + new Date().toLocaleTimeString());
      body.setAttribute('data-updates', String(Number(body.getAttribute('data-updates') || 0) + 1));
    }).catch(function () {
      setLive(false, 'connection lost, retrying');
    }).then(function () {
      busy = false;
      if (!READ_STATE.needed && page.kind !== 'missing') schedule();
    });
  }
  function schedule() {
    clearTimeout(timer);
    if (!document.hidden) timer = setTimeout(tick, POLL_MILLIS);
  }
  document.addEventListener('visibilitychange', function () { if (!document.hidden) tick(); });
  tick();
})();
`;
