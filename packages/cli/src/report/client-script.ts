/**
 * The script inlined in the report: reads the embedded JSON and draws the charts with
 * Chart.js. Kept as plain browser JavaScript in a string (not a compiled function) so
 * what runs in the browser is exactly what is written here. It never writes data into
 * HTML: every label goes through `textContent` or a canvas.
 */
// It contains no backslash and no `${`, so the template literal is the text verbatim.
export const REPORT_CLIENT_SCRIPT = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var css = getComputedStyle(document.documentElement);
  function token(name) { return css.getPropertyValue(name).trim(); }
  var COLORS = {
    canary: token('--canary'), control: token('--control'), stable: token('--stable'),
    pass: token('--pass'), warn: token('--warn'), fail: token('--fail'), inconclusive: token('--inconclusive'),
    grid: token('--grid'), text: token('--muted'), limit: token('--fail'),
  };
  Chart.defaults.animation = false;
  Chart.defaults.font.family = token('--font');
  Chart.defaults.font.size = 11;
  Chart.defaults.color = COLORS.text;
  Chart.defaults.borderColor = COLORS.grid;
  Chart.defaults.plugins.legend.labels.boxWidth = 10;
  Chart.defaults.plugins.legend.labels.boxHeight = 10;
  Chart.defaults.plugins.tooltip.mode = 'index';
  Chart.defaults.plugins.tooltip.intersect = false;

  var span = Math.max(1, data.endMillis - data.startMillis);
  var unit = span < 5 * 60000 ? { millis: 1000, label: 's' } : span < 3 * 3600000 ? { millis: 60000, label: 'min' } : { millis: 3600000, label: 'h' };
  function x(atMillis) { return (atMillis - data.startMillis) / unit.millis; }
  // A finished rollout gets a little room after its end so the final split is visible.
  var xMax = x(data.endMillis) * (data.rollout.outcome ? 1.025 : 1);
  var shares = data.share.slice();
  if (data.rollout.outcome && shares.length > 0) {
    var lastShare = shares[shares.length - 1];
    shares.push({ atMillis: data.startMillis + xMax * unit.millis, stable: lastShare.stable, canary: lastShare.canary, control: lastShare.control });
  }
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
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  var drawn = 0;
  function chart(container, config, height) {
    var box = el('div', 'chart-box');
    box.style.height = (height || 200) + 'px';
    var canvas = document.createElement('canvas');
    box.appendChild(canvas);
    container.appendChild(box);
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false }, config.options || {});
    new Chart(canvas, config);
    drawn++;
    return canvas;
  }
  function panel(grid, title, subtitle) {
    var card = el('figure', 'panel');
    card.appendChild(el('figcaption', 'panel-title', title));
    if (subtitle) card.appendChild(el('div', 'panel-sub', subtitle));
    grid.appendChild(card);
    return card;
  }
  function empty(container, text) { container.appendChild(el('p', 'empty', text)); }
  function fmt(value) {
    if (value === undefined || value === null || !isFinite(value)) return '-';
    if (value === 0) return '0';
    var abs = Math.abs(value);
    return abs >= 1000 ? value.toFixed(0) : abs >= 10 ? value.toFixed(1) : abs >= 1 ? value.toFixed(2) : value.toPrecision(2);
  }
  function limitLine(value, label) {
    return {
      label: label, data: [{ x: 0, y: value }, { x: xMax, y: value }],
      borderColor: COLORS.limit, borderDash: [5, 4], borderWidth: 1.5, pointRadius: 0, fill: false,
    };
  }

  // Dotted vertical lines at each decision: red for a rollback, green for a promotion.
  var decisionMarkers = {
    id: 'decisionMarkers',
    afterDatasetsDraw: function (c) {
      var area = c.chartArea, ctx = c.ctx;
      ctx.save();
      ctx.setLineDash([2, 3]);
      ctx.lineWidth = 1.25;
      data.decisions.forEach(function (d) {
        var px = c.scales.x.getPixelForValue(x(d.atMillis));
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
  (function () {
    var container = document.getElementById('chart-share');
    if (data.share.length === 0) return empty(container, 'No traffic split was recorded.');
    var cohorts = ['canary', 'control', 'stable'];
    chart(container, {
      type: 'line',
      data: {
        datasets: cohorts.map(function (cohort, index) {
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
  })();

  // One small multiple per gate metric: canary vs control with the threshold.
  (function () {
    var grid = document.getElementById('chart-metrics');
    var series = data.checks.filter(function (s) {
      return s.method !== 'drift' && s.points.some(function (p) { return p.canary !== undefined || p.control !== undefined; });
    });
    if (series.length === 0) return empty(grid, 'No gate metric was measured.');
    series.forEach(function (s) {
      var last = s.points[s.points.length - 1];
      var sub = 'canary ' + fmt(last.canary) + ' · control ' + fmt(last.control) + (last.threshold ? ' · limit ' + last.threshold.operator + ' ' + fmt(last.threshold.value) : '');
      var card = panel(grid, s.check.replace(/_/g, ' '), sub);
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
      chart(card, { type: 'line', data: { datasets: datasets }, options: { scales: { x: timeAxis(), y: { grace: '10%' } }, plugins: { legend: { display: false } } } }, 170);
    });
  })();

  // Sequential tests: e-value against the rejection boundary 1/alpha, on a log scale.
  (function () {
    var grid = document.getElementById('chart-sequential');
    var series = data.checks.filter(function (s) { return s.points.some(function (p) { return p.statistic; }); });
    if (series.length === 0) return empty(grid, 'No sequential test ran in this rollout.');
    series.forEach(function (s) {
      var points = s.points.filter(function (p) { return p.statistic; });
      var last = points[points.length - 1];
      var peak = points.reduce(function (m, p) { return Math.max(m, p.statistic.eValue); }, 0);
      var card = panel(grid, s.check.replace(/_/g, ' '), 'e-value ' + fmt(last.statistic.eValue) + ' · max ' + fmt(peak) + ' · boundary ' + fmt(last.statistic.boundary) + ' (α = ' + last.statistic.alpha + ')');
      var ys = points.map(function (p) { return Math.max(1e-3, p.statistic.eValue); });
      var lo = Math.min.apply(null, ys.concat([0.5]));
      var hi = Math.max.apply(null, ys.concat([last.statistic.boundary * 2]));
      chart(card, {
        type: 'line',
        data: {
          datasets: [
            {
              // No curve smoothing: an overshoot would draw an e-value above the boundary that never was.
              label: 'e-value', borderColor: COLORS.canary, backgroundColor: COLORS.canary, borderWidth: 2, pointRadius: 0, tension: 0,
              data: points.map(function (p, i) { return { x: x(p.atMillis), y: ys[i] }; }),
            },
            limitLine(last.statistic.boundary, 'boundary 1/α'),
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
  })();

  // Tool mix: share of tool calls per tool, canary vs control.
  (function () {
    var container = document.getElementById('chart-toolmix');
    var mix = data.toolMix;
    if (!mix || mix.tools.length === 0) return empty(container, 'No tool-mix snapshot was kept for this rollout.');
    chart(container, {
      type: 'bar',
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
  })();

  // Drift: effect size of each drift check over time, against its tolerance.
  (function () {
    var grid = document.getElementById('chart-drift');
    var series = data.checks.filter(function (s) { return s.method === 'drift'; });
    if (series.length === 0) return empty(grid, 'No drift check ran in this rollout.');
    series.forEach(function (s) {
      var points = s.points.filter(function (p) { return p.effect || p.canary !== undefined; });
      var last = points[points.length - 1] || s.points[s.points.length - 1];
      var value = function (p) { return p.effect ? p.effect.value : p.canary; };
      var name = last && last.effect ? last.effect.name : 'divergence';
      var card = panel(grid, s.check.replace(/_/g, ' '), name + ' ' + fmt(last && value(last)) + (last && last.threshold ? ' · tolerance ' + fmt(last.threshold.value) : ''));
      var datasets = [{
        label: name, borderColor: COLORS.canary, backgroundColor: alpha(COLORS.canary, 0.15), fill: 'origin', borderWidth: 2, pointRadius: 0, tension: 0.25,
        data: points.map(function (p) { return { x: x(p.atMillis), y: value(p) }; }),
      }];
      if (last && last.threshold) datasets.push(limitLine(last.threshold.value, 'tolerance'));
      chart(card, { type: 'line', data: { datasets: datasets }, options: { scales: { x: timeAxis(), y: { beginAtZero: true, grace: '10%' } }, plugins: { legend: { display: false } } } }, 170);
    });
  })();

  document.body.setAttribute('data-charts-ready', String(drawn));
})();
`;
