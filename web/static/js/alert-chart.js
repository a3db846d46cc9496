/* Draws an alert's two panels from /alerts/<id>/chart.json with the vendored ECharts:
   the series as the model sees it (cut-off lines in their colours, fired points marked)
   and the raw observed values. */
(function () {
  "use strict";

  var container = document.getElementById("alert-charts");
  if (!container || typeof echarts === "undefined") {
    return;
  }

  function baseOption(title, points, name) {
    return {
      title: { text: title, left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis" },
      grid: { left: 64, right: 96, top: 48, bottom: 48 },
      xAxis: { type: "category", data: points.map(function (p) { return p[0]; }) },
      yAxis: { type: "value", scale: true },
      dataZoom: [{ type: "inside" }],
      series: [{
        name: name,
        type: "line",
        data: points.map(function (p) { return p[1]; }),
        connectNulls: false,
        showSymbol: true,
        symbolSize: 5,
        lineStyle: { color: "#3c4a63" },
        itemStyle: { color: "#3c4a63" }
      }]
    };
  }

  function scoreOption(data) {
    var option = baseOption(data.score.title, data.score.points, data.score.name);
    var lines = data.lines.map(function (line) {
      return {
        yAxis: line.value,
        name: line.label,
        lineStyle: { color: line.color, type: "dashed", width: 2 },
        label: { formatter: line.label, color: line.color, position: "end" }
      };
    });
    if (data.clear !== null && data.clear !== undefined) {
      lines.push({
        yAxis: data.clear,
        name: data.labels.clear,
        lineStyle: { color: "#5b6475", type: "dotted" },
        label: { formatter: data.labels.clear, color: "#5b6475", position: "end" }
      });
    }
    option.series[0].markLine = { symbol: "none", silent: true, data: lines };
    option.series[0].markPoint = {
      symbol: "pin",
      symbolSize: 42,
      data: data.fired.map(function (point) {
        return {
          name: data.labels.fired + " · " + point.label,
          coord: [point.period, point.value],
          value: point.value,
          itemStyle: { color: point.color, borderColor: "#1d2433", borderWidth: 1 }
        };
      })
    };
    return option;
  }

  function draw(id, option) {
    var chart = echarts.init(document.getElementById(id));
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
  }

  fetch(container.dataset.chartUrl, { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    })
    .then(function (data) {
      draw("score-chart", scoreOption(data));
      draw("observed-chart", baseOption(data.observed.title, data.observed.points, data.observed.name));
    })
    .catch(function () {
      var message = document.createElement("p");
      message.className = "chart-error";
      message.textContent = container.dataset.errorText;
      container.prepend(message);
    });
})();
