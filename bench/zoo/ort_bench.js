// ort_bench.js — ONNX Runtime (npm onnxruntime-node) on one model: sequential execution, all graph
// optimisations, intraOpNumThreads from argv; times session.run only. Prints one JSON line:
// {"median_ms", "rss_growth_mb", "cpu_ms"} (RSS from before the session is created to after the runs;
// cpu_ms: the process's CPU time, every thread, per timed run: a loaded machine's steadier figure).
// usage: node ort_bench.js MODULE_DIR MODEL.onnx INPUT_NAME INPUT.bin D0,D1,.. THREADS RUNS
const [moduleDir, model, inputName, inputBin, dimsStr, threads, runs] = process.argv.slice(2);
const ort = require(require('path').join(moduleDir, 'node_modules', 'onnxruntime-node'));
const fs = require('fs');

async function main() {
  const buf = fs.readFileSync(inputBin);
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  const dims = dimsStr.split(',').map(Number);
  const feeds = {[inputName]: new ort.Tensor('float32', data, dims)};
  const rss0 = process.memoryUsage().rss;
  const session = await ort.InferenceSession.create(model, {
    executionMode: 'sequential', graphOptimizationLevel: 'all',
    intraOpNumThreads: Number(threads), interOpNumThreads: 1,
  });
  await session.run(feeds);  // warm-up
  const times = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < Number(runs); i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const cpu = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  const rss1 = process.memoryUsage().rss;
  console.log(JSON.stringify({median_ms: times[Math.floor(times.length / 2)], rss_growth_mb: (rss1 - rss0) / 1e6,
                                cpu_ms: (cpu.user + cpu.system) / 1e3 / Number(runs)}));
}
main().catch((e) => { console.error(e); process.exit(1); });
