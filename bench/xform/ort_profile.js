// ort_profile.js — ONNX Runtime's own per-node profile of one model (session option enableProfiling),
// summed per op type, 1 intra-op thread, sequential, all graph optimisations, as bench/zoo times it.
// Prints one JSON line: {"cpu_ms_per_run", "wall_ms_per_run", "by_op": {op: ms_per_run}}; cpu_ms is
// the process's user+sys CPU time over the profiled runs (meaningful on a loaded machine, where wall
// times are not); by_op is ORT's wall-clock node times, to be read as shares.
// usage: node ort_profile.js MODULE_DIR MODEL.onnx INPUT_NAME INPUT.bin D0,D1,.. RUNS
const [moduleDir, model, inputName, inputBin, dimsStr, runs] = process.argv.slice(2);
const ort = require(require('path').join(moduleDir, 'node_modules', 'onnxruntime-node'));
const fs = require('fs');
const os = require('os');
const path = require('path');

async function main() {
  const buf = fs.readFileSync(inputBin);
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  const feeds = {[inputName]: new ort.Tensor('float32', data, dimsStr.split(',').map(Number))};
  const prefix = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ortprof-')), 'p');
  const session = await ort.InferenceSession.create(model, {
    executionMode: 'sequential', graphOptimizationLevel: 'all', intraOpNumThreads: 1,
    interOpNumThreads: 1, enableProfiling: true, profileFilePrefix: prefix,
  });
  await session.run(feeds);  // warm-up (in the profile too: dropped below by counting runs)
  const n = Number(runs);
  const c0 = process.cpuUsage(), t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await session.run(feeds);
  const c1 = process.cpuUsage(c0), wall = Number(process.hrtime.bigint() - t0) / 1e6;
  session.endProfiling();
  const dir = path.dirname(prefix);
  const file = fs.readdirSync(dir).map((f) => path.join(dir, f))[0];
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byOp = {};
  for (const e of events)
    if (e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.args && e.args.op_name)
      byOp[e.args.op_name] = (byOp[e.args.op_name] || 0) + e.dur / 1000 / (n + 1);
  console.log(JSON.stringify({cpu_ms_per_run: (c1.user + c1.system) / 1000 / n,
                              wall_ms_per_run: wall / n, by_op: byOp}));
}
main().catch((e) => { console.error(e); process.exit(1); });
