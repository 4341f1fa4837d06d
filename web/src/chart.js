// The console's chart library, bundled by esbuild into dist/chart.js (window.uPlot).
import uPlot from "uplot";
window.uPlot = uPlot;
