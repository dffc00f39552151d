/**
 * The rollout view, in the browser: header, key figures, charts (Chart.js) and the
 * decision timeline of one rollout, drawn from `ReportData`. The static report runs it
 * once on the data embedded in the file; the dashboard runs it again on every update, and
 * it then updates in place (same elements, charts redrawn without animation), so the page
 * neither flickers nor loses its scroll position.
 *
 * Kept as plain browser JavaScript in a string (not a compiled function) so what runs in
 * the browser is exactly what is written here. It never writes data into HTML: every text
 * goes through `textContent` or a canvas, so release names, reasons and check evidence
 * (attacker-controlled) are always text. Evidence is shown field by field, whatever fields
 * a check carries.
 *
 * One file of about 600 lines on purpose: the script is one closure, inlined whole into the
 * static report's single `<script>` and served as one dashboard asset; a piece of the
 * string would not be JavaScript on its own.
 */
// String.raw: the text is the script verbatim. It contains no backtick and no `${`.
export const ROLLOUT_VIEW_SCRIPT = String.raw`
(function () {
  'use strict';
  var css = getComputedStyle(document.documentElement);
  function token(name) { return css.getPropertyValue(name).trim(); }
  var COLORS = {
    canary: token('--canary'), control: token('--control'), stable: token('--stable'),
    pass: token('--pass'), warn: token('--warn'), fail: token('--fail'), inconclusive: token('--inconclusive'),
    grid: token('--grid'), text: token('--muted'), limit: token('--fail'),
  };
  var defaultsSet = false;
  function setChartDefaults() {
    if (defaultsSet) return;
    defaultsSet = true;
    Chart.defaults.animation = false;
    Chart.defaults.font.family = token('--font');
    Chart.defaults.font.size = 11;
    Chart.defaults.color = COLORS.text;
    Chart.defaults.borderColor = COLORS.grid;
    Chart.defaults.plugins.legend.labels.boxWidth = 10;
    Chart.defaults.plugins.legend.labels.boxHeight = 10;
    Chart.defaults.plugins.tooltip.mode = 'index';
    Chart.defaults.plugins.tooltip.intersect = false;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function words(text) { return String(text).replace(/_/g, ' '); }
  /** A check's unit of analysis as a reader says it: subjects are users. */
  function unitWords(unit) { return unit === 'subject' ? 'user' : words(unit); }
  function kindOf(text) { return String(text).replace(/[^a-z_]/gi, '').toLowerCase(); }
  function badge(kind, text) {
    return el('span', 'badge badge-' + kindOf(kind), words(text === undefined ? kind : text));
  }
  function fmt(value) {
    if (value === undefined || value === null || typeof value !== 'number' || !isFinite(value)) return '-';
    if (Number.isInteger(value)) return String(value);
    var abs = Math.abs(value);
    return abs >= 1000 ? value.toFixed(0) : abs >= 10 ? value.toFixed(1) : abs >= 1 ? value.toFixed(2) : value.toPrecision(2);
  }
  // Shares are whole percents almost always: 10%, not 10.0%.
  function percent(value) { return (typeof value === 'number' && Number.isInteger(value) ? String(value) : fmt(value)) + '%'; }
  function formatTime(millis) { return new Date(millis).toISOString().slice(0, 19).replace('T', ' ') + ' UTC'; }
  function formatOffset(millis) {
    var seconds = Math.max(0, Math.round(millis / 1000));
    var hours = Math.floor(seconds / 3600), minutes = Math.floor((seconds % 3600) / 60), rest = seconds % 60;
    function two(n) { return (n < 10 ? '0' : '') + n; }
    if (hours > 0) return hours + 'h ' + two(minutes) + 'm';
    if (minutes > 0) return minutes + 'm ' + two(rest) + 's';
    return rest + 's';
  }
  // Any value as short text: numbers formatted, objects as key=value pairs.
  function show(value) {
    if (typeof value === 'number') return fmt(value);
    if (typeof value === 'boolean') return value ? 'yes' : 'no';
    if (value === null || value === undefined) return '-';
    if (Array.isArray(value)) return value.map(show).join(', ');
    if (typeof value === 'object') {
      return Object.keys(value).map(function (key) {
        var inner = value[key];
        return key + '=' + (inner !== null && typeof inner === 'object' && !Array.isArray(inner) ? JSON.stringify(inner) : show(inner));
      }).join(' ');
    }
    return String(value);
  }
  function rest(object, known) {
    var out = {};
    Object.keys(object || {}).forEach(function (key) { if (known.indexOf(key) < 0) out[key] = object[key]; });
    return out;
  }
  function extras(object, known) {
    var others = rest(object, known);
    return Object.keys(others).length === 0 ? '' : ' ' + show(others);
  }

  // The facts of one check's evidence, field by field: known fields in a readable form,
  // any other field as key=value, so evidence the gate adds later still shows.
  function evidenceFacts(evidence) {
    var facts = [];
    (evidence.measurements || []).forEach(function (m) {
      var detail = [];
      if (typeof m.samples === 'number') detail.push('n=' + m.samples);
      var others = rest(m, ['cohort', 'value', 'samples']);
      Object.keys(others).forEach(function (key) { detail.push(key + '=' + show(others[key])); });
      facts.push((m.cohort || '?') + ' ' + fmt(m.value) + (detail.length > 0 ? ' (' + detail.join(', ') + ')' : ''));
    });
    if (evidence.unit !== undefined) facts.push('per ' + unitWords(evidence.unit));
    if (evidence.threshold) {
      facts.push('limit ' + (evidence.threshold.operator || '') + ' ' + fmt(evidence.threshold.value) + extras(evidence.threshold, ['operator', 'value']));
    }
    if (evidence.statistic) {
      var s = evidence.statistic;
      facts.push(s.eValue !== undefined ? 'e-value ' + fmt(s.eValue) + ' / boundary ' + fmt(s.boundary) + extras(s, ['eValue', 'boundary']) : show(s));
    }
    if (evidence.effect) {
      var e = evidence.effect;
      facts.push((e.name ? words(e.name) + ' ' : '') + fmt(e.value) +
        (e.lower !== undefined && e.upper !== undefined ? ' [' + fmt(e.lower) + ', ' + fmt(e.upper) + ']' : '') +
        extras(e, ['name', 'value', 'lower', 'upper']));
    }
    var others = rest(evidence, ['check', 'method', 'verdict', 'reason', 'unit', 'measurements', 'threshold', 'statistic', 'effect']);
    Object.keys(others).forEach(function (key) { facts.push(words(key) + ': ' + show(others[key])); });
    return facts;
  }
  function evidenceItem(evidence) {
    var li = el('li');
    li.appendChild(badge(evidence.verdict || 'inconclusive'));
    li.appendChild(document.createTextNode(' '));
    li.appendChild(el('strong', null, evidence.check));
    li.appendChild(document.createTextNode(' '));
    li.appendChild(el('span', 'method', words(evidence.method || '')));
    li.appendChild(document.createTextNode(evidence.reason || ''));
    var facts = evidenceFacts(evidence);
    if (facts.length > 0) li.appendChild(el('div', 'facts', facts.join(' · ')));
    return li;
  }

  function outcomeOf(rollout) {
    // Until the flag system acknowledges the latest split, the page says so next to the state.
    var pending = rollout.routingPending ? ' \u2014 routing pending' : '';
    if (rollout.outcome === 'promoted') return { kind: pending ? 'warn' : 'pass', text: 'promoted' + pending };
    if (rollout.outcome === 'rolled_back') return { kind: 'fail', text: 'rolled back' + pending };
    if (rollout.outcome === 'aborted') return { kind: pending ? 'fail' : 'warn', text: 'aborted' + pending };
    return { kind: pending ? 'warn' : 'running', text: rollout.state + pending };
  }

  function routingKpi(rollout) {
    var pending = rollout.routingPending;
    if (!pending) return [];
    var routed = pending.routedCanaryPercent === undefined
      ? 'unknown'
      : 'canary ' + pending.routedCanaryPercent + '%, control ' + (pending.routedControlPercent || 0) + '%';
    var since = pending.sinceMillis === undefined ? '' : ' since ' + formatTime(pending.sinceMillis);
    var error = pending.lastError === undefined ? '' : ' \u00b7 ' + pending.lastError;
    return [['Flag system still routes', routed, 'not acknowledged' + since + error, 'routing']];
  }

  // --- building the page once, updating it in place ---

  function card(parent, title, text) {
    var section = el('section', 'card');
    var header = el('header');
    header.appendChild(el('h2', null, title));
    header.appendChild(el('p', null, text));
    section.appendChild(header);
    parent.appendChild(section);
    return section;
  }
  function skeleton(root, options) {
    root.textContent = '';
    var view = {};
    var top = el('header', 'top');
    var left = el('div');
    view.title = el('h1');
    view.releases = el('p', 'lede');
    view.range = el('p', 'lede');
    left.appendChild(view.title);
    left.appendChild(view.releases);
    left.appendChild(view.range);
    view.outcome = el('div');
    top.appendChild(left);
    top.appendChild(view.outcome);
    root.appendChild(top);
    view.kpis = el('div', 'kpis');
    root.appendChild(view.kpis);
    // A page that embeds the view (the dashboard) puts its own part here, under the key figures.
    if (options && options.slot) root.appendChild(options.slot);
    view.share = el('div');
    card(root, 'Traffic split', 'Share of requests per cohort over time; dotted lines mark decisions (red: rollback, green: promotion). Control serves the stable release on a slice as large as the canary\u2019s.').appendChild(view.share);
    view.metrics = el('div', 'grid');
    card(root, 'Gate metrics', 'Canary vs control at each evaluation; canary points coloured by the check\u2019s verdict; dashed line: absolute limit.').appendChild(view.metrics);
    view.sequential = el('div', 'grid');
    card(root, 'Sequential tests', 'Anytime-valid e-value of each canary-vs-control test against its rejection boundary 1/\u03b1 (log scale). Crossing it rolls back at once.').appendChild(view.sequential);
    var two = el('div', 'two-col');
    root.appendChild(two);
    view.toolMix = el('div');
    card(two, 'Tool mix', 'Share of tool calls per tool.').appendChild(view.toolMix);
    view.drift = el('div', 'grid');
    card(two, 'Behaviour drift', 'Divergence of the canary\u2019s behaviour profile from control\u2019s, against its tolerance.').appendChild(view.drift);
    var timeline = card(root, 'Decision timeline', 'Every state transition with who made it, why, and the gate evidence behind it (non-passing checks first).');
    var table = el('table', 'decisions');
    var head = el('tr');
    ['When', 'Decision', 'Reason and evidence'].forEach(function (label) { head.appendChild(el('th', null, label)); });
    var thead = el('thead');
    thead.appendChild(head);
    table.appendChild(thead);
    view.decisions = el('tbody');
    table.appendChild(view.decisions);
    var scroll = el('div', 'table-scroll');
    scroll.appendChild(table);
    timeline.appendChild(scroll);
    view.charts = {};
    view.decisionsKey = undefined;
    view.renders = 0;
    return view;
  }

  // Children of a container not touched by a render are removed at its end (with their charts).
  function begin(container) {
    for (var i = 0; i < container.children.length; i++) container.children[i].__stale = true;
  }
  function end(view, container) {
    Array.prototype.slice.call(container.children).forEach(function (child) {
      if (!child.__stale) return;
      child.querySelectorAll('canvas').forEach(function (canvas) {
        var key = canvas.getAttribute('data-chart');
        if (key && view.charts[key]) { view.charts[key].destroy(); delete view.charts[key]; }
      });
      container.removeChild(child);
    });
  }
  function keyed(container, key, make) {
    for (var i = 0; i < container.children.length; i++) {
      var child = container.children[i];
      if (child.getAttribute('data-key') === key) { child.__stale = false; return child; }
    }
    var node = make();
    node.setAttribute('data-key', key);
    node.__stale = false;
    container.appendChild(node);
    return node;
  }
  function empty(container, text) {
    keyed(container, 'empty', function () { return el('p', 'empty'); }).textContent = text;
  }
  function panel(grid, key, title, subtitle) {
    var figure = keyed(grid, key, function () {
      var node = el('figure', 'panel');
      node.appendChild(el('figcaption', 'panel-title'));
      node.appendChild(el('div', 'panel-sub'));
      return node;
    });
    figure.children[0].textContent = title;
    figure.children[1].textContent = subtitle || '';
    return figure;
  }
  // Creates the chart, or updates the one already drawn under this key.
  function chart(view, container, key, config, height) {
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false }, config.options || {});
    var box = keyed(container, 'chart', function () {
      var node = el('div', 'chart-box');
      var canvas = document.createElement('canvas');
      canvas.setAttribute('data-chart', key);
      canvas.setAttribute('role', 'img');
      node.appendChild(canvas);
      return node;
    });
    box.style.height = (height || 200) + 'px';
    var existing = view.charts[key];
    if (existing) {
      existing.data = config.data;
      existing.options = config.options;
      existing.update('none');
    } else {
      view.charts[key] = new Chart(box.firstChild, config);
    }
    box.firstChild.setAttribute('aria-label', config.label || key);
    view.drawn++;
  }

  // options.slot: an element placed once under the key figures (on the first render).
  function render(root, data, options) {
    setChartDefaults();
    var view = root.__rolloutView;
    if (!view) view = root.__rolloutView = skeleton(root, options);
    view.data = data;
    view.drawn = 0;
    var rollout = data.rollout;
    var span = Math.max(1, data.endMillis - data.startMillis);
    var unit = span < 5 * 60000 ? { millis: 1000, label: 's' } : span < 3 * 3600000 ? { millis: 60000, label: 'min' } : { millis: 3600000, label: 'h' };
    function x(atMillis) { return (atMillis - data.startMillis) / unit.millis; }
    // A finished rollout gets a little room after its end so the final split is visible.
    var xMax = x(data.endMillis) * (rollout.outcome ? 1.025 : 1);
    function timeAxis() {
      return {
        type: 'linear', min: 0, max: xMax,
        title: { display: true, text: unit.label + ' since start' },
        ticks: { maxTicksLimit: 7, callback: function (v) { return Number(v).toFixed(v % 1 === 0 ? 0 : 1); } },
        grid: { display: false },
      };
    }
    function alpha(color, a) {
      var m = /^#([0-9a-f]{6})$/i.exec(color);
      if (!m) return color;
      var n = parseInt(m[1], 16);
      return 'rgba(' + (n >> 16) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + a + ')';
    }
    function limitLine(value, label) {
      return {
        label: label, data: [{ x: 0, y: value }, { x: xMax, y: value }],
        borderColor: COLORS.limit, borderDash: [5, 4], borderWidth: 1.5, pointRadius: 0, fill: false,
      };
    }

    // Header and key figures.
    view.title.textContent = 'Rollout ' + rollout.id;
    view.releases.textContent = '';
    [['canary', rollout.canaryRelease, ' (canary) vs '], ['control', rollout.stableRelease, ' (control and stable) \u00b7 flag ']].forEach(function (part) {
      view.releases.appendChild(el('span', 'swatch swatch-' + part[0]));
      view.releases.appendChild(el('strong', null, part[1]));
      view.releases.appendChild(document.createTextNode(part[2]));
    });
    view.releases.appendChild(el('strong', null, rollout.flagKey));
    view.range.textContent = formatTime(data.startMillis) + ' \u2192 ' + formatTime(data.endMillis);
    var outcome = outcomeOf(rollout);
    view.outcome.textContent = '';
    var big = badge(outcome.kind, outcome.text);
    big.classList.add('badge-lg');
    view.outcome.appendChild(big);

    var lastRequests = data.requests.length > 0 ? data.requests[data.requests.length - 1].requests : undefined;
    var lastVerdict;
    data.decisions.forEach(function (d) { if (d.verdict) lastVerdict = d.verdict; });
    var failing = data.checks.filter(function (s) { var p = s.points[s.points.length - 1]; return p && p.verdict === 'fail'; })
      .map(function (s) { return s.check; })
      .filter(function (check, index, all) { return all.indexOf(check) === index; });
    var kpis = [
      ['Outcome', function (value) { value.appendChild(badge(outcome.kind, outcome.text)); }],
      ['Duration', formatOffset(data.endMillis - data.startMillis)],
      ['Canary share', percent(rollout.canaryPercent), 'step ' + (rollout.stepIndex + 1) + '/' + rollout.stepCount],
      ['Requests in window', lastRequests ? lastRequests.canary + ' / ' + lastRequests.control : '-', lastRequests ? 'canary / control' : undefined],
      ['Gate evaluations', String(data.requests.length), undefined, 'evaluations'],
      ['Decisions', String(data.decisions.length), lastVerdict ? 'last gate verdict: ' + lastVerdict : undefined],
      ['Failing checks', String(failing.length), failing.length > 0 ? failing.join(', ') : undefined],
    ].concat(routingKpi(rollout));
    view.kpis.textContent = '';
    kpis.forEach(function (kpi) {
      var box = el('div', 'kpi');
      if (kpi[3]) box.setAttribute('data-kpi', kpi[3]);
      box.appendChild(el('div', 'label', kpi[0]));
      var value = el('div', 'value');
      if (typeof kpi[1] === 'function') kpi[1](value); else value.appendChild(document.createTextNode(kpi[1]));
      if (kpi[2]) value.appendChild(el('small', null, kpi[2]));
      box.appendChild(value);
      view.kpis.appendChild(box);
    });

    // Dotted vertical lines at each decision: red for a rollback, green for a promotion.
    var decisionMarkers = {
      id: 'decisionMarkers',
      afterDatasetsDraw: function (c) {
        var area = c.chartArea, ctx = c.ctx;
        ctx.save();
        ctx.setLineDash([2, 3]);
        ctx.lineWidth = 1.25;
        view.data.decisions.forEach(function (d) {
          var px = c.scales.x.getPixelForValue((d.atMillis - view.data.startMillis) / unit.millis);
          ctx.strokeStyle = d.to === 'rolled_back' ? COLORS.fail : d.to === 'promoted' ? COLORS.pass : COLORS.text;
          ctx.beginPath();
          ctx.moveTo(px, area.top);
          ctx.lineTo(px, area.bottom);
          ctx.stroke();
        });
        ctx.restore();
      },
    };

    // Share timeline: stacked areas, stepped because the split changes in discrete writes.
    // Chart.js 'before' holds each value until the next point, then steps (d3's step-after).
    begin(view.share);
    if (data.share.length === 0) empty(view.share, 'No traffic split was recorded.');
    else {
      var shares = data.share.slice();
      if (rollout.outcome) {
        var lastShare = shares[shares.length - 1];
        shares.push({ atMillis: data.startMillis + xMax * unit.millis, stable: lastShare.stable, canary: lastShare.canary, control: lastShare.control });
      }
      chart(view, view.share, 'share', {
        type: 'line',
        label: 'traffic split over time',
        data: {
          datasets: ['canary', 'control', 'stable'].map(function (cohort, index) {
            return {
              label: cohort, stepped: 'before', pointRadius: 0, borderWidth: 1.5,
              borderColor: COLORS[cohort], backgroundColor: alpha(COLORS[cohort], cohort === 'stable' ? 0.35 : 0.55),
              fill: index === 0 ? 'origin' : '-1',
              data: shares.map(function (p) { return { x: x(p.atMillis), y: p[cohort] }; }),
            };
          }),
        },
        options: {
          scales: {
            x: timeAxis(),
            y: { stacked: true, min: 0, max: 100, title: { display: true, text: '% of traffic' }, ticks: { stepSize: 25 } },
          },
          plugins: { legend: { position: 'top', align: 'end' } },
        },
        plugins: [decisionMarkers],
      }, 240);
    }
    end(view, view.share);

    // One small multiple per gate metric: canary vs control with the threshold.
    begin(view.metrics);
    var measured = data.checks.filter(function (s) {
      return s.method !== 'drift' && s.points.some(function (p) { return p.canary !== undefined || p.control !== undefined; });
    });
    if (measured.length === 0) empty(view.metrics, 'No gate metric was measured.');
    // A check judged by two methods has two series: their titles say which is which.
    function titleOf(s) {
      var twins = data.checks.filter(function (other) { return other.check === s.check; }).length;
      return words(s.check) + (twins > 1 ? ' (' + words(s.method) + ')' : '');
    }
    function keyOf(prefix, s) { return prefix + ':' + s.check + ':' + s.method + ':' + s.unit; }
    measured.forEach(function (s) {
      var last = s.points[s.points.length - 1];
      var sub = 'canary ' + fmt(last.canary) + ' \u00b7 control ' + fmt(last.control) + (last.threshold ? ' \u00b7 limit ' + last.threshold.operator + ' ' + fmt(last.threshold.value) : '') + ' \u00b7 per ' + unitWords(s.unit);
      var figure = panel(view.metrics, keyOf('metric', s), titleOf(s), sub);
      var datasets = ['canary', 'control'].map(function (cohort) {
        var pts = s.points.filter(function (p) { return p[cohort] !== undefined; });
        // Canary evaluations that did not pass are marked in their verdict's colour.
        var marked = function (p) { return cohort === 'canary' && p.verdict !== 'pass'; };
        var verdictColors = pts.map(function (p) { return marked(p) ? COLORS[p.verdict] || COLORS[cohort] : COLORS[cohort]; });
        return {
          label: cohort, borderColor: COLORS[cohort], backgroundColor: COLORS[cohort], borderWidth: 1.75, tension: 0.25,
          pointRadius: pts.map(function (p) { return marked(p) ? 2.5 : 0; }),
          pointBackgroundColor: verdictColors, pointBorderColor: verdictColors,
          data: pts.map(function (p) { return { x: x(p.atMillis), y: p[cohort] }; }),
        };
      });
      if (last.threshold) datasets.push(limitLine(last.threshold.value, 'limit'));
      chart(view, figure, keyOf('metric', s), { type: 'line', label: titleOf(s) + ': canary vs control', data: { datasets: datasets }, options: { scales: { x: timeAxis(), y: { grace: '10%' } }, plugins: { legend: { display: false } } } }, 170);
    });
    end(view, view.metrics);

    // Sequential tests: e-value against the rejection boundary 1/alpha, on a log scale.
    begin(view.sequential);
    var sequential = data.checks.filter(function (s) { return s.points.some(function (p) { return p.statistic; }); });
    if (sequential.length === 0) empty(view.sequential, 'No sequential test ran in this rollout.');
    sequential.forEach(function (s) {
      var points = s.points.filter(function (p) { return p.statistic; });
      var last = points[points.length - 1];
      var peak = points.reduce(function (m, p) { return Math.max(m, p.statistic.eValue); }, 0);
      var figure = panel(view.sequential, keyOf('sequential', s), titleOf(s), 'e-value ' + fmt(last.statistic.eValue) + ' \u00b7 max ' + fmt(peak) + ' \u00b7 boundary ' + fmt(last.statistic.boundary) + ' (\u03b1 = ' + last.statistic.alpha + ')');
      var ys = points.map(function (p) { return Math.max(1e-3, p.statistic.eValue); });
      var lo = Math.min.apply(null, ys.concat([0.5]));
      var hi = Math.max.apply(null, ys.concat([last.statistic.boundary * 2]));
      chart(view, figure, keyOf('sequential', s), {
        type: 'line',
        label: titleOf(s) + ': e-value against its boundary',
        data: {
          datasets: [
            {
              // No curve smoothing: an overshoot would draw an e-value above the boundary that never was.
              label: 'e-value', borderColor: COLORS.canary, backgroundColor: COLORS.canary, borderWidth: 2, pointRadius: 0, tension: 0,
              data: points.map(function (p, i) { return { x: x(p.atMillis), y: ys[i] }; }),
            },
            limitLine(last.statistic.boundary, 'boundary 1/\u03b1'),
          ],
        },
        options: {
          scales: {
            x: timeAxis(),
            y: { type: 'logarithmic', min: Math.pow(10, Math.floor(Math.log10(lo))), max: Math.pow(10, Math.ceil(Math.log10(hi))),
              ticks: { callback: function (v) { var l = Math.log10(v); return Math.abs(l - Math.round(l)) < 1e-9 ? (v >= 1 ? String(Math.round(v)) : String(Number(v.toPrecision(1)))) : ''; } } },
          },
          plugins: { legend: { display: false } },
        },
      }, 170);
    });
    end(view, view.sequential);

    // Tool mix: share of tool calls per tool, canary vs control.
    begin(view.toolMix);
    var mix = data.toolMix;
    if (!mix || mix.tools.length === 0) empty(view.toolMix, 'No tool-mix snapshot was kept for this rollout.');
    else {
      chart(view, view.toolMix, 'tool-mix', {
        type: 'bar',
        label: 'share of tool calls per tool',
        data: {
          labels: mix.tools,
          datasets: ['canary', 'control'].filter(function (c) { return mix.share[c]; }).map(function (cohort) {
            return { label: cohort, backgroundColor: COLORS[cohort], borderRadius: 3, data: mix.share[cohort].map(function (v) { return v * 100; }) };
          }),
        },
        options: {
          indexAxis: 'y',
          scales: { x: { title: { display: true, text: '% of tool calls' }, beginAtZero: true }, y: { grid: { display: false } } },
          plugins: { legend: { position: 'top', align: 'end' } },
        },
      }, Math.max(160, 44 * mix.tools.length + 60));
    }
    end(view, view.toolMix);

    // Drift: effect size of each drift check over time, against its tolerance.
    begin(view.drift);
    var drift = data.checks.filter(function (s) { return s.method === 'drift'; });
    if (drift.length === 0) empty(view.drift, 'No drift check ran in this rollout.');
    drift.forEach(function (s) {
      var points = s.points.filter(function (p) { return p.effect || p.canary !== undefined; });
      var last = points[points.length - 1] || s.points[s.points.length - 1];
      var value = function (p) { return p.effect ? p.effect.value : p.canary; };
      var name = last && last.effect ? words(last.effect.name) : 'divergence';
      var figure = panel(view.drift, keyOf('drift', s), titleOf(s), name + ' ' + fmt(last && value(last)) + (last && last.threshold ? ' \u00b7 tolerance ' + fmt(last.threshold.value) : ''));
      var datasets = [{
        label: name, borderColor: COLORS.canary, backgroundColor: alpha(COLORS.canary, 0.15), fill: 'origin', borderWidth: 2, pointRadius: 0, tension: 0.25,
        data: points.map(function (p) { return { x: x(p.atMillis), y: value(p) }; }),
      }];
      if (last && last.threshold) datasets.push(limitLine(last.threshold.value, 'tolerance'));
      chart(view, figure, keyOf('drift', s), { type: 'line', label: titleOf(s) + ' drift against its tolerance', data: { datasets: datasets }, options: { scales: { x: timeAxis(), y: { beginAtZero: true, grace: '10%' } }, plugins: { legend: { display: false } } } }, 170);
    });
    end(view, view.drift);

    // Decision timeline: rebuilt only when a decision was added or changed.
    var decisionsKey = JSON.stringify([data.startMillis, data.decisions]);
    if (decisionsKey !== view.decisionsKey) {
      view.decisionsKey = decisionsKey;
      view.decisions.textContent = '';
      if (data.decisions.length === 0) {
        var none = el('td', 'empty', 'No decision recorded yet.');
        none.colSpan = 3;
        var row = el('tr');
        row.appendChild(none);
        view.decisions.appendChild(row);
      }
      data.decisions.forEach(function (decision) { view.decisions.appendChild(decisionRow(decision, data.startMillis)); });
    }

    view.renders++;
    root.setAttribute('data-charts', String(view.drawn));
    root.setAttribute('data-renders', String(view.renders));
    document.body.setAttribute('data-charts-ready', String(view.drawn));
  }

  function decisionRow(decision, startMillis) {
    var row = el('tr');
    var when = el('td', 'when');
    when.appendChild(el('div', null, '+' + formatOffset(decision.atMillis - startMillis)));
    when.appendChild(el('div', 'muted', formatTime(decision.atMillis)));
    row.appendChild(when);
    var what = el('td');
    var transition = el('div', 'transition', decision.from + ' \u2192 ');
    transition.appendChild(el('strong', null, decision.to));
    what.appendChild(transition);
    what.appendChild(el('div', 'muted', words(decision.cause) + ' \u00b7 by ' + decision.actor));
    if (decision.verdict) {
      var verdict = el('div');
      verdict.appendChild(badge(decision.verdict));
      what.appendChild(verdict);
    }
    row.appendChild(what);
    var why = el('td');
    why.appendChild(el('div', 'reason', decision.reason));
    var evidence = decision.evidence || [];
    if (evidence.length === 0) {
      why.appendChild(el('span', 'muted', 'no gate evidence (manual or scheduled decision)'));
    } else {
      var interesting = evidence.filter(function (e) { return e.verdict !== 'pass'; });
      var shown = interesting.length > 0 ? interesting : evidence;
      var list = el('ul', 'evidence');
      shown.forEach(function (e) { list.appendChild(evidenceItem(e)); });
      why.appendChild(list);
      var hidden = evidence.length - shown.length;
      if (hidden > 0) why.appendChild(el('div', 'muted', hidden + ' other check' + (hidden === 1 ? '' : 's') + ' passed'));
    }
    row.appendChild(why);
    return row;
  }

  window.AgentCanaryView = { render: render, evidenceFacts: evidenceFacts, badge: badge, fmt: fmt, percent: percent, formatTime: formatTime, formatOffset: formatOffset, show: show, words: words };

  // The static report: its data is embedded in the page.
  var embedded = document.getElementById('report-data');
  var target = document.getElementById('rollout-view');
  if (embedded && target) render(target, JSON.parse(embedded.textContent));
})();
`;
