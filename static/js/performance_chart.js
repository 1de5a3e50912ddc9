/* The manager view's chart of recoveries per day (templates/collection/performance.html):
   Apache ECharts (static/vendor/echarts), the data read from the page's json_script element,
   so no inline script is needed (the content security policy forbids one). */
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("performance-chart-data");
    var box = document.getElementById("performance-chart");
    if (!source || !box || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    // Amounts arrive as decimal strings (money is never a float on the server); the chart only draws them.
    var amounts = data.amounts.map(function (text) { return Number(text); });
    var chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 64, right: 16, top: 24, bottom: 48 },
      tooltip: {
        trigger: "axis",
        valueFormatter: function (value) { return "¥" + value.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }); }
      },
      xAxis: { type: "category", data: data.days, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", name: data.label },
      series: [{ type: "bar", name: data.label, data: amounts, itemStyle: { color: "#2f6f4f" } }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
